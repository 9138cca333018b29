"""AksCluster: the guide's 12-vCPU rule (config and attach), create settings, AcrPull, provider."""
from __future__ import annotations

import re

import pytest
from mldeploy.plan.cluster_check import NodePool, check_capacity, check_version
from mldeploy.config import ConfigError
from mldeploy.plan.vm_sizes import known_vcpus
from tests.harness import stack_values, synth


def _with_cluster(cluster: dict):
    values, secrets = stack_values("prod")
    values["mldeploy:clusters"] = {"prod": cluster}
    return values, secrets


def _refused(tmp_path, cluster: dict) -> str:
    values, secrets = _with_cluster(cluster)
    with pytest.raises(ConfigError) as err:
        synth("prod", tmp_path, values=values, secret_keys=secrets)
    return str(err.value)


def test_small_cluster_is_refused_with_the_arithmetic(tmp_path):
    msg = _refused(tmp_path, {"vmSize": "Standard_D2s_v3", "agentCount": 3})
    assert "mldeploy:clusters.prod" in msg and "3 × Standard_D2s_v3 (2 vCPU) = 6 < 12" in msg, msg


def test_unknown_vm_size_asks_for_vcpus_per_node(tmp_path):
    msg = _refused(tmp_path, {"vmSize": "Standard_Z9_v9", "agentCount": 3})
    assert "unknown VM size 'Standard_Z9_v9'" in msg and "vcpusPerNode" in msg, msg


def test_vcpus_per_node_makes_an_unlisted_size_usable(tmp_path):
    values, secrets = _with_cluster({"vmSize": "Standard_Z9_v9", "agentCount": 2, "vcpusPerNode": 8})
    result = synth("prod", tmp_path, values=values, secret_keys=secrets)
    pool = result.one("azure-native:containerservice:ManagedCluster")["inputs"]["agentPoolProfiles"][0]
    assert pool["vmSize"] == "Standard_Z9_v9" and pool["count"] == 2


def test_create_only_keys_are_refused_with_attach(tmp_path):
    msg = _refused(tmp_path, {"vmSize": "Standard_D4s_v5", "attach": {"resourceGroup": "rg", "name": "aks"}})
    assert "vmSize applies only to a created cluster" in msg, msg


def test_vm_size_table_is_case_insensitive_and_never_guesses():
    assert known_vcpus("standard_d3_v2") == 4
    assert known_vcpus("Standard_D4s_v5") == 4
    assert known_vcpus("Standard_D5s_v5") is None, "a size not in the table must not be derived from its name"


def test_pool_sum_shows_every_pool():
    with pytest.raises(ConfigError, match=r"1 × Standard_D2s_v3 \(2 vCPU\) = 2 \+ 2 × Standard_D4s_v5 \(4 vCPU\) = 8 → 10 < 12"):
        check_capacity([NodePool("a", "Standard_D2s_v3", 1), NodePool("b", "Standard_D4s_v5", 2)], None, "k")


def test_version_check():
    check_version("1.31.2", "1.30", "k")
    with pytest.raises(ConfigError, match="runs Kubernetes 1.29.9, older than the minimum 1.30"):
        check_version("1.29.9", "1.30", "k")


def test_created_cluster_is_hardened(tmp_path):
    result = synth("prod", tmp_path)
    c = result.one("azure-native:containerservice:ManagedCluster")["inputs"]
    assert c["enableRBAC"] is True and c["disableLocalAccounts"] is True
    assert c["aadProfile"] == {"managed": True, "enableAzureRBAC": True}
    assert c["identity"]["type"] == "SystemAssigned"
    assert c["agentPoolProfiles"][0]["mode"] == "System"
    assert c["kubernetesVersion"] == "1.35"
    assert c["networkProfile"]["networkPolicy"] == "azure", "NetworkPolicies must be enforced"


def test_kubelet_identity_gets_acr_pull_on_the_workspace_registry(tmp_path):
    result = synth("prod", tmp_path)
    pulls = [r["inputs"] for r in result.of_type("azure-native:authorization:RoleAssignment")
             if r["name"].endswith("-kubelet-acr-pull")]
    assert len(pulls) == 1
    assert pulls[0]["roleDefinitionId"].endswith("7f951dda-4ed3-4680-a7ca-43fe172d538d"), "must be AcrPull"
    assert "/registries/" in pulls[0]["scope"].lower(), pulls[0]["scope"]
    assert pulls[0]["principalType"] == "ServicePrincipal"


def test_provider_gets_the_kubeconfig_as_a_secret(tmp_path):
    result = synth("prod", tmp_path)
    provider = result.one("pulumi:providers:kubernetes")["inputs"]
    # Masked where the mock's stand-in secret is (CA data); one not marked secret is a leak.
    assert "certificate-authority-data: [secret]" in provider["kubeconfig"], provider["kubeconfig"]
    assert "- --login\n      - azurecli" in provider["kubeconfig"] and "devicecode" not in provider["kubeconfig"]
    assert "[secret]" in result.outputs["services"]["diabetes"]["kubeconfig"]
    assert result.leaks == []


def _lookup(vm="Standard_D4s_v5", count=3, version="1.35.6", kubelet=True):
    return {"azure-native:containerservice:getManagedCluster": {
        "id": "/subscriptions/s/resourceGroups/rg-platform-aks/providers/Microsoft.ContainerService/managedClusters/aks",
        "name": "aks-platform-weu", "currentKubernetesVersion": version, "fqdn": "aks.hcp.westeurope.azmk8s.io",
        "agentPoolProfiles": [{"name": "system", "vmSize": vm, "count": count}],
        "identityProfile": {"kubeletidentity": {"objectId": "kubelet-oid"}} if kubelet else {},
    }}


def test_attach_uses_the_looked_up_cluster(tmp_path):
    result = synth("prod-attach", tmp_path, lookups=_lookup())
    assert not result.of_type("azure-native:containerservice:ManagedCluster"), "attach must not create a cluster"
    pull = [r["inputs"] for r in result.of_type("azure-native:authorization:RoleAssignment")
            if r["name"].endswith("-kubelet-acr-pull")][0]
    assert pull["principalId"] == "kubelet-oid"


@pytest.mark.parametrize("lookup, expected", [
    (_lookup(vm="Standard_D2s_v3", count=3), "3 × Standard_D2s_v3 (2 vCPU) = 6 < 12"),
    (_lookup(version="1.29.4"), "runs Kubernetes 1.29.4, older than the minimum 1.35"),
    (_lookup(vm="Standard_Q7"), "unknown VM size 'Standard_Q7'"),
    (_lookup(kubelet=False), "no kubelet managed identity"),
])
def test_attach_refuses_a_cluster_that_breaks_the_rules(tmp_path, lookup, expected):
    # Raised while the program runs (the lookup needs it), still one ConfigError naming file and key.
    with pytest.raises(ConfigError) as err:
        synth("prod-attach", tmp_path, lookups=lookup)
    msg = str(err.value)
    assert msg.startswith("stacks/Pulumi.prod-attach.yaml: mldeploy:clusters.shared.attach: "), msg
    assert expected in msg, msg


# -- the deployer's role assignment: principalType (issue 9 item 3) ---------------------------

def _deployer_assignment(result) -> dict:
    found = [r for r in result.of_type("azure-native:authorization:RoleAssignment")
             if r["name"].endswith("-deployer-cluster-admin")]
    assert len(found) == 1, [r["name"] for r in result.of_type("azure-native:authorization:RoleAssignment")]
    return found[0]["inputs"]


@pytest.mark.parametrize("env, expected", [
    ({}, "User"),                                            # `az login` as a person
    ({"ARM_CLIENT_ID": "0000-sp"}, "ServicePrincipal"),      # the deploy workflow (OIDC)
    ({"AZURE_CLIENT_ID": "0000-sp"}, "ServicePrincipal"),
])
def test_deployer_role_assignment_names_the_detected_principal_type(tmp_path, monkeypatch, env, expected):
    for name in ("ARM_CLIENT_ID", "AZURE_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    inputs = _deployer_assignment(synth("prod", tmp_path))
    assert inputs.get("principalType") == expected, f"deployer role assignment: {inputs.get('principalType')!r}"


@pytest.mark.parametrize("configured", ["User", "ServicePrincipal"])
def test_configured_principal_type_wins_over_detection(tmp_path, monkeypatch, configured):
    monkeypatch.setenv("ARM_CLIENT_ID", "0000-sp")
    values, keys = stack_values("prod")
    values["mldeploy:deployerPrincipalType"] = configured
    inputs = _deployer_assignment(synth("prod", tmp_path, values, keys))
    assert inputs["principalType"] == configured


def test_unknown_principal_type_is_a_config_error(tmp_path):
    values, keys = stack_values("prod")
    values["mldeploy:deployerPrincipalType"] = "Robot"
    with pytest.raises(ConfigError) as err:
        synth("prod", tmp_path, values, keys)
    assert "mldeploy:deployerPrincipalType" in str(err.value), str(err.value)


# -- AksCluster unit-tested with a plan: plan_cluster's ClusterPlan in, the registered resources out --

MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
K8S_PROVIDER = "pulumi:providers:kubernetes"
UNIT_REGISTRY = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-unit/providers/"
                 "Microsoft.ContainerRegistry/registries/crunit")


def _unit(cluster: dict, *, azure_ml_attached: bool = False, attached=None, principal_type: str = "User",
          stack: str = "unit"):
    import pulumi

    from mldeploy.components.aks_cluster import AksCluster
    from mldeploy.config.cluster import ClusterSettings
    from mldeploy.plan.cluster import plan_cluster
    from tests.components.unit import declare

    plan = plan_cluster("c1", ClusterSettings.model_validate(cluster), stack=stack, azure_ml_attached=azure_ml_attached)
    seen = {}

    def build():
        c = AksCluster("aks-c1", plan=plan, location="westeurope", resource_group_name="rg-unit",
                       registry_id=UNIT_REGISTRY, tags={"environment": "unit"}, attached=attached,
                       deployer_principal_type=principal_type)
        seen["node_count"] = c.node_count
        return pulumi.Output.all(c.cluster_name, c.kubeconfig).apply(
            lambda v: seen.update(cluster_name=v[0], kubeconfig=v[1]))

    return plan, declare(build), seen


def _assignments(declared) -> dict[str, dict]:
    return {r["name"]: r["inputs"] for r in declared.of_type(ROLE_ASSIGNMENT)}


def test_unit_a_created_cluster_is_the_plans_name_version_tier_and_node_pool():
    plan, declared, seen = _unit({"vmSize": "Standard_D8s_v5", "agentCount": 4, "kubernetesVersion": "1.34",
                                  "tier": "Premium", "longTermSupport": True, "networkPolicy": "calico"})
    c = declared.one(MANAGED_CLUSTER)["inputs"]
    create = plan.create
    assert (c["resourceName"], c["dnsPrefix"]) == (create.name, create.name) == ("aks-unit-c1", "aks-unit-c1"), c
    assert c["kubernetesVersion"] == create.kubernetes_version == "1.34"
    assert c["sku"] == {"name": "Base", "tier": "Premium"}, c["sku"]
    assert c["supportPlan"] == "AKSLongTermSupport", "longTermSupport in the plan must reach the cluster"
    [pool] = c["agentPoolProfiles"]
    assert (pool["name"], pool["mode"], pool["vmSize"], pool["count"]) == ("system", "System", "Standard_D8s_v5", 4), pool
    assert c["networkProfile"]["networkPolicy"] == "calico", c["networkProfile"]
    assert (c["location"], c["resourceGroupName"], c["tags"]) == ("westeurope", "rg-unit", {"environment": "unit"})
    assert seen["node_count"] == 4 and seen["cluster_name"] == "aks-unit-c1"


# AKS refuses a dnsPrefix outside 1-54 letters, digits and hyphens (plan/naming.py aks_dns_prefix); a cluster
# name may hold '_' (a Pulumi stack name's) and run to 63 characters.
DNS_PREFIX = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,52}[A-Za-z0-9])?$")


@pytest.mark.parametrize("stack", ["dev_eu.2", "s" * 60, "team_" + "x" * 50 + "_"])
def test_unit_a_created_clusters_dns_prefix_is_one_aks_accepts_whatever_its_name(stack):
    plan, declared, _ = _unit({}, stack=stack)
    c = declared.one(MANAGED_CLUSTER)["inputs"]
    assert c["resourceName"] == plan.create.name, c["resourceName"]
    assert DNS_PREFIX.match(c["dnsPrefix"]), \
        f"stack {stack!r}: dnsPrefix {c['dnsPrefix']!r} ({len(c['dnsPrefix'])} chars) is refused by AKS"


def test_unit_the_plans_node_resource_group_reaches_the_cluster():
    import pulumi

    from mldeploy.components.aks_cluster import AksCluster
    from mldeploy.config.cluster import ClusterSettings
    from mldeploy.plan.cluster import plan_cluster
    from tests.components.unit import declare

    group = "rg-" + "platform-" * 8
    plan = plan_cluster("c1", ClusterSettings.model_validate({}), stack="unit", resource_group=group, location="westeurope")
    declared = declare(lambda: pulumi.Output.from_input(AksCluster(
        "aks-c1", plan=plan, location="westeurope", resource_group_name=group, registry_id=UNIT_REGISTRY,
        tags={}).cluster_name))
    c = declared.one(MANAGED_CLUSTER)["inputs"]
    assert c["nodeResourceGroup"] == plan.create.node_resource_group and len(c["nodeResourceGroup"]) <= 80, c
    _, default, _ = _unit({})
    assert "nodeResourceGroup" not in default.one(MANAGED_CLUSTER)["inputs"], "a default that fits is AKS's own"


def test_unit_local_accounts_stay_off_unless_the_plan_keeps_them_for_azure_ml():
    _, plain, _ = _unit({})
    assert plain.one(MANAGED_CLUSTER)["inputs"]["disableLocalAccounts"] is True
    _, for_azure_ml, _ = _unit({}, azure_ml_attached=True)
    assert for_azure_ml.one(MANAGED_CLUSTER)["inputs"]["disableLocalAccounts"] is False, \
        "an Azure ML Kubernetes compute does not support AKS with local accounts disabled (plan/cluster.py)"


def test_unit_the_kubelet_pulls_from_the_given_registry_and_the_deployer_administers_the_cluster():
    _, declared, _ = _unit({}, principal_type="ServicePrincipal")
    cluster = declared.one(MANAGED_CLUSTER)
    pulls = _assignments(declared)
    pull, admin = pulls["aks-c1-kubelet-acr-pull"], pulls["aks-c1-deployer-cluster-admin"]
    assert pull["scope"] == UNIT_REGISTRY, "AcrPull on the workspace registry the component was given"
    assert pull["roleDefinitionId"].endswith("/7f951dda-4ed3-4680-a7ca-43fe172d538d"), "must be AcrPull"
    assert pull["principalId"] == cluster["outputs"]["identityProfile"]["kubeletidentity"]["objectId"], \
        "AcrPull goes to the created cluster's own kubelet identity"
    assert admin["roleDefinitionId"].endswith("/b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"), "AKS RBAC Cluster Admin"
    assert admin["principalType"] == "ServicePrincipal", "the deployer's principal type as given (ARM checks it)"


def test_unit_the_provider_logs_in_the_plans_way_with_a_secret_kubeconfig():
    plan, declared, seen = _unit({"kubeloginMode": "workloadidentity"})
    provider = declared.one(K8S_PROVIDER)
    assert "kubeconfig" in provider["secret_inputs"], "the kubeconfig must reach the provider as a secret"
    assert plan.kubelogin_mode == "workloadidentity"
    assert "- --login\n      - workloadidentity" in seen["kubeconfig"], seen["kubeconfig"]
    assert "devicecode" not in seen["kubeconfig"], "AKS's interactive default would wait for a person"
    assert provider["inputs"]["enableServerSideApply"] == "true", provider["inputs"]


def test_unit_an_attached_cluster_is_not_created_and_its_kubelet_gets_acr_pull():
    from mldeploy.components.aks_cluster import AttachedCluster

    found = AttachedCluster(name="aks-platform", resource_group="rg-platform", kubelet_object_id="kubelet-oid",
                            id="/subscriptions/s/resourceGroups/rg-platform/providers/Microsoft.ContainerService/"
                               "managedClusters/aks-platform",
                            fqdn="aks-platform.hcp.westeurope.azmk8s.io", kubernetes_version="1.35.6", node_count=5)
    plan, declared, seen = _unit({"attach": {"resourceGroup": "rg-platform", "name": "aks-platform"}}, attached=found)
    assert plan.create is None
    assert declared.of_type(MANAGED_CLUSTER) == [], "an attached cluster must not be created"
    assignments = _assignments(declared)
    assert set(assignments) == {"aks-c1-kubelet-acr-pull"}, "no deployer role on a cluster mldeploy does not own"
    assert assignments["aks-c1-kubelet-acr-pull"]["principalId"] == "kubelet-oid"
    assert (seen["cluster_name"], seen["node_count"]) == ("aks-platform", 5)
