"""public-services-authenticated (policies/exposure.py, advisory by default): hand-built cases
for each way a service is public, then real programs under Pulumi's mocks with auth turned off
(the dev stack's ACI group, the fpga stack's AKS Deployment behind its LoadBalancer)."""
from __future__ import annotations

import pytest

from mldeploy.policies import config
from mldeploy.synth.policy import evaluate
from tests.harness import ROOT, stack_values, synth
from tests.policies.helpers import ACI, DEPLOYMENT, check, container, res

CONTAINER_APP = "azure-native:app:ContainerApp"
SERVICE = "kubernetes:core/v1:Service"
AUTH_OFF = {"mldeploy-service": "web", "mldeploy-auth": "disabled", "mldeploy-tls": "disabled"}


def _aci(ip_type: str, tags=AUTH_OFF, stack="dev"):
    return res(ACI, {"tags": tags, "ipAddress": {"type": ip_type, "ports": [{"port": 80}]},
                     "containers": [container()]}, "group", stack)


def _pods(labels=None):
    return res(DEPLOYMENT, {"metadata": {"namespace": "ml", "annotations": AUTH_OFF},
                            "spec": {"template": {"metadata": {"labels": labels or {"app": "web"}},
                                                  "spec": {"containers": [container()]}}}}, "web")


def _service(kind: str, selector=None, namespace="ml"):
    return res(SERVICE, {"metadata": {"name": "web", "namespace": namespace},
                         "spec": {"type": kind, "selector": selector or {"app": "web"}}}, "web-svc")


def test_it_is_advisory_by_default():
    assert config.default_enforcement("public-services-authenticated").value == "advisory"


def test_private_or_authenticated_services_pass():
    assert check("public-services-authenticated", _aci("Private")) == []
    assert check("public-services-authenticated", _aci("Public", {**AUTH_OFF, "mldeploy-auth": "enabled"})) == []
    internal = res(CONTAINER_APP, {"tags": AUTH_OFF, "configuration": {"ingress": {"external": False}}}, "app")
    assert check("public-services-authenticated", internal) == []
    assert check("public-services-authenticated", _pods(), _service("ClusterIP")) == []
    assert check("public-services-authenticated", _pods(), _service("LoadBalancer", namespace="other")) == []
    assert check("public-services-authenticated", _pods(), _service("LoadBalancer", {"app": "else"})) == []


@pytest.mark.parametrize("resources, through", [
    ([_aci("Public")], "public IP address"),
    ([res(CONTAINER_APP, {"tags": AUTH_OFF, "configuration": {"ingress": {"external": True}}}, "app")],
     "external ingress"),
    ([_pods(), _service("LoadBalancer")], "Service web (LoadBalancer)"),
    ([_pods(), _service("NodePort")], "Service web (NodePort)"),
])
def test_a_public_service_without_auth_is_reported_once(resources, through):
    messages = check("public-services-authenticated", *resources, *resources)
    assert len(messages) == 1 and through in messages[0] and "authEnabled: true" in messages[0], messages


def test_production_stacks_are_left_to_production_auth_and_tls():
    assert check("public-services-authenticated", _aci("Public", stack="prod")) == []


@pytest.mark.parametrize("stack, service", [("dev", "diabetes-aci"), ("fpga", "diabetes-fpga")])
def test_a_real_stack_with_auth_off_gets_the_advisory_and_still_synthesizes(stack, service, tmp_path):
    values, secret_keys = stack_values(stack)
    values["mldeploy:services"][service]["authEnabled"] = False
    values["mldeploy:services"][service].pop("keys", None)
    found = evaluate(synth(stack, tmp_path, values, secret_keys), ROOT)
    assert [(v.policy, v.enforcement) for v in found] == [("public-services-authenticated", "advisory")], found
    assert f"service {service!r} has authentication disabled" in found[0].message
