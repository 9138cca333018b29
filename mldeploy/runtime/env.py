"""The local scoring environment: a virtualenv built from the image's env file, cached by the
file's content, so a second `serve` with the same environment starts in about a second.

Only pip can run here (no conda): a conda file contributes its `pip:` list and its plain
conda packages translated to pip requirements (`name=1.2` -> `name==1.2.*`); `python` and
`pip` themselves are the interpreter's (scoring/environment.py). The scorer host's packages are
pinned to their tested versions, exactly as the image's Dockerfile does.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mldeploy.contract import DEFAULT_SCORING_SERVER
from mldeploy.scoring.environment import pin_conflict, pip_requirements, scorer_pins

CACHE_ENV = "MLDEPLOY_ENV_CACHE"
COMPLETE_MARKER = ".mldeploy-complete"


class EnvError(Exception):
    """The scoring environment could not be read or built (one line, for the user)."""


@dataclass(frozen=True)
class ScoringEnv:
    """A ready virtualenv: where it is and how to start the scorer from it."""

    path: Path
    digest: str

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


def cache_root() -> Path:
    """`$MLDEPLOY_ENV_CACHE`, else `$XDG_CACHE_HOME/mldeploy/envs` (~/.cache/mldeploy/envs)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mldeploy" / "envs"


def requirements(env_kind: str, env_text: str, scoring_server: str = DEFAULT_SCORING_SERVER) -> list[str]:
    """The pip requirements for an env file (`conda` YAML or `pip` requirements text), plus what
    the image adds for `scoring_server` (ImageSettings.scoring_server): the scorer host's tested
    versions (scoring/environment.py; a file whose pins exclude them is refused at load)."""
    users, pins = requirement_parts(env_kind, env_text, scoring_server)
    return users + pins


def requirement_parts(env_kind: str, env_text: str,
                      scoring_server: str = DEFAULT_SCORING_SERVER) -> tuple[list[str], list[str]]:
    """`requirements`, as the two installs the image makes (render/build_context.py): the
    file's own lines, then the scorer's pins."""
    try:
        conflict = pin_conflict(env_kind, env_text, scoring_server)
        if conflict:
            raise EnvError(conflict)
        return pip_requirements(env_kind, env_text), scorer_pins(env_kind, env_text, scoring_server)
    except ValueError as exc:
        raise EnvError(str(exc)) from None


def env_digest(reqs: list[str], constraints: tuple[str, ...] = ()) -> str:
    """The cache key: the requirements, the constraints and the interpreter version (a venv is tied to it)."""
    text = "\n".join(reqs) + f"\npython={sys.version_info.major}.{sys.version_info.minor}\n"
    if constraints:  # (without any, the key stays what it was: existing environments are reused)
        text += "constraints:\n" + "\n".join(constraints) + "\n"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ensure_env(env_kind: str, env_text: str, progress: Callable[[str], None] = print,
               scoring_server: str = DEFAULT_SCORING_SERVER, constraints: tuple[str, ...] = ()) -> ScoringEnv:
    """The cached virtualenv for this env file and scoring server, built (with pip's progress
    shown) if missing. `env_text` is self-contained (a requirements file's `-r` includes inlined:
    BuildContext.env_text); `constraints`: the lines of its `-c` files, handed to pip as one."""
    users, pins = requirement_parts(env_kind, env_text, scoring_server)
    reqs = users + pins
    digest = env_digest(reqs, constraints)
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    env = ScoringEnv(root / digest, digest)
    if (env.path / COMPLETE_MARKER).exists():
        return env
    # One builder at a time per environment; others wait, then reuse its result.
    with open(root / f"{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (env.path / COMPLETE_MARKER).exists():
            return env
        if env.path.exists():
            shutil.rmtree(env.path)  # a build that was interrupted
        progress(f"building the scoring environment {digest} ({len(reqs)} requirements) in {env.path}")
        _build(env, users, progress, constraints, pins)
        (env.path / COMPLETE_MARKER).write_text("\n".join(reqs) + "\n")
    progress("scoring environment ready")
    return env


def _base_python() -> str:
    # A venv made from inside another venv must start from the real interpreter.
    return getattr(sys, "_base_executable", None) or sys.executable


def _build(env: ScoringEnv, reqs: list[str], progress: Callable[[str], None], constraints: tuple[str, ...] = (),
           pins: list[str] | tuple[str, ...] = ()) -> None:
    """Two pip runs, as the image's two `RUN pip install` lines: the file's own requirements (with
    its constraints), then the scorer's pins. One run of both would make pip demand a hash for
    every pin as soon as one of the user's lines carries `--hash` (pip's hash-checking mode is
    per run: https://pip.pypa.io/en/stable/topics/secure-installs/#hash-checking-mode)."""
    try:
        subprocess.run([_base_python(), "-m", "venv", str(env.path)], check=True,
                       capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        raise EnvError(f"could not create a virtualenv: {exc.stderr.strip().splitlines()[-1:]}") from None
    if constraints:
        (env.path / "constraints.txt").write_text("\n".join(constraints) + "\n")
        reqs = [*reqs, "-c constraints.txt"]  # pip reads it relative to requirements.txt
    for name, lines in (("requirements.txt", reqs), ("scorer-requirements.txt", list(pins))):
        if lines:
            (env.path / name).write_text("\n".join(lines) + "\n")
            _pip_install(env, env.path / name, progress)


def _pip_install(env: ScoringEnv, req_file: Path, progress: Callable[[str], None]) -> None:
    cmd = [str(env.python), "-m", "pip", "install", "--disable-pip-version-check",
           "--progress-bar", "off", "-r", str(req_file)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        tail = (tail + [line])[-15:]
        # pip's own lines are the progress: what it collects, downloads and installs.
        if line.startswith(("Collecting", "Downloading", "Installing", "Successfully")):
            progress(f"  {line.split(' (from ')[0]}")
    if proc.wait() != 0:
        shutil.rmtree(env.path, ignore_errors=True)
        reason = next((l for l in reversed(tail) if l.startswith("ERROR")), tail[-1] if tail else "")
        raise EnvError(f"pip could not install the scoring environment: {reason}")
