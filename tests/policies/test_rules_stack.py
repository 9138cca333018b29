"""The stack-level policies (policies/rules.py): ACI outside production, cluster vCPUs,
auth and TLS in production, images by digest in production. Pass, fail and missing-property
cases for each."""
from __future__ import annotations

from tests.policies.helpers import (ACI, AGENT_POOL, CLUSTER, DEPLOYMENT, RESOURCE_GROUP, SERVICE_ON, check,
                                    container, deployment, res)

ACI_PROPS = {"containers": [container()], "tags": dict(SERVICE_ON)}


# -- aci-not-in-production ----------------------------------------------------------------------

def test_aci_outside_production_passes():
    assert check("aci-not-in-production", res(ACI, ACI_PROPS, "web", stack="dev")) == []


def test_aci_in_a_production_named_stack_fails():
    messages = check("aci-not-in-production", res(ACI, ACI_PROPS, "web", stack="prod"))
    assert len(messages) == 1 and "not for production" in messages[0] and "'prod'" in messages[0], messages


def test_aci_in_a_stack_marked_production_by_the_program_fails():
    marked = res(RESOURCE_GROUP, {"tags": {"mldeploy-production": "true"}}, "resource-group", stack="live")
    messages = check("aci-not-in-production", marked, res(ACI, ACI_PROPS, "web", stack="live"))
    assert len(messages) == 1 and "web" in messages[0], messages


def test_aci_without_tags_counts_as_production_only_by_configured_stack_name():
    bare = {"containers": [container()]}
    assert check("aci-not-in-production", res(ACI, bare, "web", stack="live")) == []
    messages = check("aci-not-in-production", res(ACI, bare, "web", stack="live"),
                     config={"productionStacks": ["live"]})
    assert len(messages) == 1, messages


# -- aks-minimum-vcpus -----------------------------------------------------------------------------

def _cluster(*pools, name="aks"):
    return res(CLUSTER, {"resourceName": name, "agentPoolProfiles": list(pools)}, name)


def test_cluster_of_3_by_4_vcpus_passes():
    assert check("aks-minimum-vcpus", _cluster({"name": "system", "count": 3, "vmSize": "Standard_D3_v2"})) == []


def test_cluster_of_2_by_2_vcpus_fails_with_the_arithmetic():
    messages = check("aks-minimum-vcpus", _cluster({"name": "system", "count": 2, "vmSize": "Standard_D2_v2"}))
    assert len(messages) == 1, messages
    assert "2 (count) × Standard_D2_v2 (2 vCPU) = 4 vCPUs < 12" in messages[0], messages[0]


def test_separate_agent_pools_count_towards_their_cluster():
    system = _cluster({"name": "system", "count": 1, "vmSize": "Standard_D4s_v3"})
    user = res(AGENT_POOL, {"resourceName": "aks", "count": 2, "vmSize": "Standard_D4s_v3"}, "scoring")
    assert check("aks-minimum-vcpus", system) != []
    assert check("aks-minimum-vcpus", system, user) == []


def test_autoscaling_pool_counts_its_min_count():
    pool = {"name": "system", "count": 3, "vmSize": "Standard_D4s_v3", "enableAutoScaling": True,
            "minCount": 1, "maxCount": 5}
    messages = check("aks-minimum-vcpus", _cluster(pool))
    assert len(messages) == 1 and "1 (minCount)" in messages[0], messages


def test_pool_without_vm_size_is_reported_not_guessed():
    messages = check("aks-minimum-vcpus", _cluster({"name": "system", "count": 3}))
    assert len(messages) == 1 and "no vmSize" in messages[0], messages


def test_pool_without_count_uses_azures_default_of_one_node():
    messages = check("aks-minimum-vcpus", _cluster({"name": "system", "vmSize": "Standard_D4s_v3"}))
    assert len(messages) == 1 and "1 (count)" in messages[0], messages


def test_unknown_vm_size_needs_the_policy_setting():
    cluster = _cluster({"name": "system", "count": 3, "vmSize": "Standard_X4_v9"})
    messages = check("aks-minimum-vcpus", cluster)
    assert len(messages) == 1 and "vmSizeVcpus" in messages[0], messages
    assert check("aks-minimum-vcpus", cluster, config={"vmSizeVcpus": {"Standard_X4_v9": 4}}) == []


def test_cluster_without_pools_fails():
    messages = check("aks-minimum-vcpus", res(CLUSTER, {"resourceName": "aks"}, "aks"))
    assert len(messages) == 1 and "no node pools" in messages[0], messages


# -- production-auth-and-tls: the markers --------------------------------------------------------
# Markers on an Azure resource (a service's node pool), so only the declared intent is read here;
# tests/policies/test_auth_and_tls.py checks the gateway resources against it.

def _tagged(tags, stack="prod"):
    return res(AGENT_POOL, {"tags": tags}, "web-pool", stack=stack)


def test_production_service_declaring_auth_and_tls_passes():
    assert check("production-auth-and-tls", _tagged(SERVICE_ON)) == []


def test_production_service_with_auth_off_fails():
    messages = check("production-auth-and-tls", _tagged({**SERVICE_ON, "mldeploy-auth": "disabled"}))
    assert messages == ["service 'web' has authentication disabled in production stack 'prod': "
                        "set authEnabled: true with keys in secret config"], messages


def test_production_service_with_tls_off_fails():
    messages = check("production-auth-and-tls", _tagged({**SERVICE_ON, "mldeploy-tls": "disabled"}))
    assert len(messages) == 1 and "TLS disabled" in messages[0], messages


def test_auth_off_outside_production_passes():
    tags = {**SERVICE_ON, "mldeploy-auth": "disabled", "mldeploy-tls": "disabled"}
    assert check("production-auth-and-tls", _tagged(tags, stack="dev")) == []
    # Nor is a workload's gateway verified outside production.
    assert check("production-auth-and-tls", res(DEPLOYMENT, deployment(container(), labels=SERVICE_ON), "web")) == []


def test_production_service_missing_its_markers_is_reported():
    messages = check("production-auth-and-tls", _tagged({"mldeploy-service": "web"}))
    assert len(messages) == 2 and all("does not declare" in m for m in messages), messages


def test_production_workload_without_any_service_marker_is_reported():
    messages = check("production-auth-and-tls", res(DEPLOYMENT, deployment(container()), "web", stack="prod"))
    assert len(messages) == 1 and "cannot be checked" in messages[0], messages


# -- production-images-by-digest -------------------------------------------------------------------

def test_production_image_by_digest_passes():
    assert check("production-images-by-digest", res(DEPLOYMENT, deployment(container()), "web", stack="prod")) == []


def test_production_image_by_tag_fails():
    web = res(DEPLOYMENT, deployment(container(image="acr.azurecr.io/diabetes:1-abc")), "web", stack="prod")
    messages = check("production-images-by-digest", web)
    assert len(messages) == 1 and "by tag" in messages[0] and "@sha256" in messages[0], messages


def test_image_by_tag_outside_production_passes():
    web = res(DEPLOYMENT, deployment(container(image="acr.azurecr.io/diabetes:1-abc")), "web", stack="dev")
    assert check("production-images-by-digest", web) == []


def test_production_container_without_image_is_reported():
    bare = {"name": "scorer"}
    messages = check("production-images-by-digest", res(ACI, {"containers": [bare]}, "web", stack="prod"))
    assert len(messages) == 1 and "no image" in messages[0], messages
