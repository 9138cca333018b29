"""How much of a service its scorer gets: workers and memory, per target. One rule for the
plans, the body-limit check and the local runtime."""
from __future__ import annotations

from mldeploy.config.aks import AksServiceSettings
from mldeploy.config.service import AciServiceSettings, ServiceSettings
from mldeploy.contract import ACI_GATEWAY_CPU, ACI_GATEWAY_MEMORY_GB
from mldeploy.plan.timeouts import scorer_timeouts


def scorer_workers(service: ServiceSettings) -> int:
    """The scorer's workers, one request each: `workerCount`, else per target - AKS: its
    `replicaMaxConcurrentRequests`; ACI: one per core left beside the gateway; local: one per core."""
    if service.worker_count:
        return service.worker_count
    if isinstance(service, AksServiceSettings):  # fpga too
        return service.replica_max_concurrent_requests
    if isinstance(service, AciServiceSettings):
        return max(1, int(service.cpu_cores - ACI_GATEWAY_CPU))
    return max(1, int(service.cpu_cores))


def scorer_memory_mb(service: ServiceSettings) -> float:
    """Memory of the scorer's container (MB): an ACI group's gateway takes its share first."""
    if isinstance(service, AciServiceSettings):
        return (service.memory_gb - ACI_GATEWAY_MEMORY_GB) * 1024
    return service.memory_gb * 1024


def scorer_env(service: ServiceSettings) -> tuple[tuple[str, str], ...]:
    """The scorer container's environment for `service`."""
    return workers_and_timeouts(scorer_workers(service), service.scoring_timeout_ms)


def workers_and_timeouts(workers: int, scoring_timeout_ms: int) -> tuple[tuple[str, str], ...]:
    """The scorer's workers and the one timeout rule's values (the gateway answers 504 first)."""
    return (("WORKER_COUNT", str(workers)), *scorer_timeouts(scoring_timeout_ms).items())
