"""A Kubernetes online endpoint's own rules and decisions: its load-time checks (namespace, one
Azure ML extension per cluster), the extension's router options, the endpoints of one cluster,
and what `synth` says about its clusters. The rules every online endpoint keeps, and its plan:
mldeploy/targets/online_endpoint/plan.py; the extension's settings: mldeploy/plan/kubernetes_compute.py.

maxConcurrentRequestsPerInstance: reference-yaml-deployment-kubernetes-online.md, RequestSettings:
default 1, "Do not change this setting from the default value unless instructed by Microsoft
Technical Support or a member of the Azure Machine Learning team."
"""
from __future__ import annotations

from typing import Any

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError
from mldeploy.plan.kubernetes_compute import RouterOptions, kubernetes_endpoint_clusters
from mldeploy.targets.aks.checks import SYSTEM_NAMESPACES
from mldeploy.targets.kubernetes_endpoint.settings import KubernetesEndpointSettings
from mldeploy.targets.online_endpoint import plan as endpoint_plan

KUBERNETES_DEFAULT_MAX_CONCURRENT = 1


def check(name: str, service: KubernetesEndpointSettings, stack: Any) -> None:
    """The family's rules, then the attached compute's namespace."""
    endpoint_plan.check(name, service, stack)
    # The attached compute's namespace may be `default` (Azure ML's own default when
    # attaching), never a kube-* system namespace nor one AKS add-ons own (targets/aks/checks.py).
    reserved = SYSTEM_NAMESPACES - {"default"}
    if service.namespace.startswith("kube-") or service.namespace in reserved:
        raise ConfigError(f"{PROJECT}:services.{name}.namespace",
                          f"namespace {service.namespace!r} is reserved for Kubernetes or AKS system components "
                          f"(kube-*, {', '.join(sorted(reserved))}): choose the namespace the endpoint's pods run in "
                          "(default: azureml)")
    _check_v1_namespace(name, service, stack)
    _check_ssl_cname_owner(name, service, stack)
    suffix, endpoint = service.endpoint_name_claim(name, stack.stack, stack.resource_group_name)
    for dep_name, dep in sorted(service.deployments.items()):
        # "For Kubernetes endpoint, the endpoint name plus deployment name must be 6-62 characters in total
        # length" (MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-manage-quotas.md, endpoint
        # and deployment names; no exception): each may be 32, together they may not.
        total = len(endpoint) + len(dep_name)
        if not 6 <= total <= 62:
            raise ConfigError(f"{PROJECT}:services.{name}.deployments.{dep_name}",
                              f"endpoint name {endpoint!r} ({len(endpoint)}{' from endpointName' if suffix else ', derived'}) "
                              f"plus deployment name {dep_name!r} ({len(dep_name)}) make {total} characters; on a "
                              "Kubernetes online endpoint the two together must be 6-62: shorten one")


# SDK v1's AksCompute runs its web services in `azureml-<workspace name>`: "When attaching Kubernetes compute,
# the namespace should not be the same as the AKSCompute's namespace. Otherwise, the online deployments on
# Kubernetes compute may conflict with the webservices on AKSCompute. The namespace for v1 compute follows the
# pattern: `azureml-<workspace-name>`" (Azure/AML-Kubernetes@b533ee43 docs/attach-compute-on-aks-v1-cluster.md,
# Limitations). Only an attached cluster can have been a v1 AksCompute (a cluster the stack creates is new), and
# which workspace attached it in v1 is not known here, so on an attached cluster the whole `azureml-` form is
# refused: besides the conflict, mldeploy creates (adopts) a compute namespace other than default/azureml and
# `pulumi destroy` deletes it (components/kubernetes_compute.py), v1's web services with it.
V1_AKS_NAMESPACE_PREFIX = "azureml-"


def _check_v1_namespace(name: str, service: KubernetesEndpointSettings, stack: Any) -> None:
    cluster = stack.clusters.get(service.cluster)
    if cluster is None or cluster.attach is None or not service.namespace.startswith(V1_AKS_NAMESPACE_PREFIX):
        return
    raise ConfigError(f"{PROJECT}:services.{name}.namespace",
                      f"namespace {service.namespace!r} on attached cluster {service.cluster!r} has the form of an SDK "
                      "v1 AKS compute's namespace (azureml-<workspace name>), where v1's web services run: Microsoft "
                      "says a Kubernetes compute must not share it (its deployments may conflict with v1's web "
                      "services), and mldeploy would adopt it and delete it on pulumi destroy: choose another "
                      "(default: azureml)")


def _check_ssl_cname_owner(name: str, service: KubernetesEndpointSettings, stack: Any) -> None:
    """The router's sslCname is the DNS name clients reach the cluster's endpoints by: the same name as
    another service's hostName or customDomain (config/references.py: one name reaches one service) would
    point one name at two places. The endpoints of one cluster share it (one router: check_stack)."""
    if service.ssl_cname is None:
        return
    for other, entry in sorted(stack.services.items()):
        claim = entry.host_name_claim()
        if claim is not None and claim[1].lower() == service.ssl_cname.lower():
            raise ConfigError(f"{PROJECT}:services.{name}.sslCname",
                              f"{service.ssl_cname} is also services.{other}.{claim[0]}; one name reaches one "
                              "service: give the inference router a name of its own")


def kubernetes_endpoints(stack: Any) -> list[tuple[str, KubernetesEndpointSettings]]:
    """The stack's Kubernetes online endpoints, by name."""
    return [(n, s) for n, s in sorted(stack.services.items()) if isinstance(s, KubernetesEndpointSettings)]


def cluster_endpoints(stack: Any, cluster: str) -> list[tuple[str, KubernetesEndpointSettings]]:
    """The kubernetes-endpoint services on `cluster`, by name."""
    return [(n, s) for n, s in kubernetes_endpoints(stack) if s.cluster == cluster]


# Azure ML's limits per Kubernetes compute (cluster), without exception: "Number of endpoints per cluster | 60",
# "Number of deployments per cluster | 100" (MicrosoftDocs/azure-ai-docs articles/machine-learning/
# how-to-manage-quotas.md, "Azure Machine Learning online endpoints and batch endpoints", read 2026-12-05).
MAX_ENDPOINTS_PER_CLUSTER = 60
MAX_DEPLOYMENTS_PER_CLUSTER = 100


def check_stack(stack: Any) -> None:
    """A cluster has one Azure ML extension (one KubernetesCompute): its endpoints share its settings, and
    it holds at most Azure ML's endpoints and deployments per cluster."""
    for cluster in sorted(kubernetes_endpoint_clusters(stack)):
        endpoints = cluster_endpoints(stack, cluster)
        deployments = sum(len(s.deployments) for _, s in endpoints)
        if len(endpoints) > MAX_ENDPOINTS_PER_CLUSTER or deployments > MAX_DEPLOYMENTS_PER_CLUSTER:
            raise ConfigError(f"{PROJECT}:services.{endpoints[-1][0]}",
                              f"cluster {cluster!r} would hold {len(endpoints)} kubernetes-endpoint services with "
                              f"{deployments} deployments; Azure ML takes at most {MAX_ENDPOINTS_PER_CLUSTER} endpoints "
                              f"and {MAX_DEPLOYMENTS_PER_CLUSTER} deployments per Kubernetes compute: spread them "
                              "over another cluster")
    first: dict[str, KubernetesEndpointSettings] = {}
    for _, service in kubernetes_endpoints(stack):
        seen = first.setdefault(service.cluster, service)
        if (service.namespace, service.inference_router_service_type, service.internal_load_balancer,
                service.ssl_cname) != (seen.namespace, seen.inference_router_service_type,
                                       seen.internal_load_balancer, seen.ssl_cname):
            raise ConfigError(f"{PROJECT}:services", f"the kubernetes-endpoint services on cluster {service.cluster!r} "
                                                     "must agree on namespace, inferenceRouterServiceType, "
                                                     "internalLoadBalancer and sslCname (with its tls): the cluster "
                                                     "has one Azure ML extension")


def router_options(service: KubernetesEndpointSettings) -> RouterOptions:
    return RouterOptions(service_type=service.inference_router_service_type,
                         internal_load_balancer=service.internal_load_balancer, ssl_cname=service.ssl_cname,
                         tls=service.tls is not None)


def notes(stack: Any) -> list[str]:
    """What `synth` says about each cluster a kubernetes-endpoint uses (one line each, naming the key)."""
    lines = []
    for cluster in sorted(kubernetes_endpoint_clusters(stack)):
        what = ("is created with local accounts enabled" if stack.clusters[cluster].attach is None
                else "is attached: it must have local accounts enabled")
        lines.append(f"{PROJECT}:clusters.{cluster} {what}, because an Azure ML Kubernetes compute attaches it "
                     "and Azure ML does not support AKS clusters with local accounts disabled "
                     "(how-to-deploy-kubernetes-extension.md, Limitations); Entra ID with Azure RBAC stays on, "
                     "and clusters without a kubernetes-endpoint keep local accounts disabled")
    return lines


def warnings(stack: Any) -> list[str]:
    """maxConcurrentRequestsPerInstance changed from the default on a Kubernetes online endpoint
    (one line each, naming the key): accepted, but Microsoft asks to keep the default."""
    lines = []
    for name, service in kubernetes_endpoints(stack):
        for dep_name, dep in sorted(service.deployments.items()):
            if dep.max_concurrent_requests_per_instance != KUBERNETES_DEFAULT_MAX_CONCURRENT:
                lines.append(
                    f"{PROJECT}:services.{name}.deployments.{dep_name}.maxConcurrentRequestsPerInstance: "
                    f"{dep.max_concurrent_requests_per_instance} on a Kubernetes online endpoint; Microsoft's "
                    "deployment YAML reference (reference-yaml-deployment-kubernetes-online.md) says not to "
                    f"change it from the default ({KUBERNETES_DEFAULT_MAX_CONCURRENT}) unless Microsoft "
                    "support asks you to")
    return lines
