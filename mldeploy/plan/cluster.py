"""Decide one entry of `clusters` as AksCluster declares it: the created cluster's name, size,
version and tier, or nothing for an attached cluster (the program looks that one up and checks
it: mldeploy/targets/aks/program.py); either way how `pulumi up` logs in to it."""
from __future__ import annotations

from dataclasses import dataclass

from mldeploy.config.cluster import ClusterSettings
from mldeploy.plan import naming

# The node pool a created cluster gets (components/aks_cluster.py): a user pool may not reuse its name.
SYSTEM_POOL = "system"
# AKS puts a created cluster's nodes in `MC_<resource group>_<cluster>_<location>` unless nodeResourceGroup
# names another group (containerservice aks/stable/2025-09-01 managedClusters.json, ManagedClusterProperties
# .nodeResourceGroup: "The name of the resource group containing agent pool nodes"), and refuses a name over
# 80 characters: "The length of the node resource group name is too long. The maximum length is 80 and the
# length of the value provided is 89. Please see https://aka.ms/aks-naming-rules" (the API's error, quoted in
# Azure-Terraform/terraform-azurerm-kubernetes#33 and rancher/rancher#21264).
NODE_RESOURCE_GROUP_MAX = 80


@dataclass(frozen=True)
class CreatedCluster:
    """A cluster to create: one System node pool of `agent_count` x `vm_size`."""

    name: str  # the ARM resource name
    kubernetes_version: str | None  # None: AKS's default
    tier: str  # "Free", "Standard" or "Premium"
    long_term_support: bool
    vm_size: str
    agent_count: int
    network_policy: str  # "azure" or "calico"
    # Off (disableLocalAccounts) unless an Azure ML Kubernetes compute attaches the cluster:
    # Azure ML does not support AKS with local accounts disabled (how-to-deploy-kubernetes-
    # extension.md, Limitations). AKS Trusted Access (Azure/AML-Kubernetes docs/azureml-aks-ta-
    # support.md) is the other route the sources name; not taken because the product
    # documentation still lists it as unsupported, the binding is one Azure ML itself creates
    # at attach ("verify that ... role binding is created") and only in the public cloud, and a
    # second binding declared here would be one more credential path the docs never describe.
    local_accounts: bool = False
    # None: AKS's own MC_<group>_<cluster>_<location>; else a name within the 80-character limit (node_resource_group).
    node_resource_group: str | None = None

    @property
    def dns_prefix(self) -> str:
        """The API server's DNS prefix: the name, as far as a prefix allows (plan/naming.py aks_dns_prefix)."""
        return naming.aks_dns_prefix(self.name)


@dataclass(frozen=True)
class ClusterPlan:
    """What AksCluster needs of one cluster entry; `create` is None for an attached cluster."""

    kubelogin_mode: str  # kubelogin `--login`: never the interactive device code
    create: CreatedCluster | None
    kubelogin_identity: str | None = None  # msi: a client id or a user-assigned identity's resource id


def cluster_name(stack: str, name: str) -> str:
    """The created cluster's ARM name: `aks-<stack>-<entry>`, within the 63-character limit."""
    return naming.aks_cluster(stack, name)


def node_resource_group(resource_group: str | None, cluster: str, location: str | None) -> str | None:
    """The created cluster's nodeResourceGroup: None (AKS's default name) whenever that default fits in 80
    characters, so no existing cluster changes (the property is create-only); else `MC_<8 hex>_<cluster>`,
    the hex from group, cluster and location (<= 75 characters, one per cluster and region)."""
    if resource_group is None or location is None:
        return None
    if len(f"MC_{resource_group}_{cluster}_{location}") <= NODE_RESOURCE_GROUP_MAX:
        return None
    return f"MC_{naming.hash_suffix(resource_group, cluster, location, length=8)}_{cluster}"


def plan_cluster(name: str, s: ClusterSettings, *, stack: str, azure_ml_attached: bool = False,
                 resource_group: str | None = None, location: str | None = None) -> ClusterPlan:
    """`azure_ml_attached`: a kubernetes-endpoint uses the cluster (plan/kubernetes_compute.py);
    `resource_group`, `location`: where the cluster is created (for its node resource group's name)."""
    cluster = cluster_name(stack, name)
    create = None if s.attach is not None else CreatedCluster(
        name=cluster, kubernetes_version=s.kubernetes_version, tier=s.tier,
        long_term_support=s.long_term_support, vm_size=s.vm_size, agent_count=s.agent_count,
        network_policy=s.network_policy, local_accounts=azure_ml_attached,
        node_resource_group=node_resource_group(resource_group, cluster, location))
    return ClusterPlan(kubelogin_mode=s.kubelogin_mode, kubelogin_identity=s.kubelogin_identity, create=create)
