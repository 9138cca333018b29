"""`target: local`'s load-time checks (mldeploy/targets/local/checks.py), through the one load entry."""
from __future__ import annotations

import pytest

from mldeploy.config import ConfigError
from mldeploy.targets.stack import parse_settings
from tests.harness import ROOT, stack_values

S = "mldeploy:services"


def _load(values, keys):
    return parse_settings("local", values, keys, ROOT, "stacks/Pulumi.local.yaml")


def test_a_gateway_port_is_one_local_services():
    values, keys = stack_values("local")
    values[S]["b-second"] = {**values[S]["diabetes"]}
    values[S]["a-first"] = {**values[S]["diabetes"], "port": 9123}
    with pytest.raises(ConfigError) as info:
        _load(values, keys)
    # the first by name keeps the port; the error names the later one's key and the owner
    assert info.value.key == f"{S}.diabetes.port", info.value
    assert "port 8890 is also local service 'b-second''s" in info.value.message, info.value


def test_local_services_on_their_own_ports_load():
    values, keys = stack_values("local")
    values[S]["second"] = {**values[S]["diabetes"], "port": 9123}
    assert sorted(_load(values, keys).services) == ["diabetes", "second"]
