"""No false refusals: every valid variant of the example stacks (tests/config/valid_stacks.py) passes
`mldeploy synth` with exit 0 - the path the bad-stack corpus runs (test_bad_stacks.py), in-process."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.config.bad_stacks import ROOT
from tests.config.valid_stacks import all_valid_cases, make_valid_files

CASES = all_valid_cases()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project's inputs (examples, stacks, Pulumi.yaml) plus the corpus' files."""
    root = tmp_path_factory.mktemp("valid") / "project"
    root.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(ROOT / "examples", root / "examples", ignore=shutil.ignore_patterns("__pycache__", "mlruns"))
    (root / "stacks").mkdir()
    make_valid_files(root)
    return root


def _synth(root: Path, stack: str, out: Path, capsys) -> tuple[int, str]:
    from mldeploy.cli import main

    argv, code = sys.argv, 0
    sys.argv = ["mldeploy", "synth", "--stack", stack, "--project-dir", str(root), "--out", str(out)]
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = argv
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", CASES, ids=[f"{c.klass}:{c.id}" for c in CASES])
def test_valid_stack_file_is_accepted(case, project, tmp_path, capsys):
    stack = f"v-{abs(hash(case.id)) % 10**8}"
    path = project / "stacks" / f"Pulumi.{stack}.yaml"
    path.write_bytes(case.text)
    try:
        code, err = _synth(project, stack, tmp_path / "out", capsys)
    finally:
        path.unlink()
        shutil.rmtree(project / ".mldeploy", ignore_errors=True)
    errors = [line for line in err.splitlines() if line.startswith("error:") or "Traceback" in line]
    assert code == 0 and not errors, f"{case.id}: a valid stack was refused (exit {code}): {err[-1500:]}"
