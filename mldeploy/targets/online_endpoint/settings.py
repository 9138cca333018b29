"""What both v2 online endpoint targets declare (`managed`: Azure runs the VMs,
mldeploy/targets/managed/; `kubernetes-endpoint`: the Azure ML extension on an attached AKS
cluster, mldeploy/targets/kubernetes_endpoint/): one endpoint, several deployments (blue/green),
each from an entry of `images` (the same score.py, environment file and models as a v1 service).

Checks that need several keys at once (traffic sums, mirror, SKUs, quota) live in this family's
plan (mldeploy/targets/online_endpoint/plan.py) and run after parsing, so their errors name the
exact key. Where the two targets differ, each one's model says so (the class attributes of
`EndpointSettings`); the shared rules ask them, never the target's name.
"""
from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal, Mapping

from pydantic import Field, field_validator, model_validator

from mldeploy.config.base import Settings, env_vars
from mldeploy.config.files import JsonFile
from mldeploy.config.service import KeySettings, TargetSettings
from mldeploy.contract import DEFAULT_TARGET_UTILIZATION
from mldeploy.plan.endpoint import AutoscalePlan, endpoint_name
from mldeploy.plan.front_door import FrontDoor

DeploymentName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")]
"""Online deployment names: 3-32 lowercase letters, digits and '-', starting with a letter."""

# Azure ML's secret injection: a deployment's environment variable whose value is one of these
# references gets the secret from a workspace connection or a Key Vault, read with the endpoint's
# identity when the container starts ("Access secrets from online deployment using secret injection",
# MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-deploy-online-endpoint-with-secret-injection.md,
# the patterns table). The stack then holds a reference, not the secret: `OPENAI_API_KEY:
# ${{azureml://connections/aoai/credentials/key}}` is accepted where a plain key is refused.
SECRET_REFERENCE = re.compile(r"\$\{\{(azureml://connections/[^{}\s]+|keyvault:https://[^{}\s]+)\}\}")
# An image's or a service's `secure:` variable on a v2 deployment (plan/secret_env.py): its environmentVariables are
# plain strings in the deployment's ARM properties; Azure ML's way is a reference above, resolved by the
# endpoint's identity ("Secret injection in online endpoints", learn.microsoft.com/azure/machine-learning/
# concept-secret-injection).
SECRET_ENV_INSTEAD = ("an online deployment's environment is plain text in its ARM properties: use Azure ML's secret "
                      "injection, `deployments.<name>.environmentVariables: {NAME: "
                      "\"${{keyvault:https://<vault>.vault.azure.net/secrets/<name>}}\"}`")
DeploymentEnvVars = env_vars(SECRET_ENV_INSTEAD, references=SECRET_REFERENCE, plain_instead=(
    "keep it out of the stack file with Azure ML's secret injection, a reference in its place: "
    "`${{keyvault:https://<vault>.vault.azure.net/secrets/<name>}}` or `${{azureml://connections/<name>/credentials/key}}`"))

# authMode -> the API's EndpointAuthMode (mfe.json 2025-12-01, OnlineEndpointProperties.authMode).
AUTH_MODES = {"key": "Key", "aml_token": "AMLToken", "aad_token": "AADToken"}


# SDK v1's AksWebservice.deploy_configuration keys (the guide's names, camelCase as a stack writes them) where a
# v2 endpoint has them: a v1 user moving an `aks` service to `managed`/`kubernetes-endpoint` keeps the
# service's keys, most of which v2 sets per deployment. v1's defaults differ from v2's where said.
_PER_DEPLOYMENT = "v2 sets it per deployment: deployments.<name>.{key}"
_PROBE = ("v2 sets it per deployment and per probe: deployments.<name>.livenessProbe.{key} and "
          "deployments.<name>.readinessProbe.{key}")
V1_SERVICE_KEYS: dict[str, str] = {
    **{k: _PER_DEPLOYMENT.format(key=k) for k in ("autoscaleEnabled", "autoscaleMinReplicas", "autoscaleMaxReplicas",
                                                   "autoscaleTargetUtilization", "cpuCores", "memoryGb")},
    "numReplicas": "v2 sets it per deployment as instanceCount: deployments.<name>.instanceCount",
    "scoringTimeoutMs": "v2 sets it per deployment as requestTimeoutMs: deployments.<name>.requestTimeoutMs; "
                        "its default is 5000 ms, v1's was 60000",
    "replicaMaxConcurrentRequests": "v2 sets it per deployment as maxConcurrentRequestsPerInstance: "
                                    "deployments.<name>.maxConcurrentRequestsPerInstance",
    "maxRequestWaitTime": "v2 has no queue wait to set (the API's maxQueueWait is deprecated for managed "
                          "endpoints): add the wait to deployments.<name>.requestTimeoutMs",
    **{k: _PROBE.format(key=k) for k in ("periodSeconds", "initialDelaySeconds", "timeoutSeconds",
                                          "successThreshold", "failureThreshold")},
    "authEnabled": "v2 endpoints always authenticate: authMode key (v1's auth_enabled), aml_token (v1's "
                   "token_auth_enabled) or aad_token",
    "tokenAuthEnabled": "v1's token auth is authMode: aml_token",
    "primaryKey": "v2 takes the keys as keys.primary and keys.secondary (secure: values)",
    "secondaryKey": "v2 takes the keys as keys.primary and keys.secondary (secure: values)",
    "enableAppInsights": "v2 spells it appInsightsEnabled (default true on v2 endpoints)",
    "gpuCores": "v2 serves GPUs by instance type: deployments.<name>.instanceType (a GPU SKU)",
    "autoscaleRefreshSeconds": "not a setting on v2: a managed deployment's autoscale rules read CPU per minute, a "
                               "Kubernetes deployment's scale settings poll every second (pollingInterval PT1S)",
}
# The same keys written inside a deployment: most are this model's own under another name.
V1_DEPLOYMENT_KEYS: dict[str, str] = {
    "numReplicas": "v2 calls it instanceCount",
    "scoringTimeoutMs": "v2 calls it requestTimeoutMs; its default is 5000 ms, v1's was 60000",
    "replicaMaxConcurrentRequests": "v2 calls it maxConcurrentRequestsPerInstance",
    "maxRequestWaitTime": V1_SERVICE_KEYS["maxRequestWaitTime"].replace("deployments.<name>.", ""),
    **{k: f"v2 sets it per probe: livenessProbe.{k} and readinessProbe.{k}"
       for k in ("periodSeconds", "initialDelaySeconds", "timeoutSeconds", "successThreshold", "failureThreshold")},
    **{k: f"a setting of the service, not of a deployment: services.<service>.{v}" for k, v in (
        ("authEnabled", "authMode (key, aml_token or aad_token)"), ("tokenAuthEnabled", "authMode: aml_token"),
        ("authMode", "authMode"), ("appInsightsEnabled", "appInsightsEnabled"),
        ("enableAppInsights", "appInsightsEnabled"), ("collectModelData", "collectModelData"),
        ("primaryKey", "keys.primary"), ("secondaryKey", "keys.secondary"))},
    "gpuCores": V1_SERVICE_KEYS["gpuCores"].replace("deployments.<name>.", ""),
    "autoscaleRefreshSeconds": V1_SERVICE_KEYS["autoscaleRefreshSeconds"],
}


class ProbeSettings(Settings):
    """A liveness or readiness probe. Defaults as Azure's: every 10 s, 2 s timeout, 30 failures,
    1 success (API spec mfe.json 2025-12-01, definition ProbeSettings); the spec gives the first
    delay no default, the CLI v2 deployment YAML reference uses 10 s."""

    # "initial_delay ... Minimum value is `1`" (MicrosoftDocs/azure-ai-docs articles/machine-learning/
    # reference-yaml-deployment-managed-online.md and reference-yaml-deployment-kubernetes-online.md, ProbeSettings).
    initial_delay_seconds: int = Field(10, ge=1, le=3600, description="seconds before the first probe (at least 1)")
    period_seconds: int = Field(10, ge=1, le=3600, description="seconds between probes")
    timeout_seconds: int = Field(2, ge=1, le=3600, description="seconds a probe may take")
    failure_threshold: int = Field(30, ge=1, le=1000, description="failed probes before the container counts as unhealthy")
    success_threshold: int = Field(1, ge=1, le=1000, description="successful probes before it counts as healthy again")

    @model_validator(mode="after")
    def _timeout_within_period(self):
        if self.timeout_seconds > self.period_seconds:
            raise ValueError(f"timeoutSeconds ({self.timeout_seconds}) must be <= periodSeconds "
                             f"({self.period_seconds}): a probe cannot outlast the interval between probes")
        return self

    @property
    def window_seconds(self) -> int:
        """How long a container that never answers survives this probe."""
        return self.initial_delay_seconds + self.period_seconds * self.failure_threshold


# cpuCores/memoryGb are v1's keys, and so are their defaults when a deployment gives only one: "cpu_cores ...
# Defaults to 0.1", "memory_gb ... Defaults to 0.5", alike in AciWebservice's and AksWebservice's
# deploy_configuration (azureml-core reference: AciServiceDeploymentConfiguration,
# AksServiceDeploymentConfiguration, learn.microsoft.com/python/api/azureml-core/azureml.core.webservice). A
# v1 AKS service moved to kubernetes-endpoint, or an ACI one to managed, keeps the size v1 gave it.
V1_DEFAULT_CPU_CORES = 0.1
V1_DEFAULT_MEMORY_GB = 0.5


class DeploymentSettings(Settings):
    """One deployment of an online endpoint: a model version served by N instances."""

    moved_keys: ClassVar[Mapping[str, str]] = V1_DEPLOYMENT_KEYS

    image: str = Field(description="name of an entry in `images` (its score.py, environment and models)")
    instance_type: str | None = Field(None, description="managed: the VM SKU (e.g. `Standard_F4s_v2`); "
                                      "kubernetes-endpoint: an instance type of the attached compute; "
                                      "omitted: derived from cpuCores/memoryGb")
    cpu_cores: float | None = Field(None, gt=0, le=64, description="v1's `cpu_cores`: managed maps it (with "
                                    "memoryGb) to the smallest SKU of Microsoft's migration table; "
                                    "kubernetes-endpoint requests it per instance")
    memory_gb: float | None = Field(None, gt=0, le=256, description="v1's `memory_gb` (see cpuCores)")
    instance_count: int = Field(1, ge=1, le=1000, description="instances (VMs or pods) serving the deployment")
    traffic_percent: int = Field(0, ge=0, le=100, description="share of the endpoint's live traffic; "
                                 "all deployments sum to 100")
    mirror_percent: int = Field(0, ge=0, le=100, description="share of live traffic copied to this "
                                "deployment, responses discarded (managed only; one deployment; <= 50)")
    request_timeout_ms: int = Field(5000, ge=1, le=300_000, description="scoring timeout (Azure's default "
                                    "5000); a slower request gets 408 (kubernetes-endpoint: 504). Managed <= 180000, "
                                    "Kubernetes <= 300000")
    max_concurrent_requests_per_instance: int = Field(1, ge=1, le=1000, description="requests the model "
                                                      "processes at once per instance (the scorer runs as many "
                                                      "workers). Managed admits twice this per instance (one more "
                                                      "gets 429), kubernetes-endpoint this many (one more gets 503)")
    worker_count: int | None = Field(None, ge=1, le=1000, description="scorer workers per instance "
                                     "(`WORKER_COUNT`), from maxConcurrentRequestsPerInstance to twice it; "
                                     "omitted: maxConcurrentRequestsPerInstance. With the image's batching "
                                     "a worker takes maxBatchSize requests: both counts divide by it")
    init_seconds: int = Field(30, ge=1, le=3600, description="how long the model's init() takes; the probes "
                              "must give at least this long")
    liveness_probe: ProbeSettings = Field(ProbeSettings(), description="liveness probe (Azure's defaults)")
    readiness_probe: ProbeSettings = Field(ProbeSettings(), description="readiness probe (Azure's defaults)")
    autoscale_enabled: bool = Field(False, description="scale on CPU (guide: `autoscale_enabled`); managed: an "
                                    "Azure Monitor autoscale setting; Kubernetes: the deployment's scale settings")
    autoscale_target_utilization: int = Field(DEFAULT_TARGET_UTILIZATION, ge=1, le=100, description="target CPU utilization in percent "
                                              "(guide: `autoscale_target_utilization`)")
    autoscale_min_replicas: int = Field(1, ge=1, le=1000, description="fewest instances (guide: `autoscale_min_replicas`)")
    autoscale_max_replicas: int = Field(10, ge=1, le=1000, description="most instances (guide: `autoscale_max_replicas`)")
    environment_variables: DeploymentEnvVars = Field(
        default_factory=dict, description="extra environment variables of the scorer (no secrets: they are plain "
        "text; Azure ML's secret injection references `${{azureml://connections/...}}`, `${{keyvault:...}}` are fine)")
    description: str = Field("", description="free text, for people")

    @field_validator("liveness_probe")
    @classmethod
    def _live_after_one_success(cls, probe: ProbeSettings) -> ProbeSettings:
        # Managed: "success_threshold ... The value for liveness probe is fixed as `1`" (MicrosoftDocs/azure-ai-docs
        # articles/machine-learning/reference-yaml-deployment-managed-online.md, ProbeSettings). Kubernetes
        # (kubernetes-endpoint: the probes become the pod's): Probe.successThreshold "Must be 1 for liveness and
        # startup" (kubernetes/api core/v1 types.go), and the API server refuses the pod otherwise: validateContainers'
        # "Liveness-specific validation", `field.Invalid(...Child("livenessProbe", "successThreshold"), ..., "must be 1")`
        # (kubernetes/kubernetes pkg/apis/core/validation/validation.go).
        if probe.success_threshold != 1:
            raise ValueError(f"successThreshold {probe.success_threshold}: a liveness probe takes only 1 (Azure ML: "
                             "\"fixed as 1\"; Kubernetes: \"Must be 1 for liveness\"; one success makes a container live "
                             "again); readinessProbe may ask for more")
        return probe

    @model_validator(mode="after")
    def _consistent(self):
        if self.autoscale_min_replicas > self.autoscale_max_replicas:
            raise ValueError(f"autoscaleMinReplicas ({self.autoscale_min_replicas}) must be <= "
                             f"autoscaleMaxReplicas ({self.autoscale_max_replicas})")
        if not self.autoscale_enabled:
            self._only_in_another_mode({"autoscale_min_replicas", "autoscale_max_replicas", "autoscale_target_utilization"},
                                       "only with autoscaleEnabled: true; without it the deployment runs instanceCount instances")
        if "WORKER_COUNT" in self.environment_variables:
            raise ValueError("environmentVariables.WORKER_COUNT is set by mldeploy from workerCount / "
                             "maxConcurrentRequestsPerInstance: set workerCount instead")
        if self.autoscale_enabled and not (
                self.autoscale_min_replicas <= self.instance_count <= self.autoscale_max_replicas):
            raise ValueError(f"instanceCount ({self.instance_count}) must be within autoscaleMinReplicas "
                             f"({self.autoscale_min_replicas}) and autoscaleMaxReplicas "
                             f"({self.autoscale_max_replicas}): it is the starting size")
        # workerCount against maxConcurrentRequestsPerInstance: plan/endpoint.py check_endpoint (it
        # needs the image's batching: a worker then takes a batch of requests).
        for name, probe in (("livenessProbe", self.liveness_probe), ("readinessProbe", self.readiness_probe)):
            if probe.window_seconds < self.init_seconds:
                raise ValueError(
                    f"{name} gives up after {probe.window_seconds} s (initialDelaySeconds + periodSeconds × "
                    f"failureThreshold) but initSeconds is {self.init_seconds}: the container would be "
                    "restarted (or never become ready) before init() finishes; raise failureThreshold or "
                    "initialDelaySeconds")
        if self.readiness_probe.initial_delay_seconds > self.init_seconds + self.readiness_probe.period_seconds * 3:
            raise ValueError(f"readinessProbe.initialDelaySeconds ({self.readiness_probe.initial_delay_seconds}) "
                             f"is far beyond initSeconds ({self.init_seconds}): a ready instance would wait idle; "
                             "lower it to about initSeconds")
        return self

    @property
    def workers(self) -> int:
        return self.worker_count or self.max_concurrent_requests_per_instance

    def v1_size(self) -> tuple[float, float] | None:
        """(cores, GB) of v1's cpuCores/memoryGb, v1's default for the one left unset; None when neither is
        set. The one rule of both v2 paths: managed maps it to a SKU (managed/skus.py), kubernetes-endpoint
        requests it as an InstanceType (kubernetes_endpoint/instance_types.py)."""
        if self.cpu_cores is None and self.memory_gb is None:
            return None
        return (V1_DEFAULT_CPU_CORES if self.cpu_cores is None else self.cpu_cores,
                V1_DEFAULT_MEMORY_GB if self.memory_gb is None else self.memory_gb)


class EndpointSettings(TargetSettings):
    """What both online endpoint targets declare; each target's model sets what sets them apart."""

    # endpointComputeType of its deployments (API spec mfe.json: Managed | Kubernetes).
    compute_type: ClassVar[str]
    # How its front door answers (statuses, requests admitted at once), as Azure documents it.
    front_door: ClassVar[FrontDoor]
    # The longest requestTimeoutMs a deployment may set.
    max_request_timeout_ms: ClassVar[int]
    # Mirrored traffic and Microsoft Entra tokens (aad_token): managed endpoints only.
    mirror_supported: ClassVar[bool] = False
    aad_token_supported: ClassVar[bool] = False
    moved_keys: ClassVar[Mapping[str, str]] = V1_SERVICE_KEYS

    auth_mode: Literal["key", "aml_token", "aad_token"] = Field(
        "key", description="`key`, `aml_token` or `aad_token` (Microsoft Entra; managed only). v2 has no "
        "unauthenticated mode")
    keys: KeySettings | None = Field(None, description="initial primary and secondary keys (authMode `key`); "
                                     "omitted: Azure generates them")
    endpoint_name: str | None = Field(None, pattern=r"^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$",
                                      description="the endpoint's name, unique in the region (3-32 "
                                      "characters); default `<service>-<6 hex of stack and group>`")
    deployments: dict[DeploymentName, DeploymentSettings] = Field(
        min_length=1, description="the deployments (blue/green); traffic sums to 100")
    app_insights_enabled: bool = Field(True, description="scorer logs and requests to the workspace's "
                                       "Application Insights")
    collect_model_data: bool = Field(False, description="the v2 data collector: model inputs and outputs "
                                     "to the workspace's blob store (guide: `collect_model_data`)")
    sample_request: JsonFile | None = Field(None, description="JSON request for `mldeploy test`; "
                                                "omitted: the first deployment's image's `sampleRequest`")
    description: str = Field("", description="free text, for people")

    @property
    def deployment_images(self) -> list[str]:
        return [d.image for d in self.deployments.values()]

    @property
    def image(self) -> str:
        """The image of the deployment taking the most traffic (what `serve`'s smoke test scores;
        tags never follow it: each deployment's resources name their own model)."""
        return max(self.deployments.values(), key=lambda d: d.traffic_percent).image

    @property
    def auth_enabled(self) -> bool:
        """Always: v2 online endpoints have no unauthenticated mode (authMode picks how)."""
        return True

    def image_references(self) -> list[tuple[str, str]]:
        return [(f"deployments.{name}.image", dep.image) for name, dep in self.deployments.items()]

    def deployments_by_name(self) -> dict:
        return self.deployments

    def images_built_in_azure(self) -> set[str]:
        return set(self.deployment_images)

    def endpoint_name_claim(self, name: str, stack: str, resource_group: str) -> tuple[str, str] | None:
        """Its endpoint's name (`endpointName`, else derived from stack and group)."""
        if self.endpoint_name:
            return ".endpointName", self.endpoint_name
        return "", endpoint_name(stack, resource_group, name)

    def instance_type(self, dep: "DeploymentSettings", key: str) -> str:
        """The instanceType sent to Azure for deployment `dep` (at `key`); refuses what Azure would."""
        raise NotImplementedError

    def autoscale_plan(self, dep: "DeploymentSettings") -> AutoscalePlan | None:
        """The Azure Monitor autoscale setting of deployment `dep`, where its target scales that way."""
        return None

    def kubernetes_scale(self, dep: "DeploymentSettings") -> tuple[int, int, int] | None:
        """(min, max, target percent) of `dep`'s TargetUtilization scale settings, where its target scales so."""
        return None

    @model_validator(mode="after")
    def _keys_need_key_auth(self):
        if self.keys is not None and self.auth_mode != "key":
            raise ValueError(f"keys are set but authMode is {self.auth_mode!r}: keys apply to authMode key")
        return self
