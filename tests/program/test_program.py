"""The declare step: what a stack declares in Azure, and what a local-only stack does not."""
from __future__ import annotations

from mldeploy.targets.stack import parse_settings
from tests.harness import ROOT, stack_values, synth


def test_a_local_only_stack_declares_nothing_in_azure(tmp_path):
    result = synth("local", tmp_path)
    azure = [r["urn"] for r in result.resources if r["type"].startswith("azure-native:")]
    assert azure == [], f"the local stack must not need Azure: {azure}"
    assert result.outputs["models"]["diabetes"]["version"] == "1"
    assert result.outputs["images"]["diabetes"]["tag"].startswith("1-")
    assert (tmp_path / "diabetes" / "Dockerfile").is_file(), "the local image still gets its build context"


def test_a_local_only_stack_needs_no_location():
    values, keys = stack_values("local")
    assert "azure-native:location" not in values
    assert parse_settings("local", values, keys, ROOT, "stacks/Pulumi.local.yaml").needs_azure is False


def test_a_cloud_service_makes_the_location_required():
    values, keys = stack_values("local")
    values["mldeploy:services"]["web"] = {"target": "aci", "image": "diabetes"}
    import pytest

    from mldeploy.config import ConfigError

    with pytest.raises(ConfigError) as err:
        parse_settings("local", values, keys, ROOT, "stacks/Pulumi.local.yaml")
    assert err.value.key == "azure-native:location"

