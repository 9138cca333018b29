"""The plan of one Kubernetes scoring workload (AKS and FPGA services): what its pods run, how
they scale, where they are scheduled, whether they get a certificate. Frozen values decided once
(mldeploy/targets/aks/plan.py, mldeploy/targets/fpga/plan.py) and rendered by mldeploy/render/k8s.py and k8s_pod.py;
deploy-time values (image digests) are opaque here, never inspected."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mldeploy.contract import POD_TRAFFIC_DIR
from mldeploy.plan.scorer import UNBATCHED, WorkerLoad

GATEWAY_CPU_CORES = 0.25  # the gateway sidecar's CPU (request = limit): nginx needs a fraction of a core
GATEWAY_MEMORY_MB = 128  # the gateway sidecar's memory (request = limit), MiB
COLLECTOR_CPU_CORES = 0.1  # the model-data collector sidecar's CPU (collectModelData only)
COLLECTOR_MEMORY_MB = 128  # ... and its memory, MiB

@dataclass(frozen=True)
class Variant:
    """One model version (image) served by the service, with its share of the traffic."""

    name: str  # "stable" or "canary"
    image: Any  # `<registry>/<image>@sha256:...` (an Output at deploy time)
    image_tag: str
    models: tuple[tuple[str, str], ...]
    weight: int
    # The stack's environmentVariables of its scorer: its image's, then the service's (plan/scorer.py user_env).
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Scaling:
    """HPA bounds and target, or fixed replicas (`autoscale` False)."""

    autoscale: bool
    min_replicas: int
    max_replicas: int
    target_utilization: int
    replicas: int


@dataclass(frozen=True)
class Toleration:
    """A pod's tolerance of the node taint `key=value:effect` (Kubernetes core/v1 Toleration)."""

    key: str
    value: str
    effect: str = "NoSchedule"
    operator: str = "Equal"


@dataclass(frozen=True)
class Placement:
    """Where the pods may run: node labels they select and node taints they tolerate. Empty:
    anywhere the scheduler puts them."""

    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[Toleration, ...] = ()


@dataclass(frozen=True)
class CertificateRequest:
    """A certificate from cert-manager for `host`, issued into the Secret `secret_name` that the
    gateways mount, by `issuer` (an ACME DNS-01 issuer for the host's zone)."""

    host: str
    secret_name: str
    issuer: str
    issuer_kind: str  # "ClusterIssuer" or "Issuer"


@dataclass(frozen=True)
class WorkloadPlan:
    """Everything the manifests depend on, decided once from the validated settings."""

    service: str
    namespace: str
    variants: tuple[Variant, ...]
    scaling: Scaling
    cpu_cores: float
    memory_gb: float
    scorer_workers: int
    scoring_timeout_ms: int
    gateway_image: Any
    max_body_mb: float  # the gateway's body limit (it buffers whole bodies to its temp folder)
    tls: bool
    auth: bool
    service_type: str = "LoadBalancer"
    internal_load_balancer: bool = False
    dns_label: str | None = None
    app_insights: bool = False
    collect_model_data: bool = False
    collector_image: Any = None
    workspace_name: Any = ""
    markers: tuple[tuple[str, str], ...] = ()  # annotations the policy pack reads (auth/TLS)
    placement: Placement = Placement()
    certificate: CertificateRequest | None = None  # TLS from cert-manager, not from secret config
    scorer_load: WorkerLoad = UNBATCHED  # requests one scorer worker holds at once, and their wait

    @property
    def scorer_requests(self) -> int:
        """Requests one pod's scorer works on at once: its workers' (with batching, their batches)."""
        return self.scorer_workers * self.scorer_load.requests

    @property
    def canary(self) -> bool:
        return len(self.variants) > 1

    @property
    def gateway_temp_mb(self) -> int:
        """Room for the request bodies nginx buffers to disk (each up to max_body_mb): those the
        scorers of every variant work on, as many again being received, plus two. Over its
        sizeLimit the kubelet evicts the pod, so a larger body limit gets a larger folder."""
        bodies = 2 * self.scorer_requests * len(self.variants) + 2
        return max(1024, math.ceil(self.max_body_mb * bodies))

    @property
    def timeout_seconds(self) -> int:
        return math.ceil(self.scoring_timeout_ms / 1000)


def deployment_name(plan: WorkloadPlan, variant: Variant) -> str:
    # The stable Deployment keeps the service's name, so adding/removing a canary never renames it.
    return plan.service if variant.name == "stable" else f"{plan.service}-{variant.name}"


def scorer_host(plan: WorkloadPlan, variant: Variant) -> str:
    """The in-cluster name of one variant's scorers (its ClusterIP Service, canary only)."""
    return f"{deployment_name(plan, variant)}-scorer.{plan.namespace}.svc.cluster.local"


def traffic_config_map_name(plan: WorkloadPlan) -> str:
    """The fixed-name ConfigMap holding a canary service's weights: one per service, updated in
    place (never replaced), so a weight move changes it and nothing else."""
    return f"{plan.service}-traffic"


def traffic_file(variant: Variant) -> str:
    """Where a variant's gateway reads its upstream servers and weights (a key of the traffic
    ConfigMap, mounted as a whole volume: kubelet updates it in place)."""
    return f"{POD_TRAFFIC_DIR}/{variant.name}.conf"
