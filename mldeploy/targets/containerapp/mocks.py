"""Synth's mock answers for what ContainerAppService declares (components/containerapp.py)."""
from __future__ import annotations

from mldeploy.targets.fakes import fake, stable_uuid
from mldeploy.targets.target import MockDefaults

# Every environment gets a generated default domain `<adjective>-<noun>-<hash>.<region>.azurecontainerapps.io`
# (MicrosoftDocs blue-green-deployment.md reads it as `properties.defaultDomain`); a fixed stand-in here.
DEFAULT_DOMAIN = "happy-sea-1a2b3c4d"


def _identity_map(i: dict) -> dict:
    # The input lists identity ids; the resource returns them as a map id -> details.
    return {**(i.get("identity") or {}), "userAssignedIdentities": {
        uid: {"principalId": stable_uuid("principal", uid)}
        for uid in (i.get("identity") or {}).get("userAssignedIdentities") or []}}


def _environment(n: str, i: dict, m) -> dict:
    return {"name": n, "defaultDomain": f"{DEFAULT_DOMAIN}.{i.get('location', 'westeurope')}.azurecontainerapps.io"}


def _container_app(n: str, i: dict, m) -> dict:
    return {"name": i.get("containerAppName", n), "identity": _identity_map(i)}


def _log_analytics(n: str, i: dict, m) -> dict:
    return {"name": i.get("workspaceName", n), "customerId": stable_uuid("log-analytics", m.stack, n)}


MOCKS = MockDefaults(
    outputs={
        "azure-native:app:ManagedEnvironment": _environment,
        "azure-native:app:ContainerApp": _container_app,
        "azure-native:operationalinsights:Workspace": _log_analytics,
    },
    calls={
        "azure-native:operationalinsights:getSharedKeys": lambda a, m: {
            "primarySharedKey": m.secret(fake("log-analytics-key", m.stack, a.get("workspaceName", ""))),
            "secondarySharedKey": m.secret(fake("log-analytics-key-2", m.stack, a.get("workspaceName", "")))},
    },
)
