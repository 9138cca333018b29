"""`mldeploy logs` of a deployed online endpoint: each deployment's container logs (ARM getLogs)."""
from mldeploy.azure import logs as azure_logs

CONTAINERS = tuple(azure_logs.ENDPOINT_CONTAINERS)  # inference-server (the default), storage-initializer


def read(outputs, mine, service, endpoint, deployment, container, tail) -> list[tuple[str, str]]:
    arm, sub = azure_logs.ArmLogs(), azure_logs.subscription_of(outputs)
    kind = container or CONTAINERS[0]
    group, workspace = azure_logs.need(outputs, "resourceGroup"), azure_logs.need(outputs, "workspace")
    return [(f"{name}/{kind}", arm.deployment_logs(sub, group, workspace, azure_logs.need(mine, "endpointName"),
                                                   name, kind, tail))
            for name in ([deployment] if deployment else sorted(endpoint.deployments))]
