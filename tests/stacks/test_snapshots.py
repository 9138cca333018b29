"""Every stack synthesizes byte for byte as its committed snapshot (tests/stacks/snapshots/).

A refactoring must not change what is deployed. A deliberate change (a bug fix, a feature)
regenerates the snapshots with `python -m tests.stacks.snapshot` and says why in
tests/stacks/SNAPSHOT_CHANGES.md, so the diff of the snapshots is reviewed with it.
"""
from __future__ import annotations

import difflib

import pytest

from tests.stacks.snapshot import SNAPSHOTS, project_copy, snapshot_form, stack_names, synth_files

UPDATE = "regenerate with `.venv/bin/python -m tests.stacks.snapshot` if deliberate, and say why in tests/stacks/SNAPSHOT_CHANGES.md"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return project_copy(tmp_path_factory.mktemp("snapshot") / "project")


def committed(stack: str) -> dict[str, bytes]:
    folder = SNAPSHOTS / stack
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_stack_has_a_snapshot():
    assert sorted(p.name for p in SNAPSHOTS.iterdir()) == sorted(stack_names()), UPDATE


@pytest.mark.parametrize("stack", stack_names())
def test_synth_matches_snapshot(stack, project, tmp_path):
    now = snapshot_form(synth_files(project, stack, tmp_path / stack))
    before = committed(stack)
    assert sorted(now) == sorted(before), (
        f"stack {stack}: files added {sorted(set(now) - set(before))}, "
        f"removed {sorted(set(before) - set(now))}; {UPDATE}")
    changed = [rel for rel in now if now[rel] != before[rel]]
    if changed:
        rel = changed[0]
        diff = "".join(list(difflib.unified_diff(
            before[rel].decode("utf-8", "replace").splitlines(keepends=True),
            now[rel].decode("utf-8", "replace").splitlines(keepends=True),
            f"snapshot/{stack}/{rel}", f"synth/{stack}/{rel}", n=2))[:60])
        pytest.fail(f"stack {stack}: {len(changed)} file(s) differ from the snapshot {changed}; {UPDATE}\n{diff}")
