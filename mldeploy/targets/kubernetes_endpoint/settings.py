"""`target: kubernetes-endpoint`'s settings: an Azure ML online endpoint on an AKS cluster attached
to the workspace as a Kubernetes compute (the Azure ML extension)."""
from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from mldeploy.config.base import matching
from mldeploy.config.service import TlsSettings
from mldeploy.plan.endpoint import KUBERNETES_COMPUTE, MAX_REQUEST_TIMEOUT_MS
from mldeploy.plan.front_door import FrontDoor
from mldeploy.targets.kubernetes_endpoint.instance_types import kubernetes_instance_type
from mldeploy.targets.online_endpoint.settings import DeploymentSettings, EndpointSettings

# How a Kubernetes online endpoint answers (MicrosoftDocs/azure-ai-docs articles/machine-learning/
# how-to-troubleshoot-online-endpoints.md, "Common error codes for Kubernetes online endpoints",
# read 2026-12-04):
# - 502 "Exception or crash in the run() method of the score.py file" (the scorer answers 500 for an
#   exception in run(); a crashed worker closes the connection, which nginx answers 502 itself);
# - 503 "Large spikes in requests per second": azureml-fe has no documented admission factor
#   (how-to-kubernetes-inference-routing-azureml-fe.md counts queued requests into its autoscaling
#   only), so the rehearsal admits maxConcurrentRequestsPerInstance per instance and answers 503 above;
# - 504 "Request times out".
# The table says nothing of a score.py that itself answers 4xx on Kubernetes: it passes through.
KUBERNETES_FRONT_DOOR = FrontDoor(timeout_status=504, capacity_status=503, admitted_per_max_concurrent=1,
                                  model_error_status=502, model_error_from=(500,), model_error_headers=False,
                                  model_error_case="an exception in run()")


class KubernetesEndpointSettings(EndpointSettings):
    """A Kubernetes online endpoint: the Azure ML extension on an AKS cluster attached to the workspace."""

    compute_type: ClassVar[str] = KUBERNETES_COMPUTE
    front_door: ClassVar[FrontDoor] = KUBERNETES_FRONT_DOOR
    max_request_timeout_ms: ClassVar[int] = MAX_REQUEST_TIMEOUT_MS[KUBERNETES_COMPUTE]

    target: Literal["kubernetes-endpoint"] = Field(description="`kubernetes-endpoint`: Azure ML online "
                                                   "endpoint on an attached AKS cluster")
    cluster: str = Field(description="name of an entry in `clusters` (created or attached)")
    namespace: str = Field("azureml", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63,
                           description="Kubernetes namespace of the attached compute")
    # "Type `NodePort`. Exposes `azureml-fe` on each Node's IP at a static port ... allows you to set up your own
    # load balancing solution and TLS/SSL termination"; "Type `ClusterIP` ... only reachable from within the
    # cluster ... it requires you to set up your own load balancing solution and TLS/SSL termination"
    # (MicrosoftDocs/azure-ai-docs@07dbc3a0 how-to-deploy-kubernetes-extension.md, configuration settings).
    inference_router_service_type: Literal["loadBalancer", "nodePort", "clusterIP"] = Field(
        "loadBalancer", description="how the extension's inference router is exposed (`nodePort`/`clusterIP`: "
        "clients outside the cluster need your own load balancer or ingress and its TLS)")
    internal_load_balancer: bool = Field(False, description="a private (VNet) load balancer for the router")
    tls: TlsSettings | None = Field(None, description="TLS of the inference router (certificate and key, "
                                    "`secure:`); omitted: HTTP only (allowInsecureConnections)")
    # A DNS host name (RFC 1123: labels of 1-63 letters, digits and '-', not starting or ending with '-',
    # at most 253 characters): the name the router's certificate is for. `..` or `-x.` names no host.
    ssl_cname: Annotated[str, Field(max_length=253), matching(
        r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*",
        "a host name is dot-separated labels of 1-63 letters, digits and '-', none starting or ending with '-' "
        "(RFC 1123), e.g. ml.contoso.com")] | None = Field(
        None, description="host name of the router's certificate; required with tls")

    def cluster_used(self) -> str | None:
        return self.cluster

    def attached_compute(self) -> tuple[str, str] | None:
        return self.cluster, self.namespace

    def instance_type(self, dep: DeploymentSettings, key: str) -> str:
        return kubernetes_instance_type(dep, key)

    def kubernetes_scale(self, dep: DeploymentSettings) -> tuple[int, int, int] | None:
        if not dep.autoscale_enabled:
            return None
        return dep.autoscale_min_replicas, dep.autoscale_max_replicas, dep.autoscale_target_utilization

    @model_validator(mode="after")
    def _internal_needs_load_balancer(self):
        if self.internal_load_balancer and self.inference_router_service_type != "loadBalancer":
            raise ValueError("internalLoadBalancer applies only to inferenceRouterServiceType loadBalancer")
        return self

    @model_validator(mode="after")
    def _tls_needs_cname(self):
        if (self.tls is None) != (self.ssl_cname is None):
            raise ValueError("tls and sslCname go together: the extension serves HTTPS for that name")
        return self
