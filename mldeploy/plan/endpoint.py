"""Decisions for v2 online endpoints (managed and Kubernetes), made before anything is declared:
instance types, traffic and mirror, timeouts, the quota preflight, names. Pure functions: no
Pulumi, plain data in and out; every refusal is a ConfigError naming the key.

Limits, with their sources:
- traffic sums to 100; mirror sums to at most 50 (API spec mfe.json 2025-12-01,
  OnlineEndpointProperties.traffic / .mirrorTraffic);
- mirror: one deployment only, never one with live traffic, not on Kubernetes endpoints
  (how-to-safely-rollout-online-endpoints.md, "Mirroring has the following limitations");
- `aad_token` on managed endpoints only (concept-endpoints-online-auth.md: "Microsoft Entra ID
  aad_token authentication is supported only for managed online endpoints");
- request timeout at most 180 s managed (reference-yaml-deployment-managed-online.md,
  request_timeout_ms: "the maximum value allowed is 180000 milliseconds"); 300 s on Kubernetes
  is the project's limit from issue 13 - no Microsoft document read here states it;
- quota: ceil(1.2 × instances) × cores per VM family (reference-managed-online-endpoints-vm-sku-list.md).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from mldeploy import PROJECT
from mldeploy.config.endpoint import AUTH_MODES, EndpointSettings, ProbeSettings
from mldeploy.config.errors import ConfigError
from mldeploy.plan.batch import compute_name
from mldeploy.plan.batching import image_loads
from mldeploy.plan.scorer import UNBATCHED, WorkerLoad
from mldeploy.plan.naming import hash_suffix
from mldeploy.plan.front_door import KUBERNETES, MANAGED, front_door  # the two targets' names live there
from mldeploy.plan.managed_skus import (DEFAULT_SKU, SKU_FAMILIES, ManagedSku, find_sku, reserved_instances,
                                   sku_for_v1_size)
from mldeploy.plan.tags import SPLIT_BETWEEN_DEPLOYMENTS, SPLIT_TAG

if TYPE_CHECKING:
    from mldeploy.config.endpoint import DeploymentSettings, EndpointSettings
    from mldeploy.config.stack import StackSettings

MAX_REQUEST_TIMEOUT_MS = {MANAGED: 180_000, KUBERNETES: 300_000}
# A deployment's properties.endpointComputeType per target (API spec mfe.json: Managed | Kubernetes).
COMPUTE_TYPE = {MANAGED: "Managed", KUBERNETES: "Kubernetes"}
MAX_MIRROR_PERCENT = 50
TOTAL_TRAFFIC = 100
KUBERNETES_DEFAULT_INSTANCE_TYPE = "defaultinstancetype"
# The header that pins a request to one deployment (how-to-safely-rollout-online-endpoints.md).
DEPLOYMENT_HEADER = "azureml-model-deployment"


def is_endpoint(service: Any) -> bool:
    """A v2 online endpoint (managed or Kubernetes), whose deployments each serve their own model."""
    return isinstance(service, EndpointSettings)


def _key(service_name: str, *parts: str) -> str:
    return ".".join([f"{PROJECT}:services.{service_name}", *parts])


# -- instance types -----------------------------------------------------------------------------

def managed_instance_type(dep: "DeploymentSettings", key: str) -> ManagedSku:
    """The SKU of a managed deployment: `instanceType`, else v1's cpuCores/memoryGb mapped by
    Microsoft's migration table, else Azure's default. Unknown SKUs are refused."""
    if dep.instance_type is not None:
        if dep.cpu_cores is not None or dep.memory_gb is not None:
            raise ConfigError(f"{key}.cpuCores", "cpuCores/memoryGb pick a SKU when instanceType is omitted; "
                                                 "with instanceType set they would be ignored: remove one")
        sku = find_sku(dep.instance_type)
        if sku is None:
            raise ConfigError(f"{key}.instanceType", f"unknown managed online endpoint SKU "
                                                     f"{dep.instance_type!r}: use one of Microsoft's managed "
                                                     "online endpoints SKU list, e.g. Standard_F4s_v2, "
                                                     "Standard_DS3_v2, Standard_E4s_v3")
        return sku
    if dep.cpu_cores is None and dep.memory_gb is None:
        return find_sku(DEFAULT_SKU)
    cpu, memory = dep.cpu_cores or 0.1, dep.memory_gb or 0.5  # v1 ACI defaults (cpu 0.1, memory 0.5)
    name = sku_for_v1_size(cpu, memory)
    if name is None:
        raise ConfigError(f"{key}.cpuCores", f"cpuCores {cpu:g} / memoryGb {memory:g} is beyond Microsoft's "
                                             "v1 migration table (up to 4 cores / 16 GB): set instanceType")
    return find_sku(name)


def instance_type(target: str, dep_name: str, dep: "DeploymentSettings", key: str) -> str:
    """The instanceType sent to Azure for one deployment."""
    if target == MANAGED:
        return managed_instance_type(dep, key).name
    if dep.instance_type is not None:
        return dep.instance_type
    if sized_by_v1(dep):
        return instance_type_name(*instance_size(dep))
    return KUBERNETES_DEFAULT_INSTANCE_TYPE


def sized_by_v1(dep: "DeploymentSettings") -> bool:
    """A Kubernetes deployment without instanceType but with cpuCores/memoryGb runs on an
    InstanceType mldeploy declares (plan/kubernetes_compute.py)."""
    return dep.instance_type is None and (dep.cpu_cores is not None or dep.memory_gb is not None)


def kubernetes_compute_name(cluster: str) -> str:
    """The Azure ML compute a cluster is attached as (2-16 characters: plan/batch.py compute_name)."""
    return compute_name(f"k8s-{cluster}")


def instance_size(dep: "DeploymentSettings") -> tuple[str, str]:
    """(cpu, memory) Kubernetes quantities of v1's cpuCores/memoryGb (1 core / 1 GB when one is unset)."""
    return f"{int(round((dep.cpu_cores or 1) * 1000))}m", f"{int(round((dep.memory_gb or 1) * 1024))}Mi"


def instance_type_name(cpu: str, memory: str) -> str:
    """Named by size, not by deployment: InstanceType names are unique in a cluster
    (how-to-manage-kubernetes-instance-types.md), so every deployment of one size on a cluster
    shares one, and two endpoints' `blue` of different sizes never overwrite each other.
    Lowercase: it is a Kubernetes object name (RFC 1123)."""
    return f"mldeploy-{cpu}-{memory}".lower()


# -- traffic ------------------------------------------------------------------------------------

def traffic(service: "EndpointSettings") -> dict[str, int]:
    return {name: d.traffic_percent for name, d in sorted(service.deployments.items())}


def mirror_traffic(service: "EndpointSettings") -> dict[str, int]:
    return {name: d.mirror_percent for name, d in sorted(service.deployments.items()) if d.mirror_percent}


def deployment_workers(dep, load: WorkerLoad = UNBATCHED) -> int:
    """A deployment's scorer workers per instance (`WORKER_COUNT`): `workerCount`, else as many as
    process maxConcurrentRequestsPerInstance requests at once - one each, or with the image's
    batching a batch (maxBatchSize) each."""
    return dep.worker_count or -(-dep.max_concurrent_requests_per_instance // load.requests)


def _check_workers(key: str, target: str, dep, load: WorkerLoad) -> None:
    """workerCount and maxConcurrentRequestsPerInstance agree, counting a batch per worker.

    Microsoft's deployment YAML reference (reference-yaml-deployment-managed-online.md,
    RequestSettings): set max_concurrent_requests_per_instance "to the number of requests that
    your model can process concurrently on a single node" and pass that concurrency as
    WORKER_COUNT - fewer workers than that only lengthen the queue inside the scorer (408s). The
    API (mfe.json, OnlineRequestSettings.maxConcurrentRequestsPerInstance): "The number of maximum
    concurrent requests per node allowed per deployment. Defaults to 1." Azure admits up to
    "2 * max_concurrent_requests_per_instance * instance_count" requests at once before 429
    (how-to-troubleshoot-online-endpoints.md, 429): the second half waits inside the container,
    so up to 2 × N workers can all be busy, and a worker beyond 2 × N never receives a request
    (each costs a model's memory); azureml-fe sends a Kubernetes pod N and queues the rest in
    itself (how-to-kubernetes-inference-routing-azureml-fe.md). With batching a worker processes
    up to maxBatchSize requests at once (one run()), so both bounds count batches: between
    ceil(N / maxBatchSize) and ceil(admitted / maxBatchSize) workers, and the instance must be
    admitted a whole batch, or maxBatchSize is never reached."""
    n, size = dep.max_concurrent_requests_per_instance, load.requests
    admitted = front_door(target).admitted(n)
    workers = deployment_workers(dep, load)
    if size == 1 and dep.worker_count is not None and not n <= workers <= 2 * n:
        raise ConfigError(key, f"workerCount ({workers}) must be between maxConcurrentRequestsPerInstance "
                               f"({n}) and twice it ({2 * n}): Azure admits up to 2 × maxConcurrentRequestsPerInstance "
                               "requests per instance; fewer workers than maxConcurrentRequestsPerInstance queue "
                               "admitted requests into timeouts, more than twice it never get a request")
    if size == 1 and workers > admitted:
        raise ConfigError(key, f"workerCount ({workers}) is over the {admitted} requests a {target} "
                               "instance is given at once: the extra workers would never score")
    if size == 1:
        return
    if admitted < size:
        raise ConfigError(f"{key}.maxConcurrentRequestsPerInstance",
                          f"{n} lets a {target} instance be given {admitted} requests at once, fewer than image "
                          f"{dep.image!r}'s batching.maxBatchSize ({size}): no batch could grow past {admitted}; "
                          f"raise maxConcurrentRequestsPerInstance (a worker takes {size}) or lower maxBatchSize")
    low, high = -(-n // size), -(-admitted // size)
    if not low <= workers <= high:
        raise ConfigError(f"{key}.workerCount", f"{workers} workers of {size} requests each (image {dep.image!r}'s "
                                                f"batching.maxBatchSize) must be between {low} (to process "
                                                f"maxConcurrentRequestsPerInstance {n} at once) and {high} (the "
                                                f"{admitted} requests a {target} instance is given at once)")
    if load.wait_ms >= dep.request_timeout_ms:
        raise ConfigError(f"{key}.requestTimeoutMs", f"{dep.request_timeout_ms} is not above image {dep.image!r}'s "
                                                     f"batching.maxLatencyMs ({load.wait_ms}): a request could time "
                                                     "out waiting for others")


def check_endpoint(name: str, service: "EndpointSettings", loads: Mapping[str, WorkerLoad] | None = None) -> None:
    """Every rule spanning keys of one endpoint; ConfigError names the first broken key. `loads`:
    each image's WorkerLoad (plan/batching.py image_loads; omitted: none batches)."""
    loads = loads or {}
    target = service.target
    if service.auth_mode == "aad_token" and target != MANAGED:
        raise ConfigError(_key(name, "authMode"), "aad_token (Microsoft Entra) is supported only on managed "
                                                  "online endpoints; use key or aml_token on Kubernetes")
    total = sum(d.traffic_percent for d in service.deployments.values())
    if total != TOTAL_TRAFFIC:
        shares = ", ".join(f"{n} {d.traffic_percent}" for n, d in sorted(service.deployments.items()))
        raise ConfigError(_key(name, "deployments"), f"trafficPercent must sum to 100 over the deployments; "
                                                     f"got {total} ({shares})")
    mirrored = [(n, d) for n, d in sorted(service.deployments.items()) if d.mirror_percent]
    for dep_name, dep in mirrored:
        key = _key(name, "deployments", dep_name, "mirrorPercent")
        if target != MANAGED:
            raise ConfigError(key, "mirrored traffic is not supported on Kubernetes online endpoints (managed only)")
        if dep.mirror_percent > MAX_MIRROR_PERCENT:
            raise ConfigError(key, f"{dep.mirror_percent} is over {MAX_MIRROR_PERCENT}: Azure mirrors at most "
                                   f"{MAX_MIRROR_PERCENT} % of the traffic")
        if dep.traffic_percent:
            raise ConfigError(key, f"deployment {dep_name!r} takes live traffic ({dep.traffic_percent} %): a "
                                   "deployment receives live or mirrored traffic, not both")
    if len(mirrored) > 1:
        raise ConfigError(_key(name, "deployments", mirrored[1][0], "mirrorPercent"),
                          f"traffic is already mirrored to {mirrored[0][0]!r}: Azure mirrors to one deployment only")
    limit = MAX_REQUEST_TIMEOUT_MS[target]
    for dep_name, dep in sorted(service.deployments.items()):
        key = _key(name, "deployments", dep_name)
        if dep.request_timeout_ms > limit:
            raise ConfigError(f"{key}.requestTimeoutMs", f"{dep.request_timeout_ms} is over {limit} ms, the "
                                                         f"longest request timeout of a {target} endpoint")
        _check_workers(key, target, dep, loads.get(dep.image, UNBATCHED))
        instance_type(target, dep_name, dep, key)  # refuses unknown SKUs and v1 sizes off the table
        if target == KUBERNETES and dep.instance_type is not None and (dep.cpu_cores or dep.memory_gb):
            raise ConfigError(f"{key}.cpuCores", "cpuCores/memoryGb define an instance type when instanceType "
                                                 "is omitted; with instanceType set remove them")


# -- quota preflight ----------------------------------------------------------------------------

@dataclass(frozen=True)
class QuotaUse:
    """Cores one VM family needs for the stack's managed deployments (20 % reserve included)."""

    family: str
    cores: int
    parts: tuple[str, ...]  # "web/blue: ceil(1.2 × 3) = 4 × 4 cores (Standard_F4s_v2)"


def quota_usage(services: Iterable[tuple[str, "EndpointSettings"]]) -> list[QuotaUse]:
    """Cores per VM family: ceil(1.2 × instances) × cores of the SKU, per managed deployment.
    With autoscaling the most instances (autoscaleMaxReplicas) count: Azure reserves for them."""
    by_family: dict[str, list[tuple[int, str]]] = {}
    for name, service in services:
        if service.target != MANAGED:
            continue
        for dep_name, dep in sorted(service.deployments.items()):
            sku = managed_instance_type(dep, _key(name, "deployments", dep_name))
            instances = dep.autoscale_max_replicas if dep.autoscale_enabled else dep.instance_count
            held = reserved_instances(instances, sku)
            cores = held * sku.cores
            how = (f"{instances}" if sku.skips_reservation else f"ceil(1.2 × {instances}) = {held}")
            by_family.setdefault(sku.family, []).append(
                (cores, f"{name}/{dep_name}: {how} × {sku.cores} cores ({sku.name}) = {cores}"))
    return [QuotaUse(family, sum(c for c, _ in parts), tuple(p for _, p in parts))
            for family, parts in sorted(by_family.items())]


def check_quota(usage: list[QuotaUse], quota: dict[str, int]) -> None:
    """Refuse a stack whose managed deployments need more cores than a configured family quota,
    and a quota for a family no managed SKU belongs to (a typo would never be compared)."""
    families = sorted({sku.family for sku in SKU_FAMILIES.values()})
    for family in sorted(quota):
        if family not in families:
            raise ConfigError(f"{PROJECT}:endpointQuota.{family}",
                              f"unknown VM family {family!r}; the managed online endpoint SKUs' families are: "
                              f"{', '.join(families)}")
    for use in usage:
        limit = quota.get(use.family)
        if limit is not None and use.cores > limit:
            raise ConfigError(f"{PROJECT}:endpointQuota.{use.family}",
                              f"the managed deployments need {use.cores} cores of {use.family} "
                              f"({'; '.join(use.parts)}) but the quota is {limit}: lower instance counts, "
                              "choose another SKU family or raise the quota")


def quota_report(usage: list[QuotaUse], quota: dict[str, int]) -> list[str]:
    """Lines `synth` prints: cores per VM family, against the configured quota where known."""
    lines = []
    for use in usage:
        limit = quota.get(use.family)
        against = f" of {limit} (endpointQuota)" if limit is not None else " (no endpointQuota set for it)"
        lines.append(f"{use.family}: {use.cores} cores{against}")
        lines += [f"  {part}" for part in use.parts]
    return lines


def stack_quota_report(settings: "StackSettings") -> list[str]:
    """The quota preflight of a stack's managed endpoints, as `synth` prints it ([] if none)."""
    endpoints = [(n, s) for n, s in sorted(settings.services.items()) if is_endpoint(s)]
    return quota_report(quota_usage(endpoints), dict(settings.endpoint_quota))


def check_stack_endpoints(settings: "StackSettings") -> None:
    """All endpoint checks of a stack: each endpoint's rules and images, the Azure ML extension
    each cluster gets once, then the quota preflight."""
    endpoints = [(n, s) for n, s in sorted(settings.services.items()) if is_endpoint(s)]
    loads = image_loads(settings)
    for name, service in endpoints:
        check_endpoint(name, service, loads)
        for dep_name, dep in sorted(service.deployments.items()):
            models = settings.images[dep.image].models
            if len(models) != 1:
                raise ConfigError(_key(name, "deployments", dep_name, "image"),
                                  f"image {dep.image!r} bakes {len(models)} models; an online deployment "
                                  "serves exactly one registered model")
    _check_one_extension_per_cluster(endpoints)
    quota = dict(settings.endpoint_quota)
    if quota and not any(s.target == MANAGED for _, s in endpoints):
        raise ConfigError(f"{PROJECT}:endpointQuota", "applies only to managed online endpoints (target: managed); "
                                                      "this stack declares none")
    check_quota(quota_usage(endpoints), quota)


def _check_one_extension_per_cluster(endpoints: list[tuple[str, "EndpointSettings"]]) -> None:
    """A cluster has one Azure ML extension (one KubernetesCompute): its endpoints share its settings."""
    first: dict[str, "EndpointSettings"] = {}
    for _, service in endpoints:
        if service.target != KUBERNETES:
            continue
        seen = first.setdefault(service.cluster, service)
        if (service.namespace, service.inference_router_service_type, service.internal_load_balancer,
                service.ssl_cname) != (seen.namespace, seen.inference_router_service_type,
                                       seen.internal_load_balancer, seen.ssl_cname):
            raise ConfigError(f"{PROJECT}:services", f"the kubernetes-endpoint services on cluster {service.cluster!r} "
                                                     "must agree on namespace, inferenceRouterServiceType, "
                                                     "internalLoadBalancer and sslCname (with its tls): the cluster "
                                                     "has one Azure ML extension")


# -- names --------------------------------------------------------------------------------------

def endpoint_name(stack: str, resource_group: str, service: str) -> str:
    """Online endpoint names are unique per Azure region: `<service>-<6 hex>` from stack and group."""
    return f"{service[:25].rstrip('-')}-{hash_suffix(stack, resource_group)}"


def iso_ms(milliseconds: int) -> str:
    """ISO 8601 duration as the API takes it (`PT5S`, `PT0.5S`)."""
    seconds = milliseconds / 1000
    return f"PT{seconds:g}S"


@dataclass(frozen=True)
class AssetPlan:
    """One image's environment (conda file on an Azure ML base image) and code (score.py)."""

    environment_name: str
    environment_version: str
    conda_text: str
    base_image: str
    code_name: str
    code_version: str
    code_blob_prefix: str
    code_files: tuple[tuple[str, Path], ...]
    scoring_script: str


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
    # Each image's environment and code are tagged with the one model the image serves.
    asset_tags: dict[str, dict[str, str]] = field(default_factory=dict)


def _probe(p: ProbeSettings) -> dict:
    return {"initial_delay": f"PT{p.initial_delay_seconds}S", "period": f"PT{p.period_seconds}S",
            "timeout": f"PT{p.timeout_seconds}S", "failure_threshold": p.failure_threshold,
            "success_threshold": p.success_threshold}


def used_images(service: "EndpointSettings") -> list[str]:
    """The images the endpoint's deployments serve, each once."""
    return sorted({d.image for d in service.deployments.values()})


def plan_endpoint(name: str, service: EndpointSettings, *, stack: str, resource_group: str,
                  assets: dict[str, "AssetPlan"], image_models: dict[str, list[str]],
                  tags: dict[str, str], model_tags: dict[str, dict[str, str]] | None = None,
                  loads: Mapping[str, WorkerLoad] | None = None) -> "EndpointPlan":
    """Everything the OnlineEndpoint component declares, decided from validated settings;
    `assets`: the environment and code of each image the deployments use (`used_images`);
    `tags`: the service's tags (no model); `model_tags`: per models entry, its model/version tags;
    `loads`: each image's WorkerLoad (omitted: none batches)."""
    kind = COMPUTE_TYPE[service.target]
    loads = loads or {}
    model_tags = model_tags or {}

    def served(image: str) -> dict[str, str]:
        return dict(sorted({**tags, **model_tags.get(image_models[image][0], {})}.items()))

    deployments = []
    for dep_name, dep in sorted(service.deployments.items()):
        key = f"{PROJECT}:services.{name}.deployments.{dep_name}"
        models = image_models[dep.image]  # one: plan/endpoint.py check_stack_endpoints, at load
        autoscale = k8s_scale = None
        if dep.autoscale_enabled and service.target == MANAGED:
            target = dep.autoscale_target_utilization
            autoscale = AutoscalePlan(minimum=dep.autoscale_min_replicas, maximum=dep.autoscale_max_replicas,
                                      default=dep.instance_count, scale_out_above=target,
                                      # In well below the target, so one instance less does not push
                                      # the others straight back over it (no flapping).
                                      scale_in_below=max(1, target // 2))
        elif dep.autoscale_enabled:
            k8s_scale = (dep.autoscale_min_replicas, dep.autoscale_max_replicas, dep.autoscale_target_utilization)
        deployments.append(DeploymentPlan(
            name=dep_name, image=dep.image, model=models[0],
            instance_type=instance_type(service.target, dep_name, dep, key),
            instance_count=dep.instance_count, request_timeout=iso_ms(dep.request_timeout_ms),
            max_concurrent_requests=dep.max_concurrent_requests_per_instance,
            liveness=_probe(dep.liveness_probe), readiness=_probe(dep.readiness_probe),
            # The inference server runs one worker per admitted request, or batch (_check_workers).
            environment_variables={"WORKER_COUNT": str(deployment_workers(dep, loads.get(dep.image, UNBATCHED))),
                                   **dep.environment_variables},
            app_insights_enabled=service.app_insights_enabled, description=dep.description,
            autoscale=autoscale, kubernetes_scale=k8s_scale, tags=served(dep.image)))
    ep_name = service.endpoint_name or endpoint_name(stack, resource_group, name)
    # Tags, description and authMode are not in it: EndpointTraffic applies those itself.
    revision = hashlib.sha256(json.dumps({"name": ep_name, "kind": kind, "keys": service.keys is not None},
                                         sort_keys=True).encode()).hexdigest()[:16]
    return EndpointPlan(kind=kind, endpoint_name=ep_name, auth_mode=AUTH_MODES[service.auth_mode],
                        description=service.description or f"mldeploy online endpoint {name}",
                        collect_model_data=service.collect_model_data, assets=assets,
                        deployments=tuple(deployments), traffic=traffic(service),
                        mirror_traffic=mirror_traffic(service), revision=revision,
                        endpoint_tags=dict(sorted({**tags, SPLIT_TAG: SPLIT_BETWEEN_DEPLOYMENTS}.items())),
                        asset_tags={image: served(image) for image in sorted(assets)})
