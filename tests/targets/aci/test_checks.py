"""`target: aci`'s load-time checks (mldeploy/targets/aci/checks.py), through the one load entry."""
from __future__ import annotations

import pytest

from mldeploy.config import ConfigError
from mldeploy.targets.stack import parse_settings
from tests.harness import ROOT, stack_values


def test_a_production_stack_refuses_aci_naming_the_services_target():
    values, keys = stack_values("dev")
    values["mldeploy:production"] = True
    with pytest.raises(ConfigError) as info:
        parse_settings("dev", values, keys, ROOT, "stacks/Pulumi.dev.yaml")
    assert info.value.key == "mldeploy:services.diabetes-aci.target", info.value
    assert info.value.message.startswith("ACI is for dev/test only"), info.value
