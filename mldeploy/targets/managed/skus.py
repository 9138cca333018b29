"""The VM SKU of a managed deployment: `instanceType`, else v1's cpuCores/memoryGb mapped by
Microsoft's migration table, else Azure's default (the tables: mldeploy/plan/managed_skus.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from mldeploy.config.errors import ConfigError
from mldeploy.plan.managed_skus import DEFAULT_SKU, ManagedSku, find_sku, sku_for_v1_size

if TYPE_CHECKING:
    from mldeploy.targets.online_endpoint.settings import DeploymentSettings


def managed_instance_type(dep: "DeploymentSettings", key: str) -> ManagedSku:
    """The SKU of a managed deployment at `key`. Unknown SKUs are refused."""
    if dep.instance_type is not None:
        if dep.cpu_cores is not None or dep.memory_gb is not None:
            raise ConfigError(f"{key}.cpuCores", "cpuCores/memoryGb pick a SKU when instanceType is omitted; "
                                                 "with instanceType set they would be ignored: remove one")
        sku = find_sku(dep.instance_type)
        if sku is None:
            raise ConfigError(f"{key}.instanceType", f"unknown managed online endpoint SKU "
                                                     f"{dep.instance_type!r}: use one of Microsoft's managed "
                                                     "online endpoints SKU list, e.g. Standard_F4s_v2, "
                                                     "Standard_DS3_v2, Standard_E4s_v3")
        return sku
    size = dep.v1_size()  # v1's default for the one unset (online_endpoint/settings.py), as kubernetes-endpoint
    if size is None:
        return find_sku(DEFAULT_SKU)
    cpu, memory = size
    name = sku_for_v1_size(cpu, memory)
    if name is None:
        raise ConfigError(f"{key}.cpuCores", f"cpuCores {cpu:g} / memoryGb {memory:g} is beyond Microsoft's "
                                             "v1 migration table (up to 4 cores / 16 GB): set instanceType")
    return find_sku(name)
