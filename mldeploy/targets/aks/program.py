"""Target `aks`: the production service on a created or attached AKS cluster.

Clusters are declared once per stack however many services use them. Everything that can be
decided without Azure is decided (and refused with a ConfigError) before the first AKS
resource is declared; an attached cluster is checked on its looked-up size and version.
"""
from __future__ import annotations

from typing import Sequence

import pulumi
from pulumi_azure_native import containerservice as cs, dns, storage

from mldeploy.components.aks_cluster import AksCluster, AttachedCluster
from mldeploy.components.aks_service import AksService, ModelDataSink, Telemetry
from mldeploy import PROJECT
from mldeploy.plan.clouds import storage_suffix
from mldeploy.plan.aks import ImageFacts, ServicePlan
from mldeploy.plan.batching import service_load
from mldeploy.plan.cluster import plan_cluster
from mldeploy.plan.kubernetes_compute import kubernetes_endpoint_clusters
from mldeploy.plan.cluster_check import NodePool, check_capacity, check_version
from mldeploy.plan.workload import Placement
from mldeploy.config.cluster import ClusterSettings
from mldeploy.targets.aks.plan import plan_service
from mldeploy.targets.aks.settings import AksServiceSettings
from mldeploy.config.errors import ConfigError
from mldeploy.azure.arm import arm_part
from mldeploy.azure.deployer import deployer_principal_type
from mldeploy.targets.foundation import Foundation, ServiceOutputs, given_keys, given_tls
from mldeploy.targets.mirrors import mirrored
from mldeploy.plan.tags import resource_tags
from mldeploy.contract import workspace_blob_container


def attached_cluster(name: str, settings: ClusterSettings, *, azure_ml: bool = False) -> AttachedCluster:
    """Look the existing cluster up and apply the guide's rules to what Azure reports; `azure_ml`:
    an Azure ML Kubernetes compute will attach it (plan/kubernetes_compute.py)."""
    key = f"{PROJECT}:clusters.{name}.attach"
    a = settings.attach
    found = cs.get_managed_cluster(resource_group_name=a.resource_group, resource_name=a.name)
    what = f"attached cluster {a.resource_group}/{a.name}"
    pools = [NodePool(p.name, p.vm_size, p.count or 0) for p in (found.agent_pool_profiles or [])]
    check_capacity(pools, settings.vcpus_per_node, key, what=what)
    check_version(found.current_kubernetes_version or found.kubernetes_version,
                  settings.min_kubernetes_version, key, what=what)
    if azure_ml and found.disable_local_accounts:
        # Not refused: Azure ML may reach it through AKS Trusted Access (Azure/AML-Kubernetes
        # docs/azureml-aks-ta-support.md); the product documentation lists it as unsupported.
        pulumi.log.warn(f"{key}: the {what} has local accounts disabled, which Azure ML documents as not "
                        "supported for a Kubernetes compute (how-to-deploy-kubernetes-extension.md, "
                        "Limitations); the attach may fail")
    kubelet = (found.identity_profile or {}).get("kubeletidentity")
    if kubelet is None or not kubelet.object_id:
        raise ConfigError(key, f"the {what} has no kubelet managed identity, so it cannot pull from "
                               "the workspace registry with AcrPull; use a managed-identity cluster")
    return AttachedCluster(name=found.name or a.name, resource_group=a.resource_group, id=found.id,
                           kubelet_object_id=kubelet.object_id, fqdn=found.fqdn or "",
                           kubernetes_version=found.current_kubernetes_version or "",
                           node_count=sum(p.count for p in pools))


def cluster_for(name: str, f: Foundation) -> AksCluster:
    """The stack's AksCluster of that name, declared once however many services use it."""
    clusters = f.run.clusters
    if name not in clusters:
        settings = f.settings.clusters[name]
        azure_ml = name in kubernetes_endpoint_clusters(f.settings)
        attached = attached_cluster(name, settings, azure_ml=azure_ml) if settings.attach else None
        clusters[name] = AksCluster(
            f"aks-{name}", plan=plan_cluster(name, settings, stack=f.settings.stack, azure_ml_attached=azure_ml,
                                             resource_group=f.settings.resource_group_name, location=f.settings.location),
            location=f.settings.location,
            resource_group_name=f.resource_group_name, registry_id=f.registry.registry_id, attached=attached,
            deployer_principal_type=deployer_principal_type(f.settings.deployer_principal_type),
            role_propagation_timeout=f.settings.role_propagation_timeout_seconds,
            # Shared by services: stack tags only, not the deploying service's markers.
            tags={**resource_tags(f.settings.stack, f.settings.tags, production=f.settings.production),
                  "mldeploy-cluster": name},
        )
    return clusters[name]


def deploy_aks(name: str, service: AksServiceSettings, f: Foundation, *, placement: Placement = Placement(),
               pods_wait_for: Sequence[pulumi.Resource] = ()) -> ServiceOutputs:
    """The service on its cluster; an FPGA service (mldeploy/targets/fpga/program.py) adds where its pods run and
    the node pool they wait for."""
    images = {n: ImageFacts(ref=f.images[n].repo_digest, tag=f.contexts[n].tag, models=f.contexts[n].models,
                            env=tuple(f.settings.images[n].environment_variables.items()))
              for n in f.images}
    s = f.settings
    plan = plan_service(name, service, stack=s.stack, production=s.production, location=s.location, cloud=s.cloud,
                        resource_group=s.resource_group_name, images=images,
                        workspace_name=f.registry.workspace_name,
                        sidecar_ref=lambda source: mirrored(source, f), placement=placement,
                        load=service_load(s.images, service))

    cluster = cluster_for(service.cluster, f)
    keys = given_keys(service)
    tls = given_tls(service)
    telemetry = None
    if service.app_insights_enabled or service.collect_model_data:
        telemetry = Telemetry(f.registry.app_insights_instrumentation_key, f.registry.app_insights_connection_string)
    model_data = _model_data_sink(f) if service.collect_model_data else None

    svc = AksService(
        name, plan=plan.workload, provider=cluster.provider, gateways=plan.gateways, host=plan.host,
        keys=keys, tls=tls, telemetry=telemetry, model_data=model_data, pods_wait_for=pods_wait_for,
        opts=pulumi.ResourceOptions(depends_on=[cluster]),
    )
    if service.dns_zone is not None:
        _host_record(name, service, plan, svc)
    return ServiceOutputs(
        scoring_uri=svc.scoring_uri, swagger_uri=svc.swagger_uri,
        primary_key=svc.primary_key, secondary_key=svc.secondary_key,
        extra={"cluster": cluster.cluster_name, "namespace": plan.workload.namespace,
               "kubeconfig": cluster.kubeconfig,
               "trafficPercent": {v.name: v.weight for v in plan.workload.variants}},
    )


def _host_record(name: str, service: AksServiceSettings, plan: ServicePlan, svc: AksService) -> None:
    """hostName in the user's Azure DNS zone: a CNAME to the load balancer's Azure name, so the
    name clients use (and the certificate is for) reaches the service after one `pulumi up`."""
    zone = service.dns_zone
    dns.RecordSet(
        f"{name}-host-name", record_type="CNAME", resource_group_name=zone.resource_group, zone_name=zone.name,
        relative_record_set_name=service.host_name.removesuffix("." + zone.name), ttl=300,
        cname_record={"cname": plan.load_balancer_host}, opts=pulumi.ResourceOptions(parent=svc))


def _model_data_sink(f: Foundation) -> ModelDataSink:
    """The workspace's default blob store (workspaceblobstore), as Azure ML's collector uses it."""
    r = f.registry
    account = r.storage_account_name
    group = r.storage_account_id.apply(arm_part("resourceGroups"))
    keys = storage.list_storage_account_keys_output(account_name=account, resource_group_name=group)
    suffix = storage_suffix(f.settings.cloud)
    conn = pulumi.Output.secret(pulumi.Output.all(account, keys.keys).apply(
        lambda a: f"DefaultEndpointsProtocol=https;AccountName={a[0]};AccountKey={_field(a[1][0], 'value')};"
                  f"EndpointSuffix={suffix}"))
    return ModelDataSink(connection_string=conn, container=r.workspace_id.apply(workspace_blob_container))


def _field(obj, name: str):
    # Invoke results arrive as typed objects or, lifted through an Output, as plain dicts.
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)
