"""The program step of `target: kubernetes-endpoint`: the Azure ML extension and the attached
compute of the endpoint's cluster (once per cluster and run), then the online endpoint on it
(mldeploy/targets/online_endpoint/program.py)."""
from __future__ import annotations

import pulumi

from mldeploy.azure.arm import arm_part
from mldeploy.components.kubernetes_compute import KubernetesCompute
from mldeploy.plan.endpoint import kubernetes_compute_name
from mldeploy.plan.kubernetes_compute import extension_settings
from mldeploy.plan.tags import resource_tags
from mldeploy.targets.aks.program import cluster_for
from mldeploy.targets.foundation import Foundation, ServiceOutputs, given_tls
from mldeploy.targets.kubernetes_endpoint.instance_types import instance_types
from mldeploy.targets.kubernetes_endpoint.plan import cluster_endpoints, router_options
from mldeploy.targets.kubernetes_endpoint.settings import KubernetesEndpointSettings
from mldeploy.targets.online_endpoint.program import deploy_endpoint


def deploy(name: str, service: KubernetesEndpointSettings, f: Foundation) -> ServiceOutputs:
    return deploy_endpoint(name, service, f, compute=_kubernetes_compute(service.cluster, f))


def _kubernetes_compute(cluster_key: str, f: Foundation) -> KubernetesCompute:
    computes = f.run.computes  # one KubernetesCompute per cluster and program run
    if cluster_key in computes:
        return computes[cluster_key]
    endpoints = [s for _, s in cluster_endpoints(f.settings, cluster_key)]
    first = endpoints[0]  # they agree on the extension's settings: checked at load (plan.py check_stack)
    cluster = cluster_for(cluster_key, f)
    settings = extension_settings(router_options(first), cluster_id=cluster.cluster_id,
                                  cluster_name=cluster.cluster_name, location=f.settings.location,
                                  node_count=cluster.node_count, cloud=f.settings.cloud)
    computes[cluster_key] = KubernetesCompute(
        f"k8s-compute-{cluster_key}", cluster_id=cluster.cluster_id, cluster_name=cluster.cluster_name,
        cluster_resource_group=pulumi.Output.from_input(cluster.cluster_id).apply(arm_part("resourceGroups")),
        location=f.settings.location, workspace_resource_group=f.registry.resource_group_name,
        workspace_name=f.registry.workspace_name, compute_name=kubernetes_compute_name(cluster_key),
        namespace=first.namespace, instance_types=instance_types(endpoints), settings=settings,
        tls=given_tls(first), provider=cluster.provider, opts=pulumi.ResourceOptions(depends_on=[cluster]),
        # Shared by the cluster's endpoints: stack tags only, not one service's markers.
        tags={**resource_tags(f.settings.stack, f.settings.tags, production=f.settings.production),
              "mldeploy-cluster": cluster_key})
    return computes[cluster_key]


