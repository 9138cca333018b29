"""Synth's mock answers for what ACI declares (components/aci.py)."""
from __future__ import annotations

from mldeploy.targets.fakes import stable_uuid
from mldeploy.targets.target import MockDefaults


def _container_group(n: str, i: dict, m) -> dict:
    return {
        # The input lists identity IDs; the resource returns them as a map id -> details.
        "identity": {**(i.get("identity") or {}), "userAssignedIdentities": {
            uid: {"principalId": stable_uuid("principal", uid)}
            for uid in (i.get("identity") or {}).get("userAssignedIdentities") or []}},
        "ipAddress": {**(i.get("ipAddress") or {}), "ip": "20.0.0.4", "fqdn": (
            f"{(i.get('ipAddress') or {}).get('dnsNameLabel', n)}.{i.get('location', 'westeurope')}.azurecontainer.io")},
    }


MOCKS = MockDefaults(outputs={"azure-native:containerinstance:ContainerGroup": _container_group})
