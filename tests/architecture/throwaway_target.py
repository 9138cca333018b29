"""A throw-away target in a copy of mldeploy, as the target-package tests add one: its package
under mldeploy/targets/<name>/ and its row in the table, nothing else edited; then a check run
against the copy with a project of the given stack files."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.harness import ROOT, copy_project


def copy_with_target(tmp_path: Path, name: str, files: dict[str, str], after_row: str) -> Path:
    """mldeploy copied under tmp_path/src, with the package `name` (file name -> text) and its row
    in the table after `after_row` (e.g. "edge")."""
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "mldeploy", copy / "mldeploy", ignore=shutil.ignore_patterns("__pycache__"))
    package = copy / "mldeploy" / "targets" / name
    package.mkdir()
    for file, text in files.items():
        (package / file).write_text(text, encoding="utf-8")
    table = copy / "mldeploy/targets/__init__.py"
    text = table.read_text(encoding="utf-8")
    row = f"    {after_row}.TARGET,\n"
    assert text.count(row) == 1 and text.count("\nfrom mldeploy.targets import ") == 1, "the table's shape changed"
    text = text.replace(row, row + f"    {name}.TARGET,\n").replace(
        "\nfrom mldeploy.targets import ", f"\nfrom mldeploy.targets import {name}\nfrom mldeploy.targets import ")
    table.write_text(text, encoding="utf-8")
    return copy


def run_against_copy(tmp_path: Path, copy: Path, check: str, stacks: dict[str, str]) -> tuple[Path, dict[str, Any]]:
    """A project under tmp_path/project (Pulumi.yaml, the diabetes example, stacks/Pulumi.<name>.yaml
    for each of `stacks`); `check` run with the copy first on the path (argv: copy, project). Returns
    the project and the JSON of the check's last line."""
    project = tmp_path / "project"
    copy_project(project)
    for name, text in stacks.items():
        (project / "stacks" / f"Pulumi.{name}.yaml").write_text(text, encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", check, str(copy), str(project)], cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(copy)}, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    return project, json.loads(run.stdout.splitlines()[-1])
