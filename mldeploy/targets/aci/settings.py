"""`target: aci`'s settings: one Azure Container Instances group per service (dev/test)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from mldeploy.config.base import DnsLabel
from mldeploy.config.service import ServiceSettings
from mldeploy.contract import ACI_GATEWAY_CPU, ACI_GATEWAY_MEMORY_GB, GATEWAY_IMAGE

# The most one standard-SKU container group gets (Linux and Windows, with or without a VNet), a hard
# limit: "Max CPU | Max Memory (GB) ... 31 | 240" under "Standard Container Resources": "These maximums
# are hard limits and can't be increased" (MicrosoftDocs/azure-compute-docs, articles/container-instances/
# container-instances-resource-and-quota-limits.md, ms.date 11/17/2025).
ACI_MAX_CPU = 31
ACI_MAX_MEMORY_GB = 240
# Above 4 CPUs / 16 GB a group is a "Big Container": "If you plan to run containers larger than 4 vCPU
# and 16 GB, you must submit an Azure support request (select "Quota" ...)" (same repository,
# articles/container-instances/big-containers.md, ms.date 11/17/2025), and the quota page warns of
# "deployment failures when creating container groups with more than 4 vCPUs and 16 GB of memory ...
# due to regional capacity limits". Legal, so synth warns (checks.warnings) instead of refusing.
ACI_COMMON_MAX_CPU = 4
ACI_COMMON_MAX_MEMORY_GB = 16
# The least one container group gets: "Allocate a minimum of 1 CPU and 1 GB of memory to a container
# group. Individual container instances within a group can be provisioned with less"
# (MicrosoftDocs/azure-compute-docs, articles/container-instances/container-instances-container-groups.md,
# "Minimum and maximum allocation", ms.date 11/17/2025). cpuCores/memoryGb are the group's (gateway
# and scorer together), so they must each be at least 1.
ACI_MIN_CPU = 1
ACI_MIN_MEMORY_GB = 1
# ACI takes CPU and memory in tenths: `az container create` documents --cpu as "The required number of
# CPU cores of the containers, accurate to one decimal place" and --memory as "The required memory of the
# containers in GB, accurate to one decimal place" (Azure/azure-cli, src/azure-cli/azure/cli/
# command_modules/container/_params.py), and ACI's own answer to another value is "The memory requirement
# should be times of 0.1 GB" (quoted in Azure/azure-cli issue 7355). The gateway takes 0.1 of each
# (contract.ACI_GATEWAY_CPU/MEMORY_GB), so a group size in tenths leaves the scorer tenths too.
ACI_STEP = 0.1


class AciServiceSettings(ServiceSettings):
    """Azure Container Instances: dev/test only (the guide: not for production workloads)."""

    target: Literal["aci"] = Field(description="`aci`: Azure Container Instances (dev/test)")
    dns_name_label: DnsLabel | None = Field(
        None, description="<label>.<region>.azurecontainer.io; omitted: derived from stack and service")

    @property
    def big_container(self) -> bool:
        """Above the size every region commonly gives (4 CPUs / 16 GB): legal, but needs a quota request."""
        return self.cpu_cores > ACI_COMMON_MAX_CPU or self.memory_gb > ACI_COMMON_MAX_MEMORY_GB

    @property
    def scorer_memory_gb(self) -> float:
        return self.memory_gb - ACI_GATEWAY_MEMORY_GB  # the group's gateway takes its share first

    def mirror_claims(self) -> list[tuple[str, str]]:
        return [("", GATEWAY_IMAGE)]  # the gateway container (targets/aci/program.py)

    def dns_label_claim(self) -> tuple[str, str, str] | None:
        return None if self.dns_name_label is None else ("dnsNameLabel", "azurecontainer.io", self.dns_name_label)

    def default_workers(self, requests_per_worker: int = 1) -> int:
        return max(1, int(self.cpu_cores - ACI_GATEWAY_CPU))  # one per core left beside the gateway

    @field_validator("cpu_cores", "memory_gb")
    @classmethod
    def _in_tenths(cls, value: float, info) -> float:
        tenths = value / ACI_STEP
        if abs(tenths - round(tenths)) > 1e-6:
            unit = "CPU cores" if info.field_name == "cpu_cores" else "GB"
            raise ValueError(f"{value:g} is not a multiple of {ACI_STEP:g}: ACI sizes containers in {unit} accurate "
                             f"to one decimal place (e.g. {round(value, 1):g})")
        return value

    @model_validator(mode="after")
    def _room_for_the_gateway(self):
        # The group also runs the gateway (contract.ACI_GATEWAY_CPU/MEMORY_GB); the rest is the scorer's.
        if self.cpu_cores < ACI_MIN_CPU or self.memory_gb < ACI_MIN_MEMORY_GB:
            raise ValueError(f"cpuCores ({self.cpu_cores:g}) and memoryGb ({self.memory_gb:g}) must each be "
                             f">= 1 on ACI: they size the container group (the gateway and the scorer), and Azure "
                             f"allocates a group at least {ACI_MIN_CPU} CPU and {ACI_MIN_MEMORY_GB} GB")
        if self.cpu_cores > ACI_MAX_CPU or self.memory_gb > ACI_MAX_MEMORY_GB:
            raise ValueError(f"cpuCores ({self.cpu_cores:g}) and memoryGb ({self.memory_gb:g}) exceed what one ACI "
                             f"container group gets: at most {ACI_MAX_CPU} CPUs and {ACI_MAX_MEMORY_GB} GB (standard SKU, "
                             "a hard limit: Microsoft's container-instances-resource-and-quota-limits page); "
                             "larger scorers belong on AKS")
        return self
