"""The per-resource policies (policies/rules.py): plain-text keys, autoscale bounds, registry
admin user, Kubernetes requests and limits, required tags. Pass, fail and missing-property
cases for each."""
from __future__ import annotations

from tests.policies.helpers import (ACI, AGENT_POOL, CLUSTER, DEPLOYMENT, HPA, REGISTRY, SERVICE_ON, check,
                                    container, deployment, res)


# -- no-plain-text-keys --------------------------------------------------------------------------

def test_keys_as_secure_values_and_secret_refs_pass():
    aci = res(ACI, {"containers": [container(environmentVariables=[
        {"name": "SCORING_PRIMARY_KEY", "secureValue": "[secret]"},
        {"name": "WORKER_COUNT", "value": "2"}])]})
    k8s = res(DEPLOYMENT, deployment(container(env=[
        {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "keys", "key": "primary"}}}])))
    assert check("no-plain-text-keys", aci, k8s) == []


def test_key_in_plain_aci_value_fails():
    aci = res(ACI, {"containers": [container(environmentVariables=[{"name": "SCORING_PRIMARY_KEY",
                                                                     "value": "abc123"}])]})
    messages = check("no-plain-text-keys", aci)
    assert len(messages) == 1 and "SCORING_PRIMARY_KEY" in messages[0] and "secureValue" in messages[0], messages


def test_password_in_plain_kubernetes_env_and_configmap_fail():
    k8s = res(DEPLOYMENT, deployment(container(env=[{"name": "DB_PASSWORD", "value": "hunter2"}])))
    cm = res("kubernetes:core/v1:ConfigMap", {"data": {"primary-key": "abc", "timeout": "60"}})
    messages = check("no-plain-text-keys", k8s, cm)
    assert len(messages) == 2, messages
    assert "DB_PASSWORD" in messages[0] and "secretKeyRef" in messages[0]
    assert "primary-key" in messages[1]


def test_env_var_without_a_value_or_pointing_at_a_file_passes():
    k8s = res(DEPLOYMENT, deployment(container(env=[{"name": "API_KEY"}, {"name": "KEYS_FILE", "value": "/etc/keys"}])))
    assert check("no-plain-text-keys", k8s) == []


# -- autoscale-bounds ----------------------------------------------------------------------------

def _hpa(**spec):
    return res(HPA, {"spec": spec}, "web")


def test_sane_autoscaling_passes():
    hpa = _hpa(minReplicas=1, maxReplicas=3, metrics=[{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}])
    pool = res(AGENT_POOL, {"enableAutoScaling": True, "minCount": 3, "maxCount": 6}, "scoring")
    assert check("autoscale-bounds", hpa, pool) == []


def test_min_above_max_fails():
    assert check("autoscale-bounds", _hpa(minReplicas=5, maxReplicas=3)) == [
        "web: minReplicas (5) must be <= maxReplicas (3)"]
    cluster = res(CLUSTER, {"agentPoolProfiles": [{"enableAutoScaling": True, "minCount": 4, "maxCount": 2}]})
    assert check("autoscale-bounds", cluster) == ["agentPoolProfiles[0]: minCount (4) must be <= maxCount (2)"]


def test_utilization_outside_1_to_100_fails():
    hpa = _hpa(minReplicas=1, maxReplicas=3, metrics=[{"resource": {"target": {"averageUtilization": 150}}}])
    messages = check("autoscale-bounds", hpa)
    assert messages == ["web metrics[0].resource: averageUtilization (150) must be within 1-100 (percent)"], messages
    assert check("autoscale-bounds", _hpa(maxReplicas=3, targetCPUUtilizationPercentage=0)) != []


def test_missing_bounds_are_reported():
    assert check("autoscale-bounds", _hpa(minReplicas=2)) == ["web: autoscaling is on but maxReplicas is not set"]
    pool = res(AGENT_POOL, {"enableAutoScaling": True, "maxCount": 6}, "scoring")
    assert check("autoscale-bounds", pool) == ["scoring: autoscaling is on but minCount is not set"]


def test_fixed_size_pool_has_no_bounds_to_check():
    assert check("autoscale-bounds", res(AGENT_POOL, {"count": 3, "minCount": 9, "maxCount": 1})) == []


# -- registry-admin-user-disabled ---------------------------------------------------------------

def test_registry_with_admin_user_off_passes():
    assert check("registry-admin-user-disabled", res(REGISTRY, {"adminUserEnabled": False})) == []


def test_registry_with_admin_user_on_and_no_declared_need_fails():
    messages = check("registry-admin-user-disabled", res(REGISTRY, {"adminUserEnabled": True}, "registry"))
    assert len(messages) == 1 and "no mldeploy-admin-user-need tag" in messages[0], messages
    odd = res(REGISTRY, {"adminUserEnabled": True, "tags": {"mldeploy-admin-user-need": "convenience"}})
    assert len(check("registry-admin-user-disabled", odd)) == 1


def test_registry_admin_user_for_iot_edge_passes_when_declared():
    edge = res(REGISTRY, {"adminUserEnabled": True, "tags": {"mldeploy-admin-user-need": "iot-edge"}})
    assert check("registry-admin-user-disabled", edge) == []
    assert check("registry-admin-user-disabled", edge, config={"allowedNeeds": []}) != []


def test_registry_without_the_property_uses_azures_default_off():
    assert check("registry-admin-user-disabled", res(REGISTRY, {"sku": {"name": "Standard"}})) == []


# -- kubernetes-requests-and-limits -------------------------------------------------------------

def test_container_with_requests_and_limits_passes():
    assert check("kubernetes-requests-and-limits", res(DEPLOYMENT, deployment(container()))) == []


def test_container_without_memory_limit_fails():
    c = container()
    c["resources"]["limits"] = {"cpu": "1"}
    messages = check("kubernetes-requests-and-limits", res(DEPLOYMENT, deployment(c)))
    assert messages == ["containers[0] (scorer): resources.limits has no memory; set both requests and limits "
                        "so the scheduler and the autoscaler have numbers to work with"], messages


def test_container_without_resources_reports_requests_and_limits():
    bare = {"name": "gateway", "image": "nginx@sha256:" + "b" * 64}
    messages = check("kubernetes-requests-and-limits", res(DEPLOYMENT, deployment(container(), bare)))
    assert len(messages) == 2 and all("containers[1] (gateway)" in m for m in messages), messages


def test_aci_containers_are_not_kubernetes():
    assert check("kubernetes-requests-and-limits", res(ACI, {"containers": [{"name": "x"}]})) == []


# -- required-tags -------------------------------------------------------------------------------

def test_shared_resource_with_environment_passes():
    assert check("required-tags", res(REGISTRY, {"tags": {"environment": "dev"}})) == []


def test_service_resource_without_model_version_fails():
    tags = {k: v for k, v in SERVICE_ON.items() if k != "model-version"}
    messages = check("required-tags", res(ACI, {"tags": tags}, "web"))
    assert messages == [f"web ({ACI}) is missing tags: model-version"], messages


def test_resource_without_tags_fails():
    messages = check("required-tags", res(REGISTRY, {}, "registry"))
    assert messages == [f"registry ({REGISTRY}) is missing tags: environment"], messages


def test_types_azure_cannot_tag_are_skipped():
    assert check("required-tags", res("azure-native:storage:Blob", {}), res(DEPLOYMENT, {})) == []


def test_the_projects_own_hpa_with_a_bad_utilization_fails(tmp_path):
    """The rendered HPAs scale on `containerResource` (the scorer's CPU): the policy must read it
    (issue 9 item 25) - checked on the prod stack's own synthesized HPA, mutated."""
    import copy

    from tests.harness import synth

    hpa = synth("prod", tmp_path).of_type(HPA)[0]
    props = copy.deepcopy(hpa["inputs"])
    metrics = props["spec"]["metrics"]
    assert any("containerResource" in m for m in metrics), "the project's HPA scales on containerResource"
    assert check("autoscale-bounds", res(HPA, props, name=hpa["name"])) == [], "the rendered HPA passes as is"
    for m in metrics:
        m["containerResource"]["target"]["averageUtilization"] = 150
    assert check("autoscale-bounds", res(HPA, props, name=hpa["name"])) == [
        f"{hpa['name']} metrics[0].containerResource: averageUtilization (150) must be within 1-100 (percent)"]
