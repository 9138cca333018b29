"""The stand-in base images (tests/containers/standins/): built once, cached by content.

One Debian bookworm root filesystem (mmdebstrap) is imported as
`localhost/mldeploy-standin/rootfs:<digest>` (the package list and this machine's CA bundle,
copied in: pip inside a build reaches PyPI through it); each recipe builds on it as
`localhost/mldeploy-standin/<recipe>:<digest of rootfs + recipe files>` and is tagged with the
real image name it stands for, so generated scoring Dockerfiles build unchanged. An unchanged
digest reuses what the engine already holds, across tests and runs.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mldeploy.runtime.containers import Engine

RECIPES = Path(__file__).parent / "standins"
SUITE = "bookworm"  # Debian 12: Python 3.11, as the images' python 3.11
PACKAGES = ("python3", "python3-pip", "python3-venv", "python-is-python3", "python3-yaml",
            "ca-certificates", "nginx-light")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PATH_ENV = "ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# recipe folder -> the real image names it is tagged with
STANDS_FOR = {
    "python": ("docker.io/library/python:3.11-slim",),
    "micromamba": ("docker.io/mambaorg/micromamba:1.5.10-jammy",),
    "nginx": ("docker.io/library/nginx:1.27.4-alpine",),
    "vector": ("docker.io/timberio/vector:0.46.1-distroless-static",),
}


@dataclass(frozen=True)
class StandIns:
    digest: str
    images: dict[str, str]  # recipe -> local reference
    built: tuple[str, ...]  # what this call had to build (empty on a warm cache)


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part + b"\0")
    return h.hexdigest()[:16]


def rootfs_digest() -> str:
    """What the root filesystem depends on: suite, packages, PATH, this machine's CA bundle."""
    return _digest(f"{SUITE}\n{' '.join(PACKAGES)}\n{PATH_ENV}".encode(),
                   CA_BUNDLE.read_bytes() if CA_BUNDLE.exists() else b"")


def recipe_digest(recipe: str) -> str:
    """A recipe's files on top of the root filesystem: a changed recipe rebuilds only itself."""
    folder = RECIPES / recipe
    files = [str(p.relative_to(folder)).encode() + b"\0" + p.read_bytes()
             for p in sorted(folder.rglob("*")) if p.is_file()]
    return _digest(rootfs_digest().encode(), *files)


def _rootfs(engine: Engine, ref: str, log: Path) -> None:
    mmdebstrap = shutil.which("mmdebstrap")
    if mmdebstrap is None:
        raise RuntimeError("mmdebstrap is not installed (`apt-get install mmdebstrap`): it makes the "
                           "stand-in base images, no registry being reachable")
    with tempfile.TemporaryDirectory(prefix="mldeploy-rootfs-") as tmp:
        tar = Path(tmp) / "rootfs.tar"
        hooks = [
            # Debian marks its Python externally managed (PEP 668); the real images' pip installs freely.
            '--customize-hook=rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED',
        ]
        if CA_BUNDLE.exists():
            hooks.append(f"--customize-hook=copy-in {CA_BUNDLE} /etc/ssl/certs")
        with log.open("ab") as sink:
            subprocess.run([mmdebstrap, "--variant=minbase", f"--include={','.join(PACKAGES)}", *hooks,
                            SUITE, str(tar)], stdout=sink, stderr=subprocess.STDOUT, check=True, timeout=900)
        # Without PATH nothing is found on PATH in a container of an imported image.
        engine.run("import", "--change", PATH_ENV, str(tar), ref, timeout=600)


def ensure_standins(engine: Engine, log_dir: Path) -> StandIns:
    """Build what is missing; tag every stand-in with the real names it stands for."""
    digest = rootfs_digest()
    log_dir.mkdir(parents=True, exist_ok=True)
    built = []
    rootfs = f"localhost/mldeploy-standin/rootfs:{digest}"
    if not engine.image_exists(rootfs):
        _rootfs(engine, rootfs, log_dir / "rootfs.log")
        built.append("rootfs")
    images = {}
    for recipe, names in STANDS_FOR.items():
        ref = f"localhost/mldeploy-standin/{recipe}:{recipe_digest(recipe)}"
        if not engine.image_exists(ref):
            folder = RECIPES / recipe
            engine.build(folder, ref, log=log_dir / f"{recipe}.log", dockerfile=folder / "Containerfile",
                         build_args={"ROOTFS": rootfs}, timeout=900)
            built.append(recipe)
        for name in names:
            engine.run("tag", ref, name)
        images[recipe] = ref
    return StandIns(digest, images, tuple(built))
