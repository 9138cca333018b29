"""`mldeploy logs` of a deployed ACI service: its container group's containers (ARM)."""
from mldeploy.azure import logs as azure_logs

CONTAINERS = ("scorer", "gateway")


def read(outputs, mine, service, settings, deployment, container, tail) -> list[tuple[str, str]]:
    arm, sub = azure_logs.ArmLogs(), azure_logs.subscription_of(outputs)
    group = azure_logs.need(mine, "containerGroup")
    return [(name, arm.container_logs(sub, azure_logs.need(outputs, "resourceGroup"), group, name, tail))
            for name in ([container] if container else list(CONTAINERS))]
