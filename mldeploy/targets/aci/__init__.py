"""`target: aci`: Azure Container Instances, one container group per service (dev/test)."""
from mldeploy.targets.aci.checks import check, warnings
from mldeploy.targets.aci.settings import AciServiceSettings
from mldeploy.targets.aci.mocks import MOCKS
from mldeploy.targets.aci import logs, serve
from mldeploy.targets.target import StartingPoint, Target


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.aci.program import deploy_aci
    return deploy_aci(name, entry, foundation)


TARGET = Target(name="aci", secret_env=True, settings=AciServiceSettings, deploy=deploy, check=check, warnings=warnings, mocks=MOCKS, premium_registry=True,
                starting_point=StartingPoint("dev", order=1),
                local_runner=serve.local_runner, serve_plan=serve.serve_plan, containers=serve.containers,
                logs=logs.read, log_containers=logs.CONTAINERS, policies=("mldeploy.policies.aci",))
