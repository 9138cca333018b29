"""What an online endpoint's front door answers, per target, as Azure documents it - the rules the
local rehearsal (plan/gateway.py endpoint_gateway, rendered by render/gateway.py) follows, decided here once.

Source: MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-troubleshoot-online-endpoints.md,
"HTTP status codes" (read 2026-12-04):

managed ("Common error codes for managed online endpoints"):
- 408 "The model execution took longer than the timeout supplied in request_timeout_ms";
- 424 "If your model container returns a non-200 response, Azure returns a 424 ... check response
  headers `ms-azureml-model-error-statuscode` and `ms-azureml-model-error-reason`";
- 429 "Azure Machine Learning permits a maximum of `2 * max_concurrent_requests_per_instance *
  instance_count requests` to process in parallel at any given time. Requests that exceed this
  maximum are rejected."

kubernetes-endpoint ("Common error codes for Kubernetes online endpoints"):
- 502 "Exception or crash in the run() method of the score.py file" (the scorer answers 500 for an
  exception in run(); a crashed worker closes the connection, which nginx answers 502 itself);
- 503 "Large spikes in requests per second": azureml-fe has no documented admission factor
  (how-to-kubernetes-inference-routing-azureml-fe.md counts queued requests into its autoscaling
  only), so the rehearsal admits maxConcurrentRequestsPerInstance per instance and answers 503 above;
- 504 "Request times out".
The table says nothing of a score.py that itself answers 4xx on Kubernetes: it passes through.
"""
from __future__ import annotations

from dataclasses import dataclass

MANAGED = "managed"
KUBERNETES = "kubernetes-endpoint"
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


FRONT_DOORS = {
    MANAGED: FrontDoor(timeout_status=408, capacity_status=429, admitted_per_max_concurrent=2,
                       model_error_status=424, model_error_from=NON_200, model_error_headers=True,
                       model_error_case="a non-200 answer of the model container"),
    KUBERNETES: FrontDoor(timeout_status=504, capacity_status=503, admitted_per_max_concurrent=1,
                          model_error_status=502, model_error_from=(500,), model_error_headers=False,
                          model_error_case="an exception in run()"),
}


def front_door(target: str) -> FrontDoor:
    return FRONT_DOORS[target]
