"""AksCluster (guide: `AksCompute.provisioning_configuration` / "attach an existing cluster").

Created: one System node pool of `agentCount` x `vmSize`, a system-assigned managed identity,
Kubernetes RBAC with Entra ID (Azure RBAC; local accounts disabled unless the plan keeps them for
an Azure ML Kubernetes compute: mldeploy/plan/cluster.py), Azure CNI overlay with network
policies enforced, patch auto-upgrades. Attached: an existing cluster, already looked up and
checked by the caller. Either way: AcrPull on the workspace registry for the kubelet identity
(no registry admin user) and a `pulumi_kubernetes` Provider from the secret kubeconfig.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import authorization, containerservice as cs

from mldeploy.components.children import child_name, child_opts
from mldeploy.components.propagation import TIMEOUT_SECONDS, RolePropagation
from mldeploy.components.roles import role_definition_id
from mldeploy.azure.kubeconfig import with_login_mode
from mldeploy.contract import ACR_PULL_ROLE_ID
from mldeploy.plan.cluster import SYSTEM_POOL, ClusterPlan, CreatedCluster

AKS_RBAC_CLUSTER_ADMIN_ROLE = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"


@dataclass(frozen=True)
class AttachedCluster:
    """What the caller looked up (and checked) about an existing cluster."""

    name: str
    resource_group: str
    id: str
    kubelet_object_id: str
    fqdn: str
    kubernetes_version: str
    node_count: int  # nodes over all pools, as looked up



class AksCluster(pulumi.ComponentResource):
    """An AKS cluster (created or attached) that can pull the workspace's images."""

    cluster_name: pulumi.Output[str]
    fqdn: pulumi.Output[str]
    kubernetes_version: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    """Secret. Entra ID exec format: `kubelogin` fetches the token in `kubeloginMode` (default: `az login`)."""
    provider: k8s.Provider
    cluster_id: pulumi.Output[str]
    """The cluster's ARM id (an Azure ML Kubernetes compute attaches it: mldeploy/targets/kubernetes_endpoint/program.py)."""
    node_count: int
    """Nodes over all pools (created: agentCount; attached: as looked up)."""

    def __init__(
        self,
        name: str,
        *,
        plan: ClusterPlan,
        location: str,
        resource_group_name: pulumi.Input[str],
        registry_id: pulumi.Input[str],
        tags: dict[str, str],
        deployer_principal_type: str = "User",
        attached: AttachedCluster | None = None,
        role_propagation_timeout: int = TIMEOUT_SECONDS,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mldeploy:aks:AksCluster", name, None, opts)
        if (plan.create is None) == (attached is None):
            raise ValueError(f"AksCluster {name}: a plan to create a cluster, or an attached cluster - exactly one")
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        if attached is None:
            rg: pulumi.Input[str] = resource_group_name
            kubelet, cluster_id, assignments = self._created_cluster(
                name, plan.create, location, resource_group_name, tags, client, deployer_principal_type)
        else:
            rg = attached.resource_group
            kubelet, cluster_id, assignments = self._attached_cluster(attached)
        propagated = self._kubelet_pull(name, registry_id, kubelet, client, assignments, role_propagation_timeout)
        self._kubernetes_provider(name, plan, rg, propagated)
        self.cluster_id = cluster_id
        self.node_count = plan.create.agent_count if attached is None else attached.node_count
        self.register_outputs({"clusterName": self.cluster_name, "fqdn": self.fqdn,
                               "kubernetesVersion": self.kubernetes_version, "kubeconfig": self.kubeconfig})

    def _created_cluster(self, name: str, s: CreatedCluster, location: str, resource_group_name: pulumi.Input[str],
                         tags: dict[str, str], client, deployer_principal_type: str,
                         ) -> tuple[pulumi.Output[str], pulumi.Output[str], list[pulumi.Resource]]:
        """The created cluster and the deployer's cluster-admin on it: (kubelet object id, cluster id,
        role assignments to await). Sets the cluster's name, fqdn and version outputs."""
        cluster = self._managed_cluster(name, s, location, resource_group_name, tags)
        self.cluster_name = cluster.name
        self.fqdn = cluster.fqdn
        self.kubernetes_version = cluster.current_kubernetes_version
        kubelet = cluster.identity_profile.apply(lambda p: (p or {})["kubeletidentity"].object_id)
        # The deployer (whoever runs `pulumi up`) may manage Kubernetes objects through Entra
        # ID: the provider below logs in with it (local accounts are off, or unused).
        admin = authorization.RoleAssignment(
            child_name(name, "deployer-cluster-admin"),
            scope=cluster.id,
            principal_id=client.object_id,
            # Must match the deployer (ARM: UnmatchedPrincipalType): see mldeploy/azure/deployer.py.
            principal_type=deployer_principal_type,
            role_definition_id=role_definition_id(client.subscription_id, AKS_RBAC_CLUSTER_ADMIN_ROLE),
            opts=child_opts(self, "deployer-cluster-admin"),
        )
        return kubelet, cluster.id, [admin]

    def _attached_cluster(self, attached: AttachedCluster,
                          ) -> tuple[pulumi.Output[str], pulumi.Output[str], list[pulumi.Resource]]:
        """The attached cluster as looked up: (kubelet object id, cluster id, no role assignment of its own).
        Sets the cluster's name, fqdn and version outputs."""
        self.cluster_name = pulumi.Output.from_input(attached.name)
        self.fqdn = pulumi.Output.from_input(attached.fqdn)
        self.kubernetes_version = pulumi.Output.from_input(attached.kubernetes_version)
        return pulumi.Output.from_input(attached.kubelet_object_id), pulumi.Output.from_input(attached.id), []

    def _kubelet_pull(self, name: str, registry_id: pulumi.Input[str], kubelet: pulumi.Output[str], client,
                      assignments: list[pulumi.Resource], role_propagation_timeout: int) -> RolePropagation:
        """AcrPull on the registry for the kubelet identity, and the wait for every role assignment."""
        pull = authorization.RoleAssignment(
            child_name(name, "kubelet-acr-pull"),
            scope=registry_id,
            principal_id=kubelet,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition_id(client.subscription_id, ACR_PULL_ROLE_ID),
            opts=child_opts(self, "kubelet-acr-pull"),
        )
        # Kubernetes objects wait until the deployer's cluster-admin (and the kubelet's AcrPull)
        # take effect: the provider every object on this cluster uses depends on the wait.
        return RolePropagation(child_name(name, "role-propagation"), [*assignments, pull], role_propagation_timeout,
                               opts=pulumi.ResourceOptions(parent=self))

    def _kubernetes_provider(self, name: str, plan: ClusterPlan, rg: pulumi.Input[str],
                             propagated: RolePropagation) -> None:
        """The secret kubeconfig (Entra ID exec, non-interactive login) and the Kubernetes provider built
        from it, after the role assignments took effect. Sets `kubeconfig` and `provider`."""
        creds = cs.list_managed_cluster_user_credentials_output(
            resource_group_name=rg,
            resource_name=self.cluster_name,
            format="exec",
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        # AKS hands out kubelogin's interactive device-code mode: switch it to the configured
        # non-interactive one, or every Kubernetes call of `pulumi up` waits for a person.
        self.kubeconfig = pulumi.Output.secret(creds.kubeconfigs.apply(
            lambda kcs: with_login_mode(base64.b64decode(kcs[0].value).decode(), plan.kubelogin_mode,
                                        plan.kubelogin_identity)))
        self.provider = k8s.Provider(
            child_name(name, "k8s"),
            kubeconfig=self.kubeconfig,
            # Objects are applied server-side, so a field another controller owns (the HPA's
            # replicas) is not fought over on every update.
            enable_server_side_apply=True,
            # A ConfigMap's new data is an update, not a replacement - except where the
            # ConfigMap is marked `immutable` (pulumi-kubernetes provider/pkg/provider/diff.go,
            # forceNewProperties; stable since 4.24, CHANGELOG). Only a canary's traffic
            # ConfigMap relies on it (components/aks_service.py); every other ConfigMap is immutable.
            enable_config_map_mutable=True,
            delete_unreachable=False,
            opts=child_opts(self, "k8s", depends_on=[propagated]),
        )

    def _managed_cluster(self, name: str, s: CreatedCluster, location, rg, tags) -> cs.ManagedCluster:
        """The AKS cluster the plan creates (settings in the module docstring)."""
        return cs.ManagedCluster(
            child_name(name, "cluster"),
            resource_name_=s.name,
            resource_group_name=rg,
            location=location,
            dns_prefix=s.dns_prefix,
            node_resource_group=s.node_resource_group,
            kubernetes_version=s.kubernetes_version,
            sku=cs.ManagedClusterSKUArgs(name="Base", tier=s.tier),
            # Long-term support: Premium tier plus this plan (AKS docs, long-term-support.md).
            support_plan=cs.KubernetesSupportPlan.AKS_LONG_TERM_SUPPORT if s.long_term_support else None,
            identity=cs.ManagedClusterIdentityArgs(type=cs.ResourceIdentityType.SYSTEM_ASSIGNED),
            enable_rbac=True,
            aad_profile=cs.ManagedClusterAADProfileArgs(managed=True, enable_azure_rbac=True),
            disable_local_accounts=not s.local_accounts,
            agent_pool_profiles=[cs.ManagedClusterAgentPoolProfileArgs(
                name=SYSTEM_POOL,
                mode=cs.AgentPoolMode.SYSTEM,
                vm_size=s.vm_size,
                count=s.agent_count,
                os_type=cs.OSType.LINUX,
                type=cs.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
                upgrade_settings=cs.AgentPoolUpgradeSettingsArgs(max_surge="33%"),
            )],
            network_profile=cs.ContainerServiceNetworkProfileArgs(
                network_plugin=cs.NetworkPlugin.AZURE,
                network_plugin_mode=cs.NetworkPluginMode.OVERLAY,
                network_policy=s.network_policy,
                load_balancer_sku=cs.LoadBalancerSku.STANDARD,
            ),
            auto_upgrade_profile=cs.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel=cs.UpgradeChannel.PATCH,
                node_os_upgrade_channel=cs.NodeOSUpgradeChannel.NODE_IMAGE,
            ),
            tags=tags,
            opts=child_opts(self, "cluster"),
        )
