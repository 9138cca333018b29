"""`target: aci`'s load-time checks."""
from __future__ import annotations

from typing import Any

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError
from mldeploy.targets.aci.settings import AciServiceSettings


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
