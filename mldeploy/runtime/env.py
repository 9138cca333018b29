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

    @property
    def azmlinfsrv(self) -> Path:
        return self.path / "bin" / "azmlinfsrv"


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
    try:
        conflict = pin_conflict(env_kind, env_text, scoring_server)
        if conflict:
            raise EnvError(conflict)
        return pip_requirements(env_kind, env_text) + scorer_pins(env_kind, env_text, scoring_server)
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
    reqs = requirements(env_kind, env_text, scoring_server)
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
        _build(env, reqs, progress, constraints)
        (env.path / COMPLETE_MARKER).write_text("\n".join(reqs) + "\n")
    progress("scoring environment ready")
    return env


def _base_python() -> str:
    # A venv made from inside another venv must start from the real interpreter.
    return getattr(sys, "_base_executable", None) or sys.executable


def _build(env: ScoringEnv, reqs: list[str], progress: Callable[[str], None], constraints: tuple[str, ...] = ()) -> None:
    try:
        subprocess.run([_base_python(), "-m", "venv", str(env.path)], check=True,
                       capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        raise EnvError(f"could not create a virtualenv: {exc.stderr.strip().splitlines()[-1:]}") from None
    req_file = env.path / "requirements.txt"
    if constraints:
        (env.path / "constraints.txt").write_text("\n".join(constraints) + "\n")
        reqs = [*reqs, "-c constraints.txt"]  # pip reads it relative to requirements.txt
    req_file.write_text("\n".join(reqs) + "\n")
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
