"""AKS: clusters (created or attached) and the production scoring service on them."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mldeploy.config.base import Settings
from mldeploy.config.service import ServiceSettings


class AttachSettings(Settings):
    """An existing cluster, found by resource group and name (guide: "use an existing cluster")."""

    resource_group: str = Field(min_length=1)
    name: str = Field(min_length=1)


class ClusterSettings(Settings):
    """An AKS cluster: created from `vmSize` x `agentCount`, or attached with `attach`."""

    vm_size: str = "Standard_D3_v2"
    agent_count: int = Field(3, ge=1, le=1000)
    vcpus_per_node: int | None = Field(None, ge=1, le=512)
    kubernetes_version: str | None = Field(None, pattern=r"^\d+\.\d+(\.\d+)?$")
    attach: AttachSettings | None = None


class AksServiceSettings(ServiceSettings):
    """A production web service on AKS (guide: `AksWebservice.deploy_configuration`)."""

    target: Literal["aks"]
    cluster: str = Field(description="name of an entry in `clusters`")
    namespace: str = Field("default", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    autoscale_enabled: bool = True
    autoscale_target_utilization: int = Field(70, ge=1, le=100)
    autoscale_min_replicas: int = Field(1, ge=1, le=1000)
    autoscale_max_replicas: int = Field(10, ge=1, le=1000)
    num_replicas: int | None = Field(None, ge=1, le=1000)
    replica_max_concurrent_requests: int = Field(1, ge=1, le=1000)
    collect_model_data: bool = False

    @model_validator(mode="after")
    def _replicas(self):
        if self.autoscale_min_replicas > self.autoscale_max_replicas:
            raise ValueError(
                f"autoscaleMinReplicas ({self.autoscale_min_replicas}) must be <= "
                f"autoscaleMaxReplicas ({self.autoscale_max_replicas})"
            )
        if self.autoscale_enabled and self.num_replicas is not None:
            raise ValueError("numReplicas applies only when autoscaleEnabled is false")
        return self
