"""Synth's mock answers for batch scoring (components/batch.py)."""
from mldeploy.targets.target import MockDefaults


def _batch_endpoint(n: str, i: dict, m) -> dict:
    name = i.get("endpointName", n)
    return {"name": name, "properties": {
        **(i.get("properties") or {}),
        "scoringUri": f"https://{name}.{i.get('location', 'westeurope')}.inference.ml.azure.com/jobs"}}


MOCKS = MockDefaults(outputs={
    "azure-native:machinelearningservices:BatchEndpoint": _batch_endpoint,
    "azure-native:machinelearningservices:BatchDeployment": lambda n, i, m: {"name": i.get("deploymentName", n)},
})
