"""`target: aks`: a scoring service on an AKS cluster of the stack (created or attached)."""
from mldeploy.config.aks import AksServiceSettings
from mldeploy.plan.aks import check_service
from mldeploy.targets.aks.mocks import MOCKS
from mldeploy.targets.aks import logs, serve
from mldeploy.targets.target import StartingPoint, Target


def check(name: str, service: AksServiceSettings, stack) -> None:
    check_service(name, service, stack.production)  # TLS that can be issued, replicas


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.aks.program import deploy_aks
    return deploy_aks(name, entry, foundation)


TARGET = Target(name="aks", settings=AksServiceSettings, deploy=deploy, check=check, mocks=MOCKS,
                starting_point=StartingPoint("prod", order=3),
                local_runner=serve.local_runner, serve_plan=serve.serve_plan, containers=serve.containers, logs=logs.read,
                log_containers=logs.CONTAINERS, policies=("mldeploy.policies.aks",))
