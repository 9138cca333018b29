"""The local scoring environment: a virtualenv built from the image's env file, cached by the
file's content, so a second `serve` with the same environment starts in about a second.

Only pip can run here (no conda): a conda file contributes its `pip:` list and its plain
conda packages translated to pip requirements (`name=1.2` -> `name==1.2.*`); `python` and
`pip` themselves are the interpreter's. The inference server is added when the file lacks it,
exactly as the image's Dockerfile does.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from mldeploy.contract import DEFAULT_SCORING_SERVER
from mldeploy.render.build_context import server_requirements

CACHE_ENV = "MLDEPLOY_ENV_CACHE"
COMPLETE_MARKER = ".mldeploy-complete"
# Conda-only packages that have no meaning for a pip virtualenv.
CONDA_ONLY = {"python", "pip", "setuptools", "wheel", "nomkl", "mkl", "libgcc-ng", "libstdcxx-ng"}


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


def _conda_to_pip(spec: str) -> str | None:
    match = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", spec.split("::")[-1].strip())
    if not match:
        raise EnvError(f"cannot read the conda dependency {spec!r}")
    name, version = match.group(1), match.group(2).strip()
    if name.lower() in CONDA_ONLY:
        return None
    if not version:
        return name
    if version.startswith("=") and not version.startswith("=="):
        # conda's `name=1.2` means 1.2.*; `name=1.2=build` carries a build string pip has no use for.
        return f"{name}=={version[1:].split('=')[0]}.*"
    return f"{name}{version}"


def requirements(env_kind: str, env_text: str, scoring_server: str = DEFAULT_SCORING_SERVER) -> list[str]:
    """The pip requirements for an env file (`conda` YAML or `pip` requirements text), plus what
    the image adds for `scoring_server` (ImageSettings.scoring_server)."""
    if env_kind == "pip":
        reqs = [line.strip() for line in env_text.splitlines()
                if line.strip() and not line.strip().startswith("#")]
    else:
        try:
            doc = yaml.safe_load(env_text) or {}
        except yaml.YAMLError as exc:
            raise EnvError(f"the conda file is not valid YAML: {exc}") from None
        reqs = []
        for dep in doc.get("dependencies") or []:
            if isinstance(dep, dict):
                reqs += [str(p) for p in dep.get("pip") or []]
            elif (pip_req := _conda_to_pip(str(dep))) is not None:
                reqs.append(pip_req)
    return reqs + server_requirements("\n".join(reqs), scoring_server)


def env_digest(reqs: list[str]) -> str:
    """The cache key: the requirements and the interpreter version (a venv is tied to it)."""
    text = "\n".join(reqs) + f"\npython={sys.version_info.major}.{sys.version_info.minor}\n"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ensure_env(env_kind: str, env_text: str, progress: Callable[[str], None] = print,
               scoring_server: str = DEFAULT_SCORING_SERVER) -> ScoringEnv:
    """The cached virtualenv for this env file and scoring server, built (with pip's progress
    shown) if missing."""
    reqs = requirements(env_kind, env_text, scoring_server)
    digest = env_digest(reqs)
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
        _build(env, reqs, progress)
        (env.path / COMPLETE_MARKER).write_text("\n".join(reqs) + "\n")
    progress("scoring environment ready")
    return env


def _base_python() -> str:
    # A venv made from inside another venv must start from the real interpreter.
    return getattr(sys, "_base_executable", None) or sys.executable


def _build(env: ScoringEnv, reqs: list[str], progress: Callable[[str], None]) -> None:
    try:
        subprocess.run([_base_python(), "-m", "venv", str(env.path)], check=True,
                       capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        raise EnvError(f"could not create a virtualenv: {exc.stderr.strip().splitlines()[-1:]}") from None
    req_file = env.path / "requirements.txt"
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
