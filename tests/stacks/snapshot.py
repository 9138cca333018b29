"""Snapshots of every stack's synth, committed so a refactoring can prove it changed nothing.

`python -m tests.stacks.snapshot` rewrites tests/stacks/snapshots/ from the current code;
tests/stacks/test_snapshots.py synthesizes every stack again and compares byte for byte.

The synth runs on a copy of the project whose model file has fixed bytes: the example model is
trained by `make`, and its pickle differs with the scikit-learn and BLAS build, so its digest
(and the image tags and mock digests derived from the build context) would differ per machine.
Nothing in synth reads the model's content; it is copied and hashed.

A synthesized file that is a verbatim copy of a project source (the scorer host, score.py, an
environment file copied into a build context) is kept as `<name>.copy`: its sha256 and the source
it copies. The comparison stays byte-exact (through the digest) without a second copy of the
source in the repository for every stack.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = ROOT / "tests" / "stacks" / "snapshots"
FIXED_MODEL = b"mldeploy synth snapshot: fixed model bytes\n"
# What the program reads from the project: the stacks, the example files they point at, the
# policy pack, the project file. Stacks under tests/stacks (variations kept out of stacks/) join them.
COPIED = ("Pulumi.yaml", "stacks", "examples", "policies")
EXTRA_STACKS = ("twins",)
# The deployer's principal type follows these when the stack does not set it (mldeploy/azure/deployer.py).
DEPLOYER_ENV = ("ARM_CLIENT_ID", "AZURE_CLIENT_ID")
COPY_SUFFIX = ".copy"
SOURCES = ("mldeploy/**/*.py", "examples/**/*")


def stack_names() -> list[str]:
    names = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    return names + list(EXTRA_STACKS)


def project_copy(into: Path) -> Path:
    """A copy of the project's inputs with every `.pkl` model replaced by fixed bytes."""
    into.mkdir(parents=True)
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, into / name)
    for extra in EXTRA_STACKS:
        shutil.copy2(ROOT / "tests" / "stacks" / f"Pulumi.{extra}.yaml", into / "stacks" / f"Pulumi.{extra}.yaml")
    (into / "examples" / "diabetes" / "outputs").mkdir(parents=True, exist_ok=True)
    for stack_file in (into / "stacks").glob("Pulumi.*.yaml"):
        for line in stack_file.read_text(encoding="utf-8").splitlines():
            key, _, value = line.strip().partition(":")
            if key == "path" and value.strip().endswith(".pkl"):
                model = into / value.strip()
                model.parent.mkdir(parents=True, exist_ok=True)
                model.write_bytes(FIXED_MODEL)
    return into


def synth_files(project: Path, stack: str, out: Path) -> dict[str, bytes]:
    """Synthesize `stack` as `mldeploy synth` writes it; every file's bytes by relative path."""
    from mldeploy.synth.run import synthesize
    from mldeploy.synth.write import MARKER, write_result

    environment = {k: v for k, v in os.environ.items() if k not in DEPLOYER_ENV}
    with mock.patch.dict(os.environ, environment, clear=True):
        result = synthesize(project, stack, out / "images")
    write_result(result, out)
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file() and p.name != MARKER}


def _sources() -> dict[str, str]:
    """sha256 -> the first project source (in path order) with that content."""
    found: dict[str, str] = {}
    for pattern in SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                found.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), path.relative_to(ROOT).as_posix())
    return found


def snapshot_form(files: dict[str, bytes]) -> dict[str, bytes]:
    """`files` as the snapshot keeps them: copies of project sources as `<name>.copy` (digest, source)."""
    sources = _sources()
    kept: dict[str, bytes] = {}
    for rel, data in files.items():
        digest = hashlib.sha256(data).hexdigest()
        if digest in sources:
            kept[rel + COPY_SUFFIX] = f"sha256:{digest} {sources[digest]}\n".encode()
        else:
            kept[rel] = data
    return kept


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="mldeploy-snapshot-") as tmp:
        project = project_copy(Path(tmp) / "project")
        shutil.rmtree(SNAPSHOTS, ignore_errors=True)
        for stack in stack_names():
            files = snapshot_form(synth_files(project, stack, Path(tmp) / "out" / stack))
            for rel, data in files.items():
                target = SNAPSHOTS / stack / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            print(f"{stack}: {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
