"""Model versions (mldeploy/plan/models.py): entries name the registered model they are a version
of; one (registeredName, version) is registered once and never with two different files."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from mldeploy.config.errors import ConfigError
from tests.harness import ROOT, stack_values, synth


def _second_entry(values, **entry):
    values["mldeploy:models"]["diabetes-v2"] = {**values["mldeploy:models"]["diabetes-v2"], **entry}
    return values


def test_one_version_with_two_different_files_is_refused_naming_both_keys(tmp_path):
    values, secret_keys = stack_values("managed")
    with pytest.raises(ConfigError) as err:
        synth("managed", tmp_path, _second_entry(values, version=1), secret_keys)
    text = str(err.value)
    assert "mldeploy:models.diabetes-v2.version" in text and "'diabetes'" in text and "diabetes:1" in text, text


def test_one_version_named_by_two_entries_with_the_same_file_is_registered_once(tmp_path):
    values, secret_keys = stack_values("managed")
    same = values["mldeploy:models"]["diabetes"]["path"]
    result = synth("managed", tmp_path, _second_entry(values, version=1, path=same), secret_keys)
    versions = result.of_type("azure-native:machinelearningservices:ModelVersion")
    assert [(v["inputs"]["name"], v["inputs"]["version"]) for v in versions] == [("diabetes", "1")], \
        "two entries of diabetes:1 with one file: one ModelVersion"


def test_derived_versions_of_one_registered_name_differ_by_content(tmp_path):
    values, secret_keys = stack_values("managed")
    for entry in values["mldeploy:models"].values():
        entry.pop("version")
    result = synth("managed", tmp_path, values, secret_keys)
    versions = sorted(v["inputs"]["version"] for v in result.of_type(
        "azure-native:machinelearningservices:ModelVersion"))
    assert len(versions) == 2 and versions[0] != versions[1], versions


def test_the_build_context_uses_azure_mls_layout_with_the_registered_name(tmp_path):
    result = synth("managed", tmp_path)
    assert (tmp_path / "diabetes-v2" / "azureml-models" / "diabetes" / "2" / "sklearn_regression_model.pkl").is_file(), \
        sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.pkl"))
    assert result.outputs["models"]["diabetes-v2"]["name"] == "diabetes"


def test_the_cli_refuses_a_duplicate_version_with_exit_2_and_no_traceback(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(".venv*", ".git", "build", ".mldeploy", "tests"))
    stack = project / "stacks" / "Pulumi.managed.yaml"
    stack.write_text(stack.read_text().replace("      version: 2\n", "      version: 1\n"))
    proc = subprocess.run([sys.executable, "-m", "mldeploy", "synth", "--stack", "managed", "--out",
                           str(tmp_path / "out")], cwd=project, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: stacks/Pulumi.managed.yaml: mldeploy:models.diabetes-v2.version: "
                                  "models 'diabetes' and 'diabetes-v2' both register diabetes:1"), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
