"""The DNS suffixes that differ between Azure's clouds (public, Azure Government, Azure operated by
21Vianet), for the names mldeploy derives itself. The cloud is the stack's `azure-native:environment`
(config/load.py); its regions are in plan/versions.py (CLOUD_REGIONS).

Sources: "Compare Azure Government and global Azure", Guidance for developers (learn.microsoft.com/
azure/azure-government/compare-azure-government-global-azure: cloudapp.azure.com ->
cloudapp.usgovcloudapi.net, *.core.windows.net -> *.core.usgovcloudapi.net); the Azure China developer
guide (docs.azure.cn/articles/guidance/developerdifferences: cloudapp.chinacloudapi.cn,
core.chinacloudapi.cn).
"""
from __future__ import annotations

# cloud -> (public IPs' DNS zone: <label>.<region>.<zone>, storage endpoint suffix)
_SUFFIXES = {
    "public": ("cloudapp.azure.com", "core.windows.net"),
    "usgovernment": ("cloudapp.usgovcloudapi.net", "core.usgovcloudapi.net"),
    "china": ("cloudapp.chinacloudapi.cn", "core.chinacloudapi.cn"),
}


def cloudapp_zone(cloud: str) -> str:
    """The zone of a public IP's DNS label in `cloud` (`<label>.<region>.<zone>`)."""
    return _SUFFIXES[cloud][0]


def storage_suffix(cloud: str) -> str:
    """A storage account's endpoint suffix in `cloud` (a connection string's EndpointSuffix)."""
    return _SUFFIXES[cloud][1]


def cloudapp_zones() -> tuple[str, ...]:
    """Every cloud's public-IP zone (zones Azure owns)."""
    return tuple(zone for zone, _ in _SUFFIXES.values())
