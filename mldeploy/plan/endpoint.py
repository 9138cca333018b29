"""The plan types of Azure ML v2 online endpoints (OnlineEndpoint, components/online_endpoint.py,
takes an `EndpointPlan`), the limits Azure sets on them and the names mldeploy derives. Both
targets' decisions live in their packages (mldeploy/targets/online_endpoint/plan.py, shared;
mldeploy/targets/managed/, mldeploy/targets/kubernetes_endpoint/); this module names neither.

Limits, with their sources:
- traffic sums to 100; mirror sums to at most 50 (API spec mfe.json 2025-12-01,
  OnlineEndpointProperties.traffic / .mirrorTraffic);
- request timeout at most 180 s managed (reference-yaml-deployment-managed-online.md,
  request_timeout_ms: "the maximum value allowed is 180000 milliseconds"); 300 s on Kubernetes
  is the project's limit from issue 13 - no Microsoft document read here states it: the Kubernetes
  deployment YAML reference (MicrosoftDocs/azure-ai-docs@248e379d reference-yaml-deployment-kubernetes-
  online.md, RequestSettings) gives request_timeout_ms a default (5000) and no maximum. The one public
  data point (re-searched 2026-12-06): Azure/azure-sdk-for-python#33660, a KubernetesOnlineDeployment
  whose request settings were refused with "Invalid value provided for Timeout Seconds for Probe",
  where a Microsoft engineer answered "As a fast resolution, you can reduce the request timeout to
  150s or less" - no limit stated, so none is enforced from it (docs/endpoints.md, what cannot be verified).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mldeploy.plan.assets import AssetPlan
from mldeploy.plan.batch import compute_name
from mldeploy.plan.naming import hash_suffix
from mldeploy.plan.scorer import UNBATCHED, WorkerLoad

# A deployment's properties.endpointComputeType (API spec mfe.json: Managed | Kubernetes).
MANAGED_COMPUTE = "Managed"
KUBERNETES_COMPUTE = "Kubernetes"
MAX_REQUEST_TIMEOUT_MS = {MANAGED_COMPUTE: 180_000, KUBERNETES_COMPUTE: 300_000}
MAX_MIRROR_PERCENT = 50
TOTAL_TRAFFIC = 100
# The header that pins a request to one deployment (how-to-safely-rollout-online-endpoints.md).
DEPLOYMENT_HEADER = "azureml-model-deployment"


def kubernetes_compute_name(cluster: str) -> str:
    """The Azure ML compute a cluster is attached as (2-16 characters: plan/batch.py compute_name)."""
    return compute_name(f"k8s-{cluster}")


def endpoint_name(stack: str, resource_group: str, service: str) -> str:
    """Online endpoint names are unique per Azure region: `<service>-<6 hex>` from stack and group."""
    return f"{service[:25].rstrip('-')}-{hash_suffix(stack, resource_group)}"


def deployment_workers(dep, load: WorkerLoad = UNBATCHED) -> int:
    """A deployment's scorer workers per instance (`WORKER_COUNT`): `workerCount`, else as many as
    process maxConcurrentRequestsPerInstance requests at once - one each, or with the image's
    batching a batch (maxBatchSize) each. (The bounds: mldeploy/targets/online_endpoint/plan.py.)"""
    return dep.worker_count or -(-dep.max_concurrent_requests_per_instance // load.requests)


def iso_ms(milliseconds: int) -> str:
    """ISO 8601 duration as the API takes it (`PT5S`, `PT0.5S`)."""
    seconds = milliseconds / 1000
    return f"PT{seconds:g}S"


@dataclass(frozen=True)
class AutoscalePlan:
    """Azure Monitor autoscale of a managed deployment: fast out, slow in."""

    minimum: int
    maximum: int
    default: int
    scale_out_above: int  # CPU percent
    scale_in_below: int
    scale_out_cooldown: str = "PT1M"
    scale_in_cooldown: str = "PT5M"
    scale_out_window: str = "PT5M"
    scale_in_window: str = "PT10M"


@dataclass(frozen=True)
class DeploymentPlan:
    name: str
    image: str
    model: str
    instance_type: str
    instance_count: int
    request_timeout: str
    max_concurrent_requests: int
    liveness: dict
    readiness: dict
    environment_variables: dict[str, str]
    app_insights_enabled: bool
    description: str
    autoscale: AutoscalePlan | None = None
    # Kubernetes: TargetUtilization settings (min, max, target percent) when autoscaling.
    kubernetes_scale: tuple[int, int, int] | None = None
    # The endpoint's tags plus this deployment's own model and version (registered name).
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EndpointPlan:
    kind: str  # "Managed" | "Kubernetes" (endpointComputeType)
    endpoint_name: str
    auth_mode: str  # Key | AMLToken | AADToken
    description: str
    collect_model_data: bool
    assets: dict[str, AssetPlan]
    deployments: tuple[DeploymentPlan, ...]
    traffic: dict[str, int]
    mirror_traffic: dict[str, int]
    revision: str  # digest of the endpoint inputs azure-native PUTs that the plan knows (see EndpointTraffic)
    # The endpoint's tags: stack, service markers; no deployment's model (traffic moves between them).
    endpoint_tags: dict[str, str] = field(default_factory=dict)
    # The service's environment and code (shared by content between images): the service's tags, no
    # model - a version may serve several deployments, and a tag naming one would change with them.
    asset_tags: dict[str, str] = field(default_factory=dict)

    @property
    def on_managed_compute(self) -> bool:
        """Azure runs the deployments on its own instances (a ManagedOnlineDeployment, scaled by
        Azure Monitor autoscale); else on an attached Kubernetes cluster (a KubernetesOnlineDeployment,
        which carries its own TargetUtilization scale settings)."""
        return self.kind == MANAGED_COMPUTE
