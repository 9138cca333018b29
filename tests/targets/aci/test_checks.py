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


def _dev_with_aci(cpu: float, memory: float):
    values, keys = stack_values("dev")
    values["mldeploy:services"]["diabetes-aci"].update(cpuCores=cpu, memoryGb=memory)
    return parse_settings("dev", values, keys, ROOT, "stacks/Pulumi.dev.yaml")


def test_a_group_above_4_cpus_or_16_gb_is_accepted_with_a_quota_warning():
    # Microsoft's big-containers.md: above 4 vCPU / 16 GB needs a quota request; the hard limit is 31 / 240.
    # Through the target table (what synth and the program print), not the function alone.
    from mldeploy.targets.stack import target_warnings

    def warnings(settings):
        return [line for line in target_warnings(settings) if "diabetes-aci" in line]
    assert warnings(_dev_with_aci(4, 16)) == []
    for cpu, memory in ((8, 32), (4, 17), (5, 16), (31, 240)):
        lines = warnings(_dev_with_aci(cpu, memory))
        assert len(lines) == 1 and lines[0].startswith("mldeploy:services.diabetes-aci: "), lines
        assert "quota request" in lines[0], lines
