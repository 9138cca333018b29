"""The DNS suffixes that differ between Azure's clouds (public, Azure Government, Azure operated by
21Vianet), for the names mldeploy derives itself. The cloud is the stack's `azure-native:environment`
(config/load.py); its regions are in plan/versions.py (CLOUD_REGIONS, with the date these values were
last checked: CLOUDS_AS_OF).

Every value below, checked 2026-12-05 against two sources each:
- Azure/go-autorest autorest/azure/environments.go (commit 13ddd342), the Azure SDK's table of the
  clouds: ResourceManagerVMDNSSuffix (a public IP's `<label>.<region>.<zone>`) "cloudapp.azure.com",
  "cloudapp.usgovcloudapi.net", "cloudapp.chinacloudapi.cn"; StorageEndpointSuffix "core.windows.net",
  "core.usgovcloudapi.net", "core.chinacloudapi.cn".
- Azure/azure-cli src/azure-cli-core/azure/cli/core/cloud.py (commit 004224f7), CloudSuffixes
  storage_endpoint: the same three storage suffixes.
- Microsoft's pages: "Compare Azure Government and global Azure" (MicrosoftDocs/azure-docs
  articles/azure-government/compare-azure-government-global-azure.md: Service Fabric
  *.cloudapp.azure.com -> *.cloudapp.usgovcloudapi.net, Blob *.blob.core.windows.net ->
  *.blob.core.usgovcloudapi.net); Azure China's own docs (mc-docs.zh-cn,
  articles/virtual-machines/linux/portal-create-fqdn.md: `mydns.chinanorth.cloudapp.chinacloudapi.cn`,
  "CORRECT ON cloudapp.azure.com to cloudapp.chinacloudapi.cn").

Not used here, for whoever lifts plan/stack.py's check_cloud (v2 endpoints and batch stay public-only):
managed online endpoints answer at `<name>.<region>.inference.ml.azure.com` / `.azure.us` / `.azure.cn`
(MicrosoftDocs/azure-docs articles/machine-learning/how-to-custom-dns.md, "Used by managed online
endpoints"); ARM is management.azure.com / management.usgovcloudapi.net / management.chinacloudapi.cn
(go-autorest ResourceManagerEndpoint; the azure-native provider picks it from `environment` itself).
"""
from __future__ import annotations

# cloud -> (public IPs' DNS zone: <label>.<region>.<zone>, storage endpoint suffix); sources above.
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
