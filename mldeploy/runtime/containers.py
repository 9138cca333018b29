"""A container engine on this machine (podman or docker, whichever answers): build an image
from a build context, run and inspect containers. One thin wrapper over the engine's own CLI,
shared by `mldeploy serve --containers` and the container test suite.

Hand-written on purpose: the Python clients (docker-py, podman-py) each speak to one engine's
API socket, which podman 4 does not run by default; both engines take the same CLI arguments
for everything used here.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ENGINES = ("podman", "docker")
NO_ENGINE = ("no container engine: install podman (`sudo apt-get install podman`) or Docker, "
             "and check that `podman info` or `docker info` works")
BUILD_LOG_TAIL = 20


class EngineError(Exception):
    """The engine is missing or an engine command failed; the message is one line for the user."""


@dataclass(frozen=True)
class Engine:
    """The engine CLI (`podman` or `docker`) and how to call it."""

    name: str
    exe: str

    def run(self, *args: str, check: bool = True, timeout: float = 120.0,
            input: bytes | None = None) -> subprocess.CompletedProcess:
        """`<engine> args...`, output captured; EngineError with the engine's message on failure."""
        try:
            done = subprocess.run([self.exe, *args], capture_output=True, timeout=timeout, input=input)
        except subprocess.TimeoutExpired as err:
            raise EngineError(f"`{self.name} {' '.join(args[:3])}` did not finish within {timeout:g} s") from err
        if check and done.returncode != 0:
            message = _last_line(done.stderr) or _last_line(done.stdout)
            raise EngineError(f"`{self.name} {' '.join(args[:3])}` failed: {message}")
        return done

    def out(self, *args: str, **kw) -> str:
        return self.run(*args, **kw).stdout.decode().strip()

    def image_exists(self, ref: str) -> bool:
        return self.run("image", "inspect", ref, check=False).returncode == 0

    def build(self, context: Path, tag: str, *, log: Path, dockerfile: Path | None = None,
              build_args: dict[str, str] | None = None, timeout: float = 1800.0) -> str:
        """Build `context` as `tag`; the whole log goes to `log`. BuildError with its tail."""
        args = [self.exe, "build", "-t", tag, "-f", str(dockerfile or context / "Dockerfile")]
        for key, value in (build_args or {}).items():
            args += ["--build-arg", f"{key}={value}"]
        if self.name == "podman":
            # podman writes OCI images by default, which drop HEALTHCHECK; docker's format keeps it.
            args += ["--format", "docker"]
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as sink:
            try:
                rc = subprocess.run([*args, str(context)], stdout=sink, stderr=subprocess.STDOUT,
                                    timeout=timeout).returncode
            except subprocess.TimeoutExpired:
                rc = None
        if rc != 0:
            raise BuildError(tag, log, "timed out" if rc is None else f"exit code {rc}")
        return tag

    def remove(self, *names: str) -> None:
        """Remove containers (running or not) by name; missing ones are fine."""
        if names:
            self.run("rm", "-f", "-t", "0", *names, check=False, timeout=60)

    def inspect(self, name: str) -> dict | None:
        done = self.run("inspect", name, check=False)
        if done.returncode != 0:
            return None
        return json.loads(done.stdout)[0]

    def logs(self, name: str, tail: int = 50) -> str:
        done = self.run("logs", "--tail", str(tail), name, check=False)
        return (done.stdout + done.stderr).decode(errors="replace")


class BuildError(EngineError):
    """An image build failed: the message ends with the tail of the build log."""

    def __init__(self, tag: str, log: Path, why: str):
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        tail = "\n".join("    " + line for line in lines[-BUILD_LOG_TAIL:])
        super().__init__(f"building {tag} failed ({why}); full log: {log}; last lines:\n{tail}")
        self.log = log


def _last_line(data: bytes) -> str:
    lines = [line for line in data.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def find_engine(preferred: str | None = None) -> Engine:
    """The first engine whose `info` answers (a docker client without a daemon does not count).
    `preferred` (or $MLDEPLOY_CONTAINER_ENGINE) picks one; EngineError when none works."""
    wanted = preferred or os.environ.get("MLDEPLOY_CONTAINER_ENGINE")
    candidates = (wanted,) if wanted else ENGINES
    for name in candidates:
        exe = shutil.which(name)
        if exe is None:
            continue
        try:
            ok = subprocess.run([exe, "info"], capture_output=True, timeout=60).returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
        if ok:
            return Engine(name, exe)
    if wanted:
        raise EngineError(f"container engine {wanted!r} is not installed or `{wanted} info` fails")
    raise EngineError(NO_ENGINE)
