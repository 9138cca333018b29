"""`mldeploy logs` of a deployed AKS (or FPGA) service: its pods' containers (Kubernetes API)."""
from mldeploy.azure import logs as azure_logs
from mldeploy.render.k8s_pod import LABEL

CONTAINERS = ("scorer", "gateway")


def read(outputs, mine, service, settings, deployment, container, tail) -> list[tuple[str, str]]:
    # The labels of every pod of the service (render/k8s_pod.py: selector), a variant's with --deployment.
    selector = f"{LABEL}/service={service}" + (f",{LABEL}/variant={deployment}" if deployment else "")
    return azure_logs.pod_logs(azure_logs.need(mine, "kubeconfig"), azure_logs.need(mine, "namespace"), selector,
                               container=container, tail=tail)
