"""Which mistake a stack file with several gets reported: the rule-breaking key that comes first in
the file (mldeploy/targets/stack.py), whatever order the rules run in - shared rules, a target's
checks, section entries and stack-wide rules alike."""
from __future__ import annotations

import pytest

from mldeploy.config.errors import ConfigError
from mldeploy.config.order import file_position, key_parts
from mldeploy.targets.stack import parse_settings
from tests.harness import ROOT, stack_values

LOCATION = "azure-native:location"
SERVICES = "mldeploy:services"


def _first_error(values: dict, secret_keys: set[str]) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        parse_settings("containerapp", values, secret_keys, ROOT, "stacks/Pulumi.containerapp.yaml")
    return raised.value


def _two_mistakes(location_first: bool) -> tuple[dict, set[str]]:
    """A misspelt region (a shared rule, run first) and a container app's scoringTimeoutMs over the
    ingress's 240 s (its target's check, run after), the two keys in either order in the file."""
    values, secret_keys = stack_values("containerapp")
    values[LOCATION] = "westeurop"
    values[SERVICES]["diabetes-aca"]["scoringTimeoutMs"] = 300_000
    moved = LOCATION if not location_first else SERVICES
    values[moved] = values.pop(moved)  # to the end of the file
    return values, secret_keys


def test_the_first_wrong_key_in_the_file_is_reported_whichever_rule_runs_first():
    assert _first_error(*_two_mistakes(location_first=True)).key == LOCATION
    err = _first_error(*_two_mistakes(location_first=False))
    assert err.key == f"{SERVICES}.diabetes-aca.scoringTimeoutMs", err
    assert "240000 ms" in err.message and "stacks/Pulumi.containerapp.yaml" in str(err)


def test_two_services_mistakes_in_file_order():
    """Two services, each breaking its target's check: the service written first is reported.
    (Granularity: one rule - a target's check of one entry - stops at its first finding, so two
    mistakes of one entry found by the same check come in that check's order.)"""
    values, secret_keys = stack_values("containerapp")
    services = values[SERVICES]
    services["other-aca"] = {k: v for k, v in services["diabetes-aca"].items() if k != "revisions"}
    services["other-aca"]["scoringTimeoutMs"] = 300_000
    services["diabetes-aca"]["scoringTimeoutMs"] = 300_000
    assert _first_error(values, secret_keys).key == f"{SERVICES}.diabetes-aca.scoringTimeoutMs"
    services["diabetes-aca"] = services.pop("diabetes-aca")  # now written after other-aca
    assert _first_error(values, secret_keys).key == f"{SERVICES}.other-aca.scoringTimeoutMs"


def test_a_single_mistake_reads_as_before():
    values, secret_keys = stack_values("containerapp")
    values[LOCATION] = "westeurop"
    err = _first_error(values, secret_keys)
    assert err.key == LOCATION and "did you mean westeurope" in err.message, err


def test_positions_follow_the_file():
    config = {LOCATION: "x", SERVICES: {"a": {"target": "aks", "cors": {"allowedOrigins": ["x", "y"]}}, "b": {}}}
    assert key_parts(f"{SERVICES}.a.cors.allowedOrigins[1]") == [SERVICES, "a", "cors", "allowedOrigins", 1]
    assert file_position(f"{SERVICES}.a.cors.allowedOrigins[1]", config) == (1, 0, 1, 0, 1)
    assert file_position(f"{SERVICES}.a", config) < file_position(f"{SERVICES}.a.target", config), "parent first"
    # A key the file does not write (a default) sits after its written siblings.
    assert file_position(f"{SERVICES}.a.port", config) == (1, 0, 2) < file_position(f"{SERVICES}.b", config)
    assert file_position("mldeploy:production", config) == (2,)
