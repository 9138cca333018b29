"""`target: aks`: a scoring service on an AKS cluster of the stack (created or attached)."""
from mldeploy.config.aks import AksServiceSettings
from mldeploy.plan.aks import check_service
from mldeploy.program.aks import deploy_aks
from mldeploy.targets.aks.mocks import MOCKS
from mldeploy.targets.target import Target


def check(name: str, service: AksServiceSettings, stack) -> None:
    check_service(name, service, stack.production)  # TLS that can be issued, replicas


TARGET = Target(name="aks", settings=AksServiceSettings, deploy=deploy_aks, check=check, mocks=MOCKS)
