"""`target: managed`'s settings: a managed online endpoint, where Azure runs, patches and scales the VMs."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from mldeploy.plan.endpoint import MANAGED_COMPUTE, MAX_REQUEST_TIMEOUT_MS, AutoscalePlan
from mldeploy.plan.front_door import NON_200, FrontDoor
from mldeploy.targets.managed.skus import managed_instance_type
from mldeploy.targets.online_endpoint.settings import DeploymentSettings, EndpointSettings

# How a managed endpoint answers (MicrosoftDocs/azure-ai-docs articles/machine-learning/
# how-to-troubleshoot-online-endpoints.md, "Common error codes for managed online endpoints",
# read 2026-12-04):
# - 408 "The model execution took longer than the timeout supplied in request_timeout_ms";
# - 424 "If your model container returns a non-200 response, Azure returns a 424 ... check response
#   headers `ms-azureml-model-error-statuscode` and `ms-azureml-model-error-reason`";
# - 429 "Azure Machine Learning permits a maximum of `2 * max_concurrent_requests_per_instance *
#   instance_count requests` to process in parallel at any given time. Requests that exceed this
#   maximum are rejected."
MANAGED_FRONT_DOOR = FrontDoor(timeout_status=408, capacity_status=429, admitted_per_max_concurrent=2,
                               model_error_status=424, model_error_from=NON_200, model_error_headers=True,
                               model_error_case="a non-200 answer of the model container")


class ManagedEndpointSettings(EndpointSettings):
    """A managed online endpoint: Azure runs, patches and scales the VMs."""

    compute_type: ClassVar[str] = MANAGED_COMPUTE
    front_door: ClassVar[FrontDoor] = MANAGED_FRONT_DOOR
    max_request_timeout_ms: ClassVar[int] = MAX_REQUEST_TIMEOUT_MS[MANAGED_COMPUTE]
    # Mirroring: how-to-safely-rollout-online-endpoints.md ("Mirroring has the following
    # limitations": managed endpoints only). aad_token: concept-endpoints-online-auth.md ("Microsoft
    # Entra ID aad_token authentication is supported only for managed online endpoints").
    mirror_supported: ClassVar[bool] = True
    aad_token_supported: ClassVar[bool] = True

    target: Literal["managed"] = Field(description="`managed`: Azure ML managed online endpoint")

    @property
    def ingress_serves_https(self) -> bool:
        """v2 managed endpoints are HTTPS only (`https://<name>.<region>.inference.ml.azure.com`)."""
        return True

    def instance_type(self, dep: DeploymentSettings, key: str) -> str:
        return managed_instance_type(dep, key).name

    def autoscale_plan(self, dep: DeploymentSettings) -> AutoscalePlan | None:
        if not dep.autoscale_enabled:
            return None
        target = dep.autoscale_target_utilization
        return AutoscalePlan(minimum=dep.autoscale_min_replicas, maximum=dep.autoscale_max_replicas,
                             default=dep.instance_count, scale_out_above=target,
                             # In well below the target, so one instance less does not push
                             # the others straight back over it (no flapping).
                             scale_in_below=max(1, target // 2))
