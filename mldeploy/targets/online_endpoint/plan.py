"""Decisions for v2 online endpoints, shared by `managed` and `kubernetes-endpoint`, made before
anything is declared: the rules spanning keys of one endpoint (traffic and mirror, timeouts,
workers, instance types), then the whole `EndpointPlan` OnlineEndpoint declares. Pure functions:
no Pulumi, plain data in and out; every refusal is a ConfigError naming the key. Where the two
targets differ the settings' model says how (EndpointSettings' class attributes, `instance_type`).

Limits, with their sources (the numbers: mldeploy/plan/endpoint.py):
- mirror: one deployment only, never one with live traffic, not on Kubernetes endpoints
  (how-to-safely-rollout-online-endpoints.md, "Mirroring has the following limitations");
- `aad_token` on managed endpoints only (concept-endpoints-online-auth.md: "Microsoft Entra ID
  aad_token authentication is supported only for managed online endpoints").
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError
from mldeploy.plan.batching import image_loads
from mldeploy.plan.endpoint import (MAX_MIRROR_PERCENT, TOTAL_TRAFFIC, AssetPlan, DeploymentPlan, EndpointPlan,
                                    deployment_workers, endpoint_name, iso_ms)
from mldeploy.plan.scorer import UNBATCHED, WorkerLoad, user_env
from mldeploy.plan.tags import SPLIT_BETWEEN_DEPLOYMENTS, SPLIT_TAG
from mldeploy.targets.online_endpoint.settings import AUTH_MODES, EndpointSettings, ProbeSettings


def _key(service_name: str, *parts: str) -> str:
    return ".".join([f"{PROJECT}:services.{service_name}", *parts])


# -- traffic ------------------------------------------------------------------------------------

def traffic(service: EndpointSettings) -> dict[str, int]:
    return {name: d.traffic_percent for name, d in sorted(service.deployments.items())}


def mirror_traffic(service: EndpointSettings) -> dict[str, int]:
    return {name: d.mirror_percent for name, d in sorted(service.deployments.items()) if d.mirror_percent}


def _check_workers(key: str, service: EndpointSettings, dep, load: WorkerLoad) -> None:
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
    admitted a whole batch, or maxBatchSize is never reached. What an instance is admitted is its
    target's front door's (the settings model's `front_door`)."""
    target = service.target
    n, size = dep.max_concurrent_requests_per_instance, load.requests
    admitted = service.front_door.admitted(n)
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


def check_endpoint(name: str, service: EndpointSettings, loads: Mapping[str, WorkerLoad] | None = None) -> None:
    """Every rule spanning keys of one endpoint; ConfigError names the first broken key. `loads`:
    each image's WorkerLoad (plan/batching.py image_loads; omitted: none batches)."""
    loads = loads or {}
    target = service.target
    if service.auth_mode == "aad_token" and not service.aad_token_supported:
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
        if not service.mirror_supported:
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
    limit = service.max_request_timeout_ms
    for dep_name, dep in sorted(service.deployments.items()):
        key = _key(name, "deployments", dep_name)
        if dep.request_timeout_ms > limit:
            raise ConfigError(f"{key}.requestTimeoutMs", f"{dep.request_timeout_ms} is over {limit} ms, the "
                                                         f"longest request timeout of a {target} endpoint")
        _check_workers(key, service, dep, loads.get(dep.image, UNBATCHED))
        service.instance_type(dep, key)  # refuses unknown SKUs, v1 sizes off the table, sizes beside a type


def check_one_model_per_deployment(name: str, service: EndpointSettings, stack: Any) -> None:
    """An online deployment serves exactly one registered model: its image bakes one."""
    for dep_name, dep in sorted(service.deployments.items()):
        models = stack.images[dep.image].models
        if len(models) != 1:
            raise ConfigError(_key(name, "deployments", dep_name, "image"),
                              f"image {dep.image!r} bakes {len(models)} models; an online deployment "
                              "serves exactly one registered model")


# Azure ML's endpoint and deployment names "Only consist of letters and numbers" with "Single dashes like
# `my-endpoint-name`" accepted (MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-manage-quotas.md,
# "Azure Machine Learning online endpoints and batch endpoints", no exception allowed): `blue--2` is refused.
def double_dash_problem(value: str, what: str) -> str | None:
    """Why `value` is no Azure ML endpoint or deployment name for its dashes, or None."""
    if "--" in value:
        return (f"{what} {value!r} has '--': Azure ML's endpoint and deployment names are letters and digits "
                "with single dashes between them (my-endpoint-name)")
    return None


def check(name: str, service: EndpointSettings, stack: Any) -> None:
    """The load-time rules every online endpoint keeps (each target adds its own)."""
    for dep_name in sorted(service.deployments):
        problem = double_dash_problem(dep_name, "deployment name")
        if problem:
            raise ConfigError(_key(name, "deployments", dep_name), problem)
    check_endpoint(name, service, image_loads(stack))
    check_one_model_per_deployment(name, service, stack)


# -- the plan -----------------------------------------------------------------------------------

def _probe(p: ProbeSettings) -> dict:
    return {"initial_delay": f"PT{p.initial_delay_seconds}S", "period": f"PT{p.period_seconds}S",
            "timeout": f"PT{p.timeout_seconds}S", "failure_threshold": p.failure_threshold,
            "success_threshold": p.success_threshold}


def used_images(service: EndpointSettings) -> list[str]:
    """The images the endpoint's deployments serve, each once."""
    return sorted({d.image for d in service.deployments.values()})


def plan_endpoint(name: str, service: EndpointSettings, *, stack: str, resource_group: str,
                  assets: dict[str, AssetPlan], image_models: dict[str, list[str]],
                  tags: dict[str, str], model_tags: dict[str, dict[str, str]] | None = None,
                  loads: Mapping[str, WorkerLoad] | None = None,
                  image_env: Mapping[str, Mapping[str, str]] | None = None) -> EndpointPlan:
    """Everything the OnlineEndpoint component declares, decided from validated settings;
    `assets`: the environment and code of each image the deployments use (`used_images`);
    `tags`: the service's tags (no model); `model_tags`: per models entry, its model/version tags;
    `loads`: each image's WorkerLoad (omitted: none batches); `image_env`: each image's
    `environmentVariables`, under a deployment's own."""
    kind = service.compute_type
    loads = loads or {}
    model_tags = model_tags or {}

    def served(image: str) -> dict[str, str]:
        return dict(sorted({**tags, **model_tags.get(image_models[image][0], {})}.items()))

    deployments = []
    for dep_name, dep in sorted(service.deployments.items()):
        key = f"{PROJECT}:services.{name}.deployments.{dep_name}"
        models = image_models[dep.image]  # one: check_one_model_per_deployment, at load
        deployments.append(DeploymentPlan(
            name=dep_name, image=dep.image, model=models[0],
            instance_type=service.instance_type(dep, key),
            instance_count=dep.instance_count, request_timeout=iso_ms(dep.request_timeout_ms),
            max_concurrent_requests=dep.max_concurrent_requests_per_instance,
            liveness=_probe(dep.liveness_probe), readiness=_probe(dep.readiness_probe),
            # The inference server runs one worker per admitted request, or batch (_check_workers).
            environment_variables={"WORKER_COUNT": str(deployment_workers(dep, loads.get(dep.image, UNBATCHED))),
                                   **dict(user_env((image_env or {}).get(dep.image, {}), dep.environment_variables))},
            app_insights_enabled=service.app_insights_enabled, description=dep.description,
            autoscale=service.autoscale_plan(dep), kubernetes_scale=service.kubernetes_scale(dep),
            tags=served(dep.image)))
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
                        asset_tags=dict(sorted(tags.items())))
