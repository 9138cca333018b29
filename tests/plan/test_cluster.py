"""plan/cluster.py: one `clusters` entry as AksCluster declares it (pure, no mocks)."""
from __future__ import annotations

from mldeploy.config.cluster import ClusterSettings
from mldeploy.plan.cluster import cluster_name, plan_cluster


def _plan(**cluster):
    return plan_cluster("blue", ClusterSettings.model_validate(cluster), stack="dev")


def test_a_created_cluster_is_named_from_stack_and_entry():
    assert _plan().create.name == "aks-dev-blue", "clusters.blue: the created cluster's ARM name"


def test_a_cluster_name_fits_63_characters():
    assert len(cluster_name("s" * 40, "n" * 40)) == 63, "AKS names are at most 63 characters"


def test_a_created_cluster_takes_the_configured_pool():
    create = _plan(vmSize="Standard_D4s_v5", agentCount=4).create
    assert (create.vm_size, create.agent_count) == ("Standard_D4s_v5", 4), "clusters.blue.vmSize and agentCount"


def test_an_attached_cluster_has_nothing_to_create():
    assert _plan(attach={"resourceGroup": "rg", "name": "aks"}).create is None, \
        "clusters.blue.attach: the cluster exists, nothing is created"


def test_the_login_mode_is_planned_for_an_attached_cluster_too():
    plan = _plan(attach={"resourceGroup": "rg", "name": "aks"}, kubeloginMode="workloadidentity")
    assert plan.kubelogin_mode == "workloadidentity", "clusters.blue.kubeloginMode"


def test_only_a_cluster_azure_ml_attaches_keeps_local_accounts():
    from mldeploy.config.cluster import ClusterSettings
    from mldeploy.plan.cluster import plan_cluster

    s = ClusterSettings.model_validate({"vmSize": "Standard_D4s_v5", "agentCount": 3})
    assert plan_cluster("c", s, stack="x").create.local_accounts is False, "disableLocalAccounts by default"
    assert plan_cluster("c", s, stack="x", azure_ml_attached=True).create.local_accounts is True, \
        "Azure ML does not support AKS without local accounts"


def test_a_node_resource_group_over_80_characters_gets_a_name_aks_accepts():
    """AKS names the nodes' group MC_<group>_<cluster>_<location> and refuses one over 80 characters."""
    group = "rg-" + "platform-" * 8  # 75 characters, a valid resource group name
    s = ClusterSettings.model_validate({})
    create = plan_cluster("blue", s, stack="prod", resource_group=group, location="westeurope").create
    default = f"MC_{group}_{create.name}_westeurope"
    assert len(default) > 80, default
    assert create.node_resource_group is not None and len(create.node_resource_group) <= 80, create.node_resource_group
    assert create.node_resource_group.startswith("MC_") and create.node_resource_group.endswith(create.name)


def test_a_node_resource_group_that_fits_stays_aks_default():
    # nodeResourceGroup is create-only: every cluster whose default name fits keeps it (no replacement).
    create = plan_cluster("blue", ClusterSettings.model_validate({}), stack="prod", resource_group="rg-mldeploy-prod",
                          location="westeurope").create
    assert create.node_resource_group is None
