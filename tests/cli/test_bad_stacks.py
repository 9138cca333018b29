"""The promise for bad stack files, over the generated corpus (tests/config/bad_stacks.py):
`mldeploy synth` exits 2 with one line `error: <file>: <key path>: ...` naming the key, prints no
traceback, writes nothing and keeps the previous output. Runs in-process (the config is refused
before any resource is declared), each case under an alarm so a hang is a failure, not a stall."""
from __future__ import annotations

import collections
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from tests.config.bad_stacks import EXAMPLES, ROOT, all_cases, make_hostile_files

CASES = all_cases()
CASE_SECONDS = 20
PREVIOUS = '[{"previous": "good output"}]\n'


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project's inputs (examples, stacks, Pulumi.yaml) plus the hostile files."""
    base = tmp_path_factory.mktemp("corpus")
    root = base / "project"
    root.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(ROOT / "examples", root / "examples",
                    ignore=shutil.ignore_patterns("__pycache__", "mlruns"))
    (root / "stacks").mkdir()
    make_hostile_files(root, base / "outside")
    return root


class _Hang(Exception):
    pass


def _alarm(_signum, _frame):
    raise _Hang()


def _write_stack(root: Path, name: str, case) -> Path:
    path = root / "stacks" / f"Pulumi.{name}.yaml"
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        path.rmdir()
    if case.kind == "dir":
        path.mkdir()
    elif case.kind == "fifo":
        os.mkfifo(path)
    elif case.kind == "link":
        path.symlink_to(root / "nowhere.yaml")
    else:
        path.write_bytes(case.text)
    return path


def _synth(root: Path, stack: str, out: Path, capsys) -> tuple[int, str]:
    from mldeploy.cli import main

    argv = sys.argv
    sys.argv = ["mldeploy", "synth", "--stack", stack, "--project-dir", str(root), "--out", str(out)]
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except _Hang:
        pytest.fail(f"synth of stack {stack!r} still ran after {CASE_SECONDS}s (a hang)")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        sys.argv = argv
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", CASES, ids=[f"{c.klass}:{c.id}" for c in CASES])
def test_bad_stack_file_is_refused_in_one_line(case, project, tmp_path, capsys):
    stack = f"c-{abs(hash(case.id)) % 10**8}"
    path = _write_stack(project, stack, case)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".mldeploy-synth").write_text("previous run\n")
    (out / "resources.json").write_text(PREVIOUS)
    try:
        code, err = _synth(project, stack, out, capsys)
    finally:
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()
        # The corpus project is shared by every case: what one case wrote must not fail the next.
        written = (project / ".mldeploy").exists()
        shutil.rmtree(project / ".mldeploy", ignore_errors=True)
    source = f"stacks/Pulumi.{stack}.yaml"
    lines = err.strip().splitlines()
    assert "Traceback" not in err, f"{case.id}: a traceback instead of one line:\n{err[-2000:]}"
    assert code == 2, f"{case.id}: exit {code}, expected 2; stderr: {err[-1000:]}"
    assert len(lines) == 1, f"{case.id}: {len(lines)} lines, expected one: {err[-1000:]}"
    line = lines[0]
    assert line.startswith(f"error: {source}: "), f"{case.id}: not `error: <file>: ...`: {line}"
    rest = line[len(f"error: {source}: "):]
    if case.key == "line":
        assert rest.startswith("line "), f"{case.id}: must name line and column: {line}"
    elif case.key:
        named = rest.split(": ", 1)[0]
        assert case.key == named or case.key.startswith(named + ".") or case.key.startswith(named + "[") \
            or named.startswith(case.key), f"{case.id}: names key {named!r}, expected {case.key!r}: {line}"
    assert case.fragment in rest, f"{case.id}: {case.fragment!r} missing: {line}"
    assert "object at 0x" not in line and "<class" not in line, f"{case.id}: a Python repr: {line}"
    assert sorted(p.name for p in out.iterdir()) == [".mldeploy-synth", "resources.json"], \
        f"{case.id}: the previous output changed: {sorted(p.name for p in out.iterdir())}"
    assert (out / "resources.json").read_text() == PREVIOUS, f"{case.id}: the previous output was overwritten"
    assert not written, f"{case.id}: something was written under .mldeploy/"


def test_corpus_covers_every_class_section_and_target():
    by_class = collections.Counter(c.klass for c in CASES)
    assert all(n >= 1 for n in by_class.values()) and len(by_class) == 13, by_class
    typed = {c.key.split(".")[0] for c in CASES if c.klass in ("type", "injection")}
    sections = {k for stack in EXAMPLES.values() for k in __import__("yaml").safe_load(stack.read_text())["config"]
                if k.startswith("mldeploy:")}
    assert sections <= typed, f"sections without a type case: {sections - typed}"
    from mldeploy.targets.stack import SERVICE_MODELS as SERVICE_TARGETS

    targets = {t for c in CASES if c.klass == "type" for t in SERVICE_TARGETS
               if f"target: {t}\n" in c.text.decode(errors="replace")}
    assert targets == set(SERVICE_TARGETS), f"targets without type cases: {set(SERVICE_TARGETS) - targets}"
