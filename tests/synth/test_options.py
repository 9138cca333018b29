"""resources.json records the resource options the program sets, and only those
(mldeploy/synth/mocks.py RecordingMonitor, mldeploy/pulumi_internals.py registered_options)."""
from __future__ import annotations

from tests.harness import synth

ALLOWED = {"ignoreChanges", "replaceOnChanges", "deleteBeforeReplace", "protect", "retainOnDelete", "aliases"}


def test_an_autoscaled_deployment_records_its_ignored_capacity(tmp_path):
    result = synth("managed", tmp_path)
    blue = result.one("azure-native:machinelearningservices:OnlineDeployment", "endpoint-diabetes-blue")
    assert "sku.capacity" in blue.get("options", {}).get("ignoreChanges", []), \
        f"{blue['urn']}: autoscale owns the capacity, resources.json must show ignoreChanges sku.capacity"


def test_a_renamed_child_records_its_alias_and_no_sdk_alias_appears(tmp_path):
    result = synth("dev", tmp_path)
    aliased = [r for r in result.resources if r.get("options", {}).get("aliases")]
    assert aliased, "dev: the children renamed by components/children.py must record their former names"
    for r in [r for r in result.resources if "options" in r]:
        options = r["options"]
        assert options and set(options) <= ALLOWED, f"{r['urn']}: options {options} (only set ones, no empty key)"
        for alias in options.get("aliases", []):
            assert "type" not in alias or not alias["type"].startswith(r["type"].split(":")[0] + ":"), \
                f"{r['urn']}: the SDK's type alias {alias} is recorded as the program's"
