"""How much of a service its scorer gets: workers and memory, per target. One rule for the
plans, the body-limit check and the local runtime."""
from __future__ import annotations

from mldeploy.config.service import ServiceSettings
from mldeploy.plan.timeouts import scorer_timeouts


def scorer_workers(service: ServiceSettings) -> int:
    """The scorer's workers, one request each: `workerCount`, else the target's default (AKS: its
    `replicaMaxConcurrentRequests`; ACI: one per core left beside the gateway; local: one per core)."""
    return service.worker_count or service.default_workers()


def scorer_memory_mb(service: ServiceSettings) -> float:
    """Memory of the scorer's container (MB): an ACI group's gateway takes its share first."""
    return service.scorer_memory_gb * 1024


def scorer_env(service: ServiceSettings) -> tuple[tuple[str, str], ...]:
    """The scorer container's environment for `service`."""
    return workers_and_timeouts(scorer_workers(service), service.scoring_timeout_ms)


def workers_and_timeouts(workers: int, scoring_timeout_ms: int) -> tuple[tuple[str, str], ...]:
    """The scorer's workers and the one timeout rule's values (the gateway answers 504 first)."""
    return (("WORKER_COUNT", str(workers)), *scorer_timeouts(scoring_timeout_ms).items())
