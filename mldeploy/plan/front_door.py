"""What an online endpoint's front door answers: the rules the local rehearsal (plan/gateway.py
endpoint_gateway, rendered by render/gateway.py) follows. Each target's own front door, with its
source (how-to-troubleshoot-online-endpoints.md, "HTTP status codes"), is in its settings model:
mldeploy/targets/managed/settings.py, mldeploy/targets/kubernetes_endpoint/settings.py.
"""
from __future__ import annotations

from dataclasses import dataclass

MODEL_ERROR_STATUS_HEADER = "ms-azureml-model-error-statuscode"
MODEL_ERROR_REASON_HEADER = "ms-azureml-model-error-reason"
# Statuses nginx produces itself for a scorer that is unreachable (502) or too slow (504): the
# container's own answers are every other status from 300 up.
GATEWAY_OWN = (502, 504)
NON_200 = tuple(s for s in range(300, 600) if s not in GATEWAY_OWN)


@dataclass(frozen=True)
class FrontDoor:
    """How one target's front door answers: its statuses and how many requests it admits at once."""

    timeout_status: int  # scoring longer than requestTimeoutMs
    capacity_status: int  # more requests than admitted at once
    admitted_per_max_concurrent: int  # admitted at once per instance = this × maxConcurrentRequestsPerInstance
    model_error_status: int  # what a container's answer in `model_error_from` becomes
    model_error_from: tuple[int, ...]  # the container statuses replaced by model_error_status
    model_error_headers: bool  # the container's status and reason in ms-azureml-model-error-* headers
    model_error_case: str  # the model error in words (serve prints it)

    def admitted(self, max_concurrent_requests_per_instance: int, instances: int = 1) -> int:
        return self.admitted_per_max_concurrent * max_concurrent_requests_per_instance * instances
