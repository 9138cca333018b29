"""`target: aks`'s settings: a production scoring service on an AKS cluster of the stack (the
cluster itself is an entry of `clusters`, shared by the targets that run on one: config/cluster.py)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from mldeploy.config.base import DnsLabel, ImageRef, K8sName, ResourceGroupName, Settings, kubernetes_cpu_problem
from mldeploy.config.service import ServiceSettings
from mldeploy.contract import DEFAULT_TARGET_UTILIZATION, GATEWAY_IMAGE

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
HOST_NAME = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
COLLECTOR_IMAGE = "timberio/vector:0.46.1-distroless-static"


class DnsZoneSettings(Settings):
    """An Azure DNS zone the deployer may write to (DNS Zone Contributor): the zone of hostName."""

    resource_group: ResourceGroupName = Field(description="resource group of the Azure DNS zone")
    name: str = Field(pattern=HOST_NAME, max_length=253, description="the zone, e.g. `ml.contoso.com`")


class CertManagerSettings(Settings):
    """TLS certificates from cert-manager (installed in the cluster) instead of secret config, for
    the service's `hostName`, from an issuer that solves ACME DNS-01 in that name's zone."""

    issuer: K8sName = Field(description="name of the cert-manager issuer (ACME DNS-01 for hostName's zone)")
    issuer_kind: Literal["ClusterIssuer", "Issuer"] = Field("ClusterIssuer", description="kind of the issuer")


class CanarySettings(Settings):
    """A second image served beside the service's own, taking `trafficPercent` of requests."""

    image: str = Field(description="name of an entry in `images`")
    traffic_percent: int = Field(ge=0, le=100, description="share of requests the canary image serves")


class ExpectedLoad(Settings):
    """The load a service is sized for; synth suggests min/max replicas from it (guide's formula)."""

    requests_per_second: float = Field(gt=0, le=1_000_000, description="typical requests per second")
    request_seconds: float = Field(gt=0, le=300, description="seconds one request takes")
    peak_requests_per_second: float | None = Field(None, gt=0, le=1_000_000, description="peak requests per second (sizes the max)")

    @model_validator(mode="after")
    def _peak_at_least_typical(self):
        if self.peak_requests_per_second is not None and self.peak_requests_per_second < self.requests_per_second:
            raise ValueError(f"peakRequestsPerSecond ({self.peak_requests_per_second:g}) must be >= requestsPerSecond "
                             f"({self.requests_per_second:g}): the peak sizes autoscaleMaxReplicas, the typical load the minimum")
        return self


class AksServiceSettings(ServiceSettings):
    """A production web service on AKS (guide: `AksWebservice.deploy_configuration`)."""

    target: Literal["aks"] = Field(description="`aks`: Azure Kubernetes Service (production)")
    cluster: str = Field(description="name of an entry in `clusters`")
    namespace: str | None = Field(None, pattern=DNS_LABEL, max_length=63, description="Kubernetes namespace; omitted: the service's name")
    autoscale_enabled: bool = Field(True, description="HPA on CPU (guide: `autoscale_enabled`)")
    autoscale_target_utilization: int = Field(DEFAULT_TARGET_UTILIZATION, ge=1, le=100, description="target CPU utilization in percent (guide: `autoscale_target_utilization`)")
    autoscale_min_replicas: int = Field(1, ge=1, le=1000, description="fewest replicas (guide: `autoscale_min_replicas`)")
    autoscale_max_replicas: int = Field(10, ge=1, le=1000, description="most replicas (guide: `autoscale_max_replicas`)")
    num_replicas: int | None = Field(None, ge=1, le=1000, description="fixed replicas when autoscaleEnabled is false (guide: `num_replicas`)")
    replica_max_concurrent_requests: int = Field(1, ge=1, le=1000, description="concurrent requests one replica serves; one more gets 503. Its scorer runs as many workers (with the image's batching, one per maxBatchSize of them)")
    collect_model_data: bool = Field(False, description="collect inputs and predictions to the workspace (guide: `collect_model_data`)")
    service_type: Literal["LoadBalancer", "ClusterIP"] = Field("LoadBalancer", description="how the service is exposed")
    internal_load_balancer: bool = Field(False, description="a private (VNet) load balancer instead of a public IP")
    dns_label: DnsLabel | None = Field(None, description="Azure DNS label of the public IP (`<label>.<region>.cloudapp.azure.com`)")
    host_name: str | None = Field(None, pattern=HOST_NAME, max_length=253, description="the DNS name clients use, in a "
                                  "DNS zone you control (point it at the service); required with certManager, "
                                  "which gets its certificate by DNS-01")
    dns_zone: DnsZoneSettings | None = Field(None, description="declare hostName in this Azure DNS zone: a "
                                             "CNAME to the service's <dnsLabel>.<region>.cloudapp.azure.com")
    tls_enabled: bool | None = Field(None, description="omitted: on in production stacks")
    cert_manager: CertManagerSettings | None = Field(None, description="TLS certificate from cert-manager instead of `tls`")
    canary: CanarySettings | None = Field(None, description="blue/green: a second image taking a share of the traffic")
    gateway_image: ImageRef = Field(GATEWAY_IMAGE, description="the nginx gateway image (mirrored into the workspace registry)")
    collector_image: ImageRef = Field(COLLECTOR_IMAGE, description="the model data collector image (mirrored)")
    expected_load: ExpectedLoad | None = Field(None, description="load to size replicas for; synth suggests min/max")

    @field_validator("cpu_cores")
    @classmethod
    def _kubernetes_cpu(cls, value: float) -> float:
        problem = kubernetes_cpu_problem(value)  # the pod's CPU request (config/base.py)
        if problem:
            raise ValueError(problem)
        return value

    def dns_label_claim(self) -> tuple[str, str, str] | None:
        return None if self.dns_label is None else ("dnsLabel", "cloudapp.azure.com", self.dns_label)

    def host_name_claim(self) -> tuple[str, str] | None:
        return None if self.host_name is None else ("hostName", self.host_name)

    @model_validator(mode="after")
    def _consistent(self):
        if self.autoscale_min_replicas > self.autoscale_max_replicas:
            raise ValueError(
                f"autoscaleMinReplicas ({self.autoscale_min_replicas}) must be <= "
                f"autoscaleMaxReplicas ({self.autoscale_max_replicas})"
            )
        if self.autoscale_enabled and self.num_replicas is not None:
            raise ValueError("numReplicas applies only when autoscaleEnabled is false")
        if self.tls is not None and self.cert_manager is not None:
            raise ValueError("set either tls (certificate and key) or certManager, not both")
        if self.tls_enabled is False and (self.tls is not None or self.cert_manager is not None):
            raise ValueError("tlsEnabled is false but tls or certManager is set: remove one")
        if self.canary is not None and self.canary.image == self.image:
            raise ValueError(f"canary.image {self.image!r} is the service's own image: a canary "
                             "serves a different image (another model version)")
        if self.dns_zone is not None:
            if self.host_name is None or not self.host_name.endswith("." + self.dns_zone.name):
                raise ValueError(f"dnsZone {self.dns_zone.name} needs hostName, a name inside that zone "
                                 f"(e.g. scoring.{self.dns_zone.name}), got {self.host_name}")
            if self.service_type != "LoadBalancer" or self.internal_load_balancer:
                raise ValueError("dnsZone points hostName at the public load balancer's name: it needs "
                                 "serviceType LoadBalancer without internalLoadBalancer")
        if self.service_type == "ClusterIP" and (self.internal_load_balancer or self.dns_label):
            raise ValueError("internalLoadBalancer and dnsLabel apply only to serviceType LoadBalancer")
        if self.internal_load_balancer and self.dns_label:
            # The label names a public IP (<label>.<region>.cloudapp.azure.com); an internal load
            # balancer has a private address only, so the label would be silently dropped.
            raise ValueError("dnsLabel names the public IP; an internal load balancer (internalLoadBalancer: "
                             "true) has none: remove dnsLabel")
        if self.expected_load is not None and self.expected_load.request_seconds * 1000 >= self.scoring_timeout_ms:
            # scoringTimeoutMs is when the gateway answers 504 (plan/timeouts.py): a load whose every request takes
            # at least that long sizes replicas for requests that all time out.
            raise ValueError(f"expectedLoad.requestSeconds ({self.expected_load.request_seconds:g}) is not below "
                             f"scoringTimeoutMs ({self.scoring_timeout_ms} ms): every such request would get the "
                             "gateway's 504; raise scoringTimeoutMs or correct requestSeconds")
        if "collector_image" in self.model_fields_set and not self.collect_model_data:
            raise ValueError("collectorImage applies only with collectModelData: true (the collector runs only then)")
        if not self.autoscale_enabled:
            self._only_in_another_mode({"autoscale_max_replicas", "autoscale_target_utilization", "expected_load"},
                                       "only with autoscaleEnabled: true; with a fixed size set numReplicas")
            if self.num_replicas is not None and "autoscale_min_replicas" in self.model_fields_set:
                # Without autoscaling the replicas are numReplicas, else autoscaleMinReplicas (`replicas`):
                # with both written one is silently ignored.
                raise ValueError(f"autoscaleMinReplicas ({self.autoscale_min_replicas}) beside numReplicas "
                                 f"({self.num_replicas}) with autoscaleEnabled false: numReplicas is the fixed size "
                                 "and autoscaleMinReplicas would be ignored; remove one")
        return self

    def images_built(self) -> set[str]:
        return {self.image} | ({self.canary.image} if self.canary else set())

    def mirror_claims(self) -> list[tuple[str, str]]:
        # As targets/aks/plan.py mirrors them: the gateway always, the collector with collectModelData.
        return [("gatewayImage", self.gateway_image),
                *([("collectorImage", self.collector_image)] if self.collect_model_data else [])]

    def image_references(self) -> list[tuple[str, str]]:
        return [("image", self.image), *([("canary.image", self.canary.image)] if self.canary else [])]

    def cluster_used(self) -> str | None:
        return self.cluster

    @property
    def tls_follows_stack(self) -> bool:
        return True

    def default_workers(self, requests_per_worker: int = 1) -> int:
        """As many workers as hold replicaMaxConcurrentRequests requests at once (fpga too): one
        request each, or with batching a batch each (plan/scorer.py WorkerLoad)."""
        return -(-self.replica_max_concurrent_requests // requests_per_worker)

    def admitted_per_replica(self) -> int | None:
        return self.replica_max_concurrent_requests

    def autoscale_load(self) -> ExpectedLoad | None:
        return self.expected_load

    @property
    def replicas(self) -> int:
        """Fixed replicas when autoscaling is off (the guide's `num_replicas`)."""
        return self.num_replicas or self.autoscale_min_replicas
