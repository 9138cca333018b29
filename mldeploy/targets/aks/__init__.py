"""`target: aks`: a scoring service on an AKS cluster of the stack (created or attached)."""
from mldeploy.config.aks import AksServiceSettings
from mldeploy.plan.aks import check_service
from mldeploy.targets.aks.mocks import MOCKS
from mldeploy.targets.aks import logs, serve
from mldeploy.targets.target import Target


def check(name: str, service: AksServiceSettings, stack) -> None:
    check_service(name, service, stack.production)  # TLS that can be issued, replicas


def local_runner(name: str, service: AksServiceSettings, prepared, run_dir, *, port: int, logs_command=None):
    """serve of a service with a canary: both variants and the split (mldeploy/targets/aks/local.py)."""
    from mldeploy.targets.aks.local import local_runner as canary_runner
    return canary_runner(name, service, prepared, run_dir, port=port, logs_command=logs_command)


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.aks.program import deploy_aks
    return deploy_aks(name, entry, foundation)


TARGET = Target(name="aks", settings=AksServiceSettings, deploy=deploy, check=check, mocks=MOCKS,
                local_runner=local_runner, serve_plan=serve.serve_plan, containers=serve.containers, logs=logs.read,
                log_containers=logs.CONTAINERS, policies=("mldeploy.policies.aks",))
