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
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ENGINES = ("podman", "docker")
NO_ENGINE = ("no container engine: install podman (`sudo apt-get install podman`) or Docker, "
             "and check that `podman info` or `docker info` works")
BUILD_LOG_TAIL = 20
# The podman settings mldeploy's containers need on machines like the project's (runc, cgroupfs,
# ulimits below the hard limits, file events): applied when podman has no settings of its own.
PODMAN_SETTINGS = Path(__file__).with_name("containers.conf")
PODMAN_CONF_ENV = "CONTAINERS_CONF"
PODMAN_USER_CONFS = (Path("/etc/containers/containers.conf"),
                     Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "containers" / "containers.conf")
RUNC_PATHS = ("/usr/sbin/runc", "/usr/bin/runc")
# What an engine says when this machine refuses its container settings (podman 4.3 / runc here:
# "error setting rlimit type 7: operation not permitted"; crun: cgroup errors).
SETTINGS_FAILURE = re.compile(r"rlimit|cgroup|OCI runtime|OCI permission|crun", re.IGNORECASE)
SETTINGS_HINT = (f"this machine refused the engine's container settings; mldeploy's containers need: runtime runc, "
                 f"cgroup_manager cgroupfs, default_ulimits below the hard limits (`ulimit -Hn`), "
                 f"events_logger file - as in {PODMAN_SETTINGS}: set {PODMAN_CONF_ENV} to that file (or a copy with "
                 f"your own settings added)")


class EngineError(Exception):
    """The engine is missing or an engine command failed; the message is one line for the user."""


@dataclass(frozen=True)
class Engine:
    """The engine CLI (`podman` or `docker`) and how to call it."""

    name: str
    exe: str
    env: tuple[tuple[str, str], ...] = ()  # added to the environment of every engine command

    @property
    def environ(self) -> dict[str, str]:
        return {**os.environ, **dict(self.env)}

    @property
    def settings(self) -> str:
        """Which settings file the engine runs with, for the user ("" when the engine's own)."""
        return dict(self.env).get(PODMAN_CONF_ENV, "")

    def run(self, *args: str, check: bool = True, timeout: float = 120.0,
            input: bytes | None = None) -> subprocess.CompletedProcess:
        """`<engine> args...`, output captured; EngineError with the engine's message on failure."""
        try:
            done = subprocess.run([self.exe, *args], capture_output=True, timeout=timeout, input=input,
                                  env=self.environ)
        except subprocess.TimeoutExpired as err:
            raise EngineError(f"`{self.name} {' '.join(args[:3])}` did not finish within {timeout:g} s") from err
        if check and done.returncode != 0:
            message = _last_line(done.stderr) or _last_line(done.stdout)
            hint = f"; {SETTINGS_HINT}" if SETTINGS_FAILURE.search(message) else ""
            raise EngineError(f"`{self.name} {' '.join(args[:3])}` failed: {message}{hint}")
        return done

    def out(self, *args: str, **kw) -> str:
        return self.run(*args, **kw).stdout.decode().strip()

    def image_exists(self, ref: str) -> bool:
        return self.run("image", "inspect", ref, check=False).returncode == 0

    def ensure_image(self, ref: str, what: str, remedy: str) -> None:
        """`ref` on this machine, pulled (by its full name: podman resolves no short name without a
        search registry) when missing; ImageMissing saying which image, why, and `remedy`."""
        if self.image_exists(ref):
            return
        full = normalize_ref(ref)
        done = self.run("pull", full, check=False, timeout=600)
        if done.returncode != 0:
            why = _last_line(done.stderr) or _last_line(done.stdout)
            raise ImageMissing(f"{what} {ref} is not on this machine and {self.name} cannot pull it ({why}): {remedy}")

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
                                    timeout=timeout, env=self.environ).returncode
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


class ImageMissing(EngineError):
    """An image is neither on this machine nor pullable; the message says how to provide it."""


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


# Docker's reference grammar (distribution/reference, normalize.go: ParseNormalizedNamed): a first
# component without '.' or ':' and other than `localhost` is a Docker Hub path, and a one-component
# Hub name lives under `library/`. Hand-written: the Python clients that parse references
# (docker-py) do not normalize them, and these few lines are the whole rule.
_DOMAIN = re.compile(r"^(localhost|[^/]*[.:][^/]*)/")


def normalize_ref(ref: str) -> str:
    """`nginx:1.27` -> `docker.io/library/nginx:1.27`; `org/app@sha256:..` -> `docker.io/org/app@..`;
    a reference with a registry host is unchanged."""
    if _DOMAIN.match(ref):
        return ref
    return f"docker.io/{ref}" if "/" in ref.split("@")[0].split(":")[0] else f"docker.io/library/{ref}"


def _without_digest(ref: str) -> str:
    return ref.split("@")[0]


def image_map_lookup(image_map: dict[str, str], ref: str) -> str | None:
    """The local image `--image UPSTREAM=LOCAL` gives for `ref`: UPSTREAM matches however it is
    written (short or full name, with the digest or only the tag the digest belongs to)."""
    wanted = normalize_ref(ref)
    for upstream, local in image_map.items():
        given = normalize_ref(upstream)
        if given == wanted or ("@" not in given and given == _without_digest(wanted)):
            return local
    return None


def podman_settings_env(env: dict[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """CONTAINERS_CONF -> mldeploy's settings when podman has none of its own and runc is here;
    nothing when the user chose settings (their CONTAINERS_CONF or containers.conf wins)."""
    env = os.environ if env is None else env
    if env.get(PODMAN_CONF_ENV) or any(p.is_file() for p in PODMAN_USER_CONFS):
        return ()
    if not any(Path(p).exists() for p in RUNC_PATHS):
        return ()
    return ((PODMAN_CONF_ENV, str(PODMAN_SETTINGS)),)


def find_engine(preferred: str | None = None) -> Engine:
    """The first engine whose `info` answers (a docker client without a daemon does not count).
    `preferred` (or $MLDEPLOY_CONTAINER_ENGINE) picks one; EngineError when none works. podman
    runs with mldeploy's settings when it has none of its own (podman_settings_env)."""
    wanted = preferred or os.environ.get("MLDEPLOY_CONTAINER_ENGINE")
    candidates = (wanted,) if wanted else ENGINES
    for name in candidates:
        exe = shutil.which(name)
        if exe is None:
            continue
        engine = Engine(name, exe, podman_settings_env() if name == "podman" else ())
        try:
            ok = subprocess.run([exe, "info"], capture_output=True, timeout=60, env=engine.environ).returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
        if ok:
            return engine
    if wanted:
        raise EngineError(f"container engine {wanted!r} is not installed or `{wanted} info` fails")
    raise EngineError(NO_ENGINE)
