"""How much of a service its scorer gets: workers and memory, per target. One rule for the
plans, the body-limit check and the local runtime."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from mldeploy.config.service import ServiceSettings
from mldeploy.plan.timeouts import scorer_timeouts


@dataclass(frozen=True)
class WorkerLoad:
    """How one scorer worker takes requests (plan/batching.py `image_load`): `requests` at once -
    1, or with the image's batching its maxBatchSize (the scorer host's granian backpressure,
    scoring/scorer_host.py `requests_per_worker`) - and `wait_ms`, the longest a request may wait
    for others before its batch's run() starts (0, or maxLatencyMs). Every rule that counted one
    request per worker counts `requests`; every rule that waited for the scorer's limit adds `wait_ms`."""

    requests: int = 1
    wait_ms: int = 0


UNBATCHED = WorkerLoad()


def scorer_workers(service: ServiceSettings, load: WorkerLoad = UNBATCHED) -> int:
    """The scorer's workers: `workerCount`, else the target's default (AKS: its
    `replicaMaxConcurrentRequests` requests, `load.requests` per worker; ACI: one per core left
    beside the gateway; local: one per core)."""
    return service.worker_count or service.default_workers(load.requests)


def scorer_memory_mb(service: ServiceSettings) -> float:
    """Memory of the scorer's container (MB): an ACI group's gateway takes its share first."""
    return service.scorer_memory_gb * 1024


def scorer_env(service: ServiceSettings, load: WorkerLoad = UNBATCHED) -> tuple[tuple[str, str], ...]:
    """The scorer container's environment for `service`."""
    return workers_and_timeouts(scorer_workers(service, load), service.scoring_timeout_ms)


# The stack file's keys each variable of workers_and_timeouts is set from (`mldeploy diff` names them
# beside a changed variable: the reviewer changed the key, not the variable).
SET_FROM = {"WORKER_COUNT": "`workerCount` / `maxConcurrentRequestsPerInstance`",
            **dict.fromkeys(scorer_timeouts(1), "`scoringTimeoutMs`")}


def workers_and_timeouts(workers: int, scoring_timeout_ms: int) -> tuple[tuple[str, str], ...]:
    """The scorer's workers and the one timeout rule's values (the gateway answers 504 first)."""
    return (("WORKER_COUNT", str(workers)), *scorer_timeouts(scoring_timeout_ms).items())


def user_env(*layers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The environment a stack sets on a scorer: each layer over the one before (an image's
    `environmentVariables`, then a service's or deployment's own), sorted by name."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update(layer)
    return tuple(sorted(merged.items()))


def image_envs(images: Mapping[str, Any]) -> dict[str, Mapping[str, str]]:
    """Each image's `environmentVariables`, by image name (a v2 endpoint's deployments, IoT Edge)."""
    return {name: image.environment_variables for name, image in images.items()}


def service_env(images: Mapping[str, Any], service: ServiceSettings,
                image: str | None = None) -> tuple[tuple[str, str], ...]:
    """The stack's environment of `service`'s scorer serving `image` (default: the service's):
    the image's `environmentVariables`, then the service's own."""
    image = image or service.image
    image_env = images[image].environment_variables if image in images else {}
    return user_env(image_env, service.environment_variables)
