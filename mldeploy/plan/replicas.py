"""The guide's replica formula: how many replicas serve R requests/s of T seconds each."""
from __future__ import annotations

import math
from mldeploy.contract import DEFAULT_TARGET_UTILIZATION
from dataclasses import dataclass


@dataclass(frozen=True)
class ReplicaEstimate:
    """The formula's inputs and result, so callers can show the arithmetic."""

    requests_per_second: float
    request_seconds: float
    max_concurrent: int
    target_utilization_percent: int
    replicas: int

    def explain(self) -> str:
        r, t, c, u = self.requests_per_second, self.request_seconds, self.max_concurrent, self.target_utilization_percent
        return (f"ceil({r:g} req/s x {t:g} s / {u / 100:g} / {c}) = "
                f"ceil({r * t / (u / 100) / c:.3f}) = {self.replicas} replica(s)")


def replicas_needed(requests_per_second: float, request_seconds: float, max_concurrent: int = 1,
                    target_utilization_percent: int = DEFAULT_TARGET_UTILIZATION) -> ReplicaEstimate:
    """ceil(R x T / U / C) (guide: `autoscale_target_utilization`, `replica_max_concurrent_requests`),
    at least 1. Raises ValueError for inputs outside the formula's domain."""
    if requests_per_second < 0 or not math.isfinite(requests_per_second):
        raise ValueError(f"requests per second must be >= 0, got {requests_per_second}")
    if request_seconds <= 0 or not math.isfinite(request_seconds):
        raise ValueError(f"request seconds must be > 0, got {request_seconds}")
    if max_concurrent < 1:
        raise ValueError(f"max concurrent requests per replica must be >= 1, got {max_concurrent}")
    if not 1 <= target_utilization_percent <= 100:
        raise ValueError(f"target utilization must be 1-100 (%), got {target_utilization_percent}")
    # Rounded to 9 places first so that float noise (e.g. 2.0000000001) does not add a replica.
    raw = round(requests_per_second * request_seconds / (target_utilization_percent / 100) / max_concurrent, 9)
    if not math.isfinite(raw):  # 1e308 x 1e308: each finite, their product not (math.ceil raised OverflowError)
        raise ValueError(f"requests per second x request seconds ({requests_per_second:g} x {request_seconds:g}) is "
                         "too large to count replicas for")
    return ReplicaEstimate(requests_per_second, request_seconds, max_concurrent,
                           target_utilization_percent, max(1, math.ceil(raw)))


@dataclass(frozen=True)
class BoundsSuggestion:
    """Suggested autoscaleMinReplicas/MaxReplicas for an expected average and peak load."""

    min_replicas: ReplicaEstimate
    max_replicas: ReplicaEstimate

    def lines(self, configured_min: int, configured_max: int) -> list[str]:
        out = [f"autoscaleMinReplicas: {self.min_replicas.replicas} (average load: {self.min_replicas.explain()})",
               f"autoscaleMaxReplicas: {self.max_replicas.replicas} (peak load: {self.max_replicas.explain()})"]
        if configured_max < self.max_replicas.replicas:
            out.append(f"note: autoscaleMaxReplicas is {configured_max}, below the {self.max_replicas.replicas} "
                       "the peak needs")
        if configured_min < self.min_replicas.replicas:
            out.append(f"note: autoscaleMinReplicas is {configured_min}, below the {self.min_replicas.replicas} "
                       "the average load needs (each scale-up takes a pod start)")
        return out


def suggest_bounds(average_rps: float, peak_rps: float | None, request_seconds: float, max_concurrent: int,
                   target_utilization_percent: int) -> BoundsSuggestion:
    """The formula at the average load (min) and at the peak (max; the average when no peak)."""
    low = replicas_needed(average_rps, request_seconds, max_concurrent, target_utilization_percent)
    high = replicas_needed(max(peak_rps or average_rps, average_rps), request_seconds, max_concurrent,
                           target_utilization_percent)
    return BoundsSuggestion(low, high)
