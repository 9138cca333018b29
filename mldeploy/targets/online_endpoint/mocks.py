"""Synth's mock answers for v2 online endpoints (components/online_endpoint.py), managed and Kubernetes alike."""
from __future__ import annotations

from mldeploy.targets.fakes import fake, stable_uuid
from mldeploy.targets.target import MockDefaults


def _endpoint(n: str, i: dict, m) -> dict:
    name, location = i.get("endpointName", n), i.get("location", "westeurope")
    return {
        "name": name,
        # The input lists identity IDs; the resource returns them as a map id -> details.
        "identity": {**(i.get("identity") or {}), "userAssignedIdentities": {
            uid: {"principalId": stable_uuid("principal", uid), "clientId": stable_uuid("client", uid)}
            for uid in (i.get("identity") or {}).get("userAssignedIdentities") or []}},
        "properties": {**(i.get("properties") or {}),
                       "scoringUri": f"https://{name}.{location}.inference.ml.azure.com/score",
                       "swaggerUri": f"https://{name}.{location}.inference.ml.azure.com/swagger.json"},
    }


MOCKS = MockDefaults(
    outputs={
        "azure-native:machinelearningservices:OnlineEndpoint": _endpoint,
        "azure-native:machinelearningservices:OnlineDeployment": lambda n, i, m: {"name": i.get("deploymentName", n)},
    },
    calls={
        "azure-native:machinelearningservices:listOnlineEndpointKeys": lambda a, m: {
            "primaryKey": m.secret(fake("endpoint-key", m.stack, str(a.get("endpointName")), "1")),
            "secondaryKey": m.secret(fake("endpoint-key", m.stack, str(a.get("endpointName")), "2")),
        },
    },
)
