"""production-app-insights (policies/monitoring.py): hand-built cases per target shape, then the
real prod and managed programs under Pulumi's mocks with telemetry turned off."""
from __future__ import annotations

import copy
import dataclasses

import pytest

from mldeploy.synth.policy import evaluate
from tests.harness import ROOT, synth
from tests.policies.helpers import ACI, DEPLOYMENT, SERVICE_ON, check, container, deployment, res

CONTAINER_APP = "azure-native:app:ContainerApp"
ONLINE_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
ON = [{"name": "AML_APP_INSIGHTS_ENABLED", "value": "true"}]
OFF = [{"name": "AML_APP_INSIGHTS_ENABLED", "value": "false"}]


def _k8s(env, stack="prod"):
    return res(DEPLOYMENT, deployment(container(env=env), labels=SERVICE_ON), "web", stack)


def _endpoint_deployment(on, stack="prod"):
    return res(ONLINE_DEPLOYMENT, {"tags": SERVICE_ON, "properties": {"appInsightsEnabled": on}}, "blue", stack)


def test_production_services_with_telemetry_pass():
    aci = res(ACI, {"tags": SERVICE_ON, "containers": [container(environmentVariables=ON)]}, "group", "prod")
    app = res(CONTAINER_APP, {"tags": SERVICE_ON, "template": {"containers": [container(env=ON)]}}, "app", "prod")
    assert check("production-app-insights", _k8s(ON), _endpoint_deployment(True), aci, app) == []


@pytest.mark.parametrize("resource", [_k8s(OFF), _k8s([]), _endpoint_deployment(False), _endpoint_deployment(None),
                                      res(CONTAINER_APP, {"tags": SERVICE_ON, "template": {"containers": [
                                          container(env=OFF)]}}, "app", "prod")])
def test_a_production_service_without_telemetry_is_refused(resource):
    messages = check("production-app-insights", resource)
    assert len(messages) == 1 and "appInsightsEnabled: true" in messages[0], messages


def test_production_telemetry_is_advisory_by_default():
    # A stack that was valid before the rule still synthesizes; a pack config can make it mandatory.
    from policies.config import default_enforcement
    from pulumi_policy import EnforcementLevel

    assert default_enforcement("production-app-insights") == EnforcementLevel.ADVISORY


def test_telemetry_off_outside_production_passes():
    assert check("production-app-insights", _k8s(OFF, "dev"), _endpoint_deployment(False, "dev")) == []


def _violations(result, change) -> list[str]:
    resources = copy.deepcopy(result.resources)
    change(resources)
    return [v.policy for v in evaluate(dataclasses.replace(result, resources=resources), ROOT)]


@pytest.mark.parametrize("stack", ["prod", "managed"])
def test_the_production_stacks_pass_and_telemetry_off_trips_the_rule(stack, tmp_path):
    result = synth(stack, tmp_path)
    assert _violations(result, lambda rs: None) == []

    def off(rs):
        for r in rs:
            if r["type"] == ONLINE_DEPLOYMENT:
                r["inputs"]["properties"]["appInsightsEnabled"] = False
            if r["type"] == DEPLOYMENT:
                for c in r["inputs"]["spec"]["template"]["spec"]["containers"]:
                    for var in c.get("env", []):
                        if var["name"] == "AML_APP_INSIGHTS_ENABLED":
                            var["value"] = "false"

    found = _violations(result, off)
    assert found and set(found) == {"production-app-insights"}, found
