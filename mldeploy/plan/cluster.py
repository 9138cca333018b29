"""Decide one entry of `clusters` as AksCluster declares it: the created cluster's name, size,
version and tier, or nothing for an attached cluster (the program looks that one up and checks
it: mldeploy/targets/aks/program.py); either way how `pulumi up` logs in to it."""
from __future__ import annotations

from dataclasses import dataclass

from mldeploy.config.cluster import ClusterSettings
from mldeploy.plan import naming

# The node pool a created cluster gets (components/aks_cluster.py): a user pool may not reuse its name.
SYSTEM_POOL = "system"


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


def plan_cluster(name: str, s: ClusterSettings, *, stack: str, azure_ml_attached: bool = False) -> ClusterPlan:
    """`azure_ml_attached`: a kubernetes-endpoint uses the cluster (plan/kubernetes_compute.py)."""
    create = None if s.attach is not None else CreatedCluster(
        name=cluster_name(stack, name), kubernetes_version=s.kubernetes_version, tier=s.tier,
        long_term_support=s.long_term_support, vm_size=s.vm_size, agent_count=s.agent_count,
        network_policy=s.network_policy, local_accounts=azure_ml_attached)
    return ClusterPlan(kubelogin_mode=s.kubelogin_mode, kubelogin_identity=s.kubelogin_identity, create=create)
