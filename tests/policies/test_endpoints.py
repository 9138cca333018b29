"""The v2 online endpoint policies (policies/endpoints.py): a pass and a fail case for each, over
hand-built resources in the wire form `pulumi preview` and `mldeploy synth` hand over."""
from __future__ import annotations

from tests.policies.helpers import RESOURCE_GROUP, check, res

ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
TRAFFIC = "pulumi-python:dynamic/mldeploy:EndpointTraffic"
AUTOSCALE = "azure-native:monitor:AutoscaleSetting"
PROD = res(RESOURCE_GROUP, {"tags": {"mldeploy-production": "true"}}, "resource-group", stack="live")


def traffic(split, mirror=None, name="ep-traffic", stack="dev", endpoint="ep-endpoint"):
    return res(TRAFFIC, {"endpointId": f"/subscriptions/s/providers/x/OnlineEndpoint/{endpoint}",
                         "traffic": split, "mirrorTraffic": mirror or {}}, name, stack=stack)


def deployment(name, capacity=3, kind="Managed", timeout="PT5S", scale=None, stack="live"):
    props = {"endpointComputeType": kind, "requestSettings": {"requestTimeout": timeout},
             "scaleSettings": scale or {"scaleType": "Default"}}
    return res(DEPLOYMENT, {"deploymentName": name, "properties": props,
                            "sku": {"name": "Default", "capacity": capacity}}, f"ep-{name}", stack=stack)


# -- endpoint-traffic-sums-to-100 ---------------------------------------------------------------

def test_traffic_summing_to_100_passes():
    assert check("endpoint-traffic-sums-to-100", traffic({"blue": 90, "green": 10})) == []


def test_traffic_summing_to_110_fails():
    messages = check("endpoint-traffic-sums-to-100", traffic({"blue": 90, "green": 20}))
    assert len(messages) == 1 and "sums to 110" in messages[0], messages


def test_traffic_declared_on_the_endpoint_itself_is_checked_too():
    endpoint = res(ENDPOINT, {"properties": {"authMode": "Key", "traffic": {"blue": 50}}}, "ep")
    assert check("endpoint-traffic-sums-to-100", endpoint) != []


# -- endpoint-mirror-limits ---------------------------------------------------------------------

def test_mirror_of_10_percent_to_an_idle_deployment_passes():
    assert check("endpoint-mirror-limits", traffic({"blue": 100, "shadow": 0}, {"shadow": 10})) == []


def test_mirror_over_50_percent_fails():
    messages = check("endpoint-mirror-limits", traffic({"blue": 100}, {"shadow": 60}))
    assert any("at most 50" in m for m in messages), messages


def test_mirror_to_two_deployments_fails():
    messages = check("endpoint-mirror-limits", traffic({"blue": 100}, {"a": 10, "b": 10}))
    assert any("one deployment only" in m for m in messages), messages


def test_mirror_to_a_live_deployment_fails():
    messages = check("endpoint-mirror-limits", traffic({"blue": 90, "green": 10}, {"green": 10}))
    assert any("live and mirrored" in m for m in messages), messages


# -- endpoint-mirror-managed-only ---------------------------------------------------------------

def test_mirror_on_a_managed_endpoint_passes():
    endpoint = res(ENDPOINT, {"endpointName": "e", "properties": {"authMode": "Key"}}, "ep-endpoint")
    assert check("endpoint-mirror-managed-only", endpoint, traffic({"blue": 100}, {"shadow": 10})) == []


def test_mirror_on_a_kubernetes_endpoint_fails():
    endpoint = res(ENDPOINT, {"endpointName": "e", "properties": {"authMode": "Key", "compute": "/x/computes/k8s"}},
                   "ep-endpoint")
    messages = check("endpoint-mirror-managed-only", endpoint, traffic({"blue": 100}, {"shadow": 10}))
    assert len(messages) == 1 and "Kubernetes" in messages[0], messages


# -- endpoint-request-timeout -------------------------------------------------------------------

def test_managed_timeout_of_180_s_passes():
    assert check("endpoint-request-timeout", deployment("blue", timeout="PT180S")) == []


def test_managed_timeout_of_4_minutes_fails():
    messages = check("endpoint-request-timeout", deployment("blue", timeout="PT4M"))
    assert len(messages) == 1 and "over 180 s" in messages[0], messages


def test_kubernetes_timeout_of_4_minutes_passes():
    assert check("endpoint-request-timeout", deployment("blue", kind="Kubernetes", timeout="PT4M")) == []


# -- production-endpoint-instances --------------------------------------------------------------

def test_production_deployment_with_3_instances_passes():
    assert check("production-endpoint-instances", PROD, traffic({"blue": 100}, stack="live"),
                 deployment("blue", capacity=3)) == []


def test_production_deployment_with_1_instance_fails():
    messages = check("production-endpoint-instances", PROD, traffic({"blue": 100}, stack="live"),
                     deployment("blue", capacity=1))
    assert len(messages) == 1 and "'blue'" in messages[0] and "at least 3" in messages[0], messages


def test_mirror_deployment_without_live_traffic_may_be_small():
    assert check("production-endpoint-instances", PROD, traffic({"blue": 100, "shadow": 0}, {"shadow": 10}, stack="live"),
                 deployment("blue"), deployment("shadow", capacity=1)) == []


def test_autoscale_minimum_counts_not_the_starting_capacity():
    scale = res(AUTOSCALE, {"targetResourceUri": "/x/OnlineDeployment/ep-blue",
                            "profiles": [{"capacity": {"minimum": "1", "maximum": "5", "default": "3"}}]},
                "ep-blue-autoscale", stack="live")
    messages = check("production-endpoint-instances", PROD, traffic({"blue": 100}, stack="live"),
                     deployment("blue", capacity=3), scale)
    assert len(messages) == 1 and "autoscale" in messages[0], messages


def test_kubernetes_min_instances_count():
    scale = {"scaleType": "TargetUtilization", "minInstances": 1, "maxInstances": 4}
    messages = check("production-endpoint-instances", PROD, traffic({"blue": 100}, stack="live"),
                     deployment("blue", kind="Kubernetes", scale=scale))
    assert len(messages) == 1 and "minInstances" in messages[0], messages


def test_outside_production_one_instance_passes():
    assert check("production-endpoint-instances", traffic({"blue": 100}, stack="dev"),
                 deployment("blue", capacity=1, stack="dev")) == []


# -- autoscale-setting-bounds -------------------------------------------------------------------

def _scale(minimum, maximum, default):
    return res(AUTOSCALE, {"profiles": [{"capacity": {"minimum": minimum, "maximum": maximum, "default": default}}]},
               "as")


def test_autoscale_setting_within_bounds_passes():
    assert check("autoscale-setting-bounds", _scale("3", "6", "3")) == []


def test_autoscale_setting_min_above_max_fails():
    assert "must be <=" in check("autoscale-setting-bounds", _scale("6", "3", "3"))[0]


def test_autoscale_setting_default_outside_fails():
    assert "within 3-6" in check("autoscale-setting-bounds", _scale("3", "6", "9"))[0]


def test_synthesized_production_endpoint_with_one_live_instance_fails(tmp_path):
    from mldeploy.synth.policy import evaluate, mandatory
    from tests.harness import ROOT, stack_values, synth

    values, secret_keys = stack_values("managed")
    values["mldeploy:services"]["diabetes"]["deployments"]["green"]["instanceCount"] = 1
    blocking = mandatory(evaluate(synth("managed", tmp_path, values, secret_keys), ROOT))
    assert [v.policy for v in blocking] == ["production-endpoint-instances"], blocking
    assert "'green'" in blocking[0].message


# -- production-azureml-extension-tls ------------------------------------------------------------

def _extension(insecure: str, stack: str = "prod"):
    from tests.policies.helpers import res

    return res("azure-native:kubernetesconfiguration:Extension", {
        "extensionType": "microsoft.azureml.kubernetes",
        "configurationSettings": {"enableInference": "True", "allowInsecureConnections": insecure}}, "azureml", stack)


def test_the_azureml_extension_serves_https_only_in_production():
    from tests.policies.helpers import check

    assert check("production-azureml-extension-tls", _extension("False")) == []
    assert check("production-azureml-extension-tls", _extension("True", stack="dev")) == []
    (message,) = check("production-azureml-extension-tls", _extension("True"))
    assert "allowInsecureConnections is True" in message and "sslCertPemFile" in message, message


def test_the_kubernetes_endpoint_stack_s_extension_trips_it_once_production(tmp_path):
    from mldeploy.synth.policy import policy_resources
    from tests.harness import synth
    from tests.policies.helpers import check

    resources = policy_resources(synth("kubernetes-endpoint", tmp_path))
    assert check("production-azureml-extension-tls", *resources) == []  # not production: HTTP allowed
    for r in resources:
        if r.resource_type == "azure-native:kubernetesconfiguration:Extension":
            r.props = {**r.props, "tags": {"mldeploy-production": "true"}}
    (message,) = check("production-azureml-extension-tls", *resources)
    assert "allowInsecureConnections is True in production" in message, message


# Two endpoints of one stack, each with a deployment `blue`, as synth and Azure name them: the ids
# are `…/workspaces/<ws>/onlineEndpoints/<endpoint>/deployments/<name>` (mldeploy/synth/arm_ids.py).
WORKSPACE_ID = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w"


def _endpoint_traffic(endpoint, split):
    return res(TRAFFIC, {"endpointId": f"{WORKSPACE_ID}/onlineEndpoints/{endpoint}", "traffic": split,
                         "mirrorTraffic": {}}, f"{endpoint}-traffic", stack="live")


def _deployment_of(endpoint, name, capacity):
    props = {"endpointComputeType": "Managed", "scaleSettings": {"scaleType": "Default"}}
    return res(DEPLOYMENT, {"endpointName": endpoint, "deploymentName": name, "properties": props,
                            "sku": {"name": "Default", "capacity": capacity}}, f"{endpoint}-{name}", stack="live")


def test_an_autoscale_floor_counts_for_its_own_endpoints_deployment_only():
    scale = res(AUTOSCALE, {"targetResourceUri": f"{WORKSPACE_ID}/onlineEndpoints/a/deployments/blue",
                            "profiles": [{"capacity": {"minimum": "3", "maximum": "6", "default": "3"}}]},
                "a-blue-autoscale", stack="live")
    messages = check("production-endpoint-instances", PROD, _endpoint_traffic("a", {"blue": 100}),
                     _endpoint_traffic("b", {"blue": 100}), _deployment_of("a", "blue", 1),
                     _deployment_of("b", "blue", 1), scale)
    assert len(messages) == 1 and "(b-blue)" in messages[0], messages


def test_live_traffic_counts_for_its_own_endpoints_deployment_only():
    messages = check("production-endpoint-instances", PROD, _endpoint_traffic("a", {"blue": 100}),
                     _endpoint_traffic("b", {"green": 100, "blue": 0}), _deployment_of("a", "blue", 3),
                     _deployment_of("b", "green", 3), _deployment_of("b", "blue", 1))
    assert messages == [], "b's blue takes no traffic: a's blue taking all of a's is not b's"


# -- endpoint-deployments-limit ------------------------------------------------------------------

def _deployments(count, endpoint="churn", type_=DEPLOYMENT):
    return [res(type_, {"endpointName": endpoint, "deploymentName": f"v{i}"}, f"{endpoint}-v{i}") for i in range(count)]


def test_an_endpoint_holds_at_most_20_deployments():
    assert check("endpoint-deployments-limit", *_deployments(20)) == []
    (message,) = check("endpoint-deployments-limit", *_deployments(21))
    assert "Online endpoint 'churn' would hold 21 deployments" in message and "maximumDeployments" in message, message


def test_the_limit_counts_per_endpoint_and_kind_and_can_be_raised():
    resources = [*_deployments(15), *_deployments(15, "fraud"),
                 *_deployments(15, "churn", "azure-native:machinelearningservices:BatchDeployment")]
    assert check("endpoint-deployments-limit", *resources) == []  # 15 each: two online endpoints, one batch
    (message,) = check("endpoint-deployments-limit", *_deployments(21, "scores",
                                                                 "azure-native:machinelearningservices:BatchDeployment"))
    assert message.startswith("Batch endpoint 'scores' would hold 21"), message
    assert check("endpoint-deployments-limit", *_deployments(25), config={"maximumDeployments": 30}) == []
