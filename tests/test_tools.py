"""tests/tools.py: a validator the tests need and cannot find is a failure that says how to get it."""
from __future__ import annotations

import subprocess

import pytest

from tests import tools
from tests.harness import ROOT


def test_a_missing_checkov_fails_naming_the_make_target_that_installs_it(monkeypatch, tmp_path):
    monkeypatch.delenv("CHECKOV", raising=False)
    monkeypatch.setattr(tools, "ROOT", tmp_path)
    monkeypatch.setattr(tools.shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match=r"run `make tools` in .*or set CHECKOV=") as failed:
        tools.checkov()
    assert "make test" not in str(failed.value), "`make test` runs the whole suite: not the way to get one tool"


def test_make_tools_installs_checkov_and_make_install_does_not(tmp_path):
    """Dry runs with a tools folder that does not exist: `tools` makes it, `install` leaves it alone."""
    def dry(target: str) -> str:
        return subprocess.run(["make", "-n", target, f"TOOLS={tmp_path / 'tools'}"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout

    assert "pip install --quiet -c tools-constraints.txt 'checkov" in dry("tools")
    assert "checkov" not in dry("install")
