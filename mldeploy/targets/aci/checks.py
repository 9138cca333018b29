"""`target: aci`'s load-time checks."""
from __future__ import annotations

from typing import Any

from mldeploy import PROJECT
from mldeploy.config.base import reserved_name_problem
from mldeploy.config.errors import ConfigError
from mldeploy.targets.aci.plan import default_dns_name_label
from mldeploy.targets.aci.settings import ACI_COMMON_MAX_CPU, ACI_COMMON_MAX_MEMORY_GB, AciServiceSettings


def check(name: str, service: AciServiceSettings, stack: Any) -> None:
    """ACI is for dev/test (a production stack may not use it); its container group is named after the service."""
    if stack.production:
        raise ConfigError(f"{PROJECT}:services.{name}.target",
                          "ACI is for dev/test only and this stack is marked production "
                          f"({PROJECT}:production: true); deploy to AKS (target: aks) instead")
    # The container group is named after the service (components/aci.py: `aci-<service>-group`).
    # Microsoft.ContainerInstance/containerGroups: "Lowercase letters, numbers, and hyphens. Can't start
    # or end with hyphen. Consecutive hyphens aren't allowed." (azure-resource-manager/management/
    # resource-name-rules.md); a service name may otherwise hold "--".
    if "--" in name:
        raise ConfigError(f"{PROJECT}:services.{name}", f"invalid name {name!r} for target aci: its container group "
                          "is named after it and Azure allows no consecutive hyphens ('--') in a container group name")
    if service.dns_name_label is None:
        # The label derived from the service and stack names (plan.py) is the group's public name: ARM's
        # reserved-word rule (config/base.py reserved_name_problem) applies to it as to a label written out.
        label = default_dns_name_label(stack.stack, name, stack.resource_group_name)
        problem = reserved_name_problem(label)
        if problem:
            raise ConfigError(f"{PROJECT}:services.{name}", f"the DNS name label derived from the service and stack "
                              f"names: {problem}; rename the service or set dnsNameLabel")


def warnings(stack: Any) -> list[str]:
    """The row's `warnings`: a group above 4 CPUs / 16 GB (a "Big Container", settings.py) is legal up to
    Azure's hard limit, but needs a quota request first and may fail for regional capacity."""
    return [f"{PROJECT}:services.{name}: cpuCores {service.cpu_cores:g} / memoryGb {service.memory_gb:g} is above "
            f"{ACI_COMMON_MAX_CPU} CPUs / {ACI_COMMON_MAX_MEMORY_GB} GB: Azure needs a quota request (support "
            "request, type Quota) before such a container group deploys, and may refuse it for regional capacity "
            "(Microsoft's big-containers and container-instances-resource-and-quota-limits pages)"
            for name, service in sorted(stack.services.items())
            if isinstance(service, AciServiceSettings) and service.big_container]
