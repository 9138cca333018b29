"""Pulumi.yaml must say what mldeploy reads: a Python project whose stacks are in stacks/. A
project file that does not (or does not parse) is one `error:` line naming Pulumi.yaml and the key,
exit 2, before any stack is read - not a synth of stacks/ that `pulumi up` would never use."""
from __future__ import annotations

import sys

import pytest

from mldeploy.cli import main
from tests.harness import ROOT, copy_project

GOOD = (ROOT / "Pulumi.yaml").read_text()

BAD = {
    "other config dir": (GOOD.replace("stackConfigDir: stacks", "stackConfigDir: config"),
                         "Pulumi.yaml: stackConfigDir: is 'config'"),
    "no config dir": (GOOD.replace("stackConfigDir: stacks\n", ""), "Pulumi.yaml: stackConfigDir: is missing"),
    "node runtime": (GOOD.replace("  name: python", "  name: nodejs"), "Pulumi.yaml: runtime: is 'nodejs'"),
    "runtime as a string": ("name: p\nruntime: go\nstackConfigDir: stacks\n", "Pulumi.yaml: runtime: is 'go'"),
    "no runtime": ("name: p\nstackConfigDir: stacks\n", "Pulumi.yaml: runtime: is missing"),
    "no name": (GOOD.replace("name: mldeploy\n", ""), "Pulumi.yaml: name: is missing"),
    "name with a slash": (GOOD.replace("name: mldeploy", "name: team/mldeploy"), "Pulumi.yaml: name: is 'team/mldeploy'"),
    "name too long": (GOOD.replace("name: mldeploy", "name: " + "a" * 101), "Pulumi.yaml: name: is 'aaaa"),
    "not YAML": ("name: [p\n", "Pulumi.yaml"),
    "a list": ("- name: p\n", "Pulumi.yaml: (file): must be a YAML mapping"),
    "mldeploy settings in the project": (GOOD + "config:\n  mldeploy:production: true\n",
                                         "Pulumi.yaml: config.mldeploy:production: mldeploy's settings go in"),
}
GOOD_TOO = {
    "runtime as a string, dir with a slash": "name: my.project_1\nruntime: python\nstackConfigDir: ./stacks/\n",
    "another namespace's project config": GOOD + "config:\n  azure-native:location: westeurope\n",
}


def _synth(project, monkeypatch, capsys) -> tuple[int, list[str]]:
    monkeypatch.chdir(project)  # synth's output folder (build/synth/dev) lands in the copy
    monkeypatch.setattr(sys, "argv", ["mldeploy", "synth", "--stack", "dev", "--project-dir", str(project)])
    try:
        main()
        code = 0
    except SystemExit as stop:
        code = stop.code
    return code, capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_project_file_mldeploy_and_pulumi_would_read_apart_is_one_error(case, tmp_path, monkeypatch, capsys):
    text, said = BAD[case]
    project = copy_project(tmp_path, "dev")
    (project / "Pulumi.yaml").write_text(text)
    code, lines = _synth(project, monkeypatch, capsys)
    errors = [line for line in lines if line.startswith("error: ")]
    assert code == 2 and len(errors) == 1 and errors[0].startswith(f"error: {said}"), lines
    assert not any("Traceback" in line for line in lines), lines


@pytest.mark.parametrize("case", sorted(GOOD_TOO))
def test_a_project_file_that_agrees_synthesizes(case, tmp_path, monkeypatch, capsys):
    project = copy_project(tmp_path, "dev")
    (project / "Pulumi.yaml").write_text(GOOD_TOO[case])
    code, lines = _synth(project, monkeypatch, capsys)
    assert code == 0, lines
