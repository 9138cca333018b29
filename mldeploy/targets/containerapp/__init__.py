"""`target: containerapp`: Azure Container Apps - scale to zero, HTTP concurrency scaling, revisions
with traffic split by label, identity pulls, the same gateway for keys. Everything particular to
the target lives in this package (config model, load-time checks, plan, program step, mocks);
its ComponentResource is components/containerapp.py (the user's layout keeps components there)."""
from mldeploy.targets.containerapp.config import ContainerAppServiceSettings
from mldeploy.targets.containerapp.mocks import MOCKS
from mldeploy.targets.containerapp.plan import check
from mldeploy.targets.target import Target


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.containerapp.program import deploy_containerapp
    return deploy_containerapp(name, entry, foundation)


TARGET = Target(name="containerapp", settings=ContainerAppServiceSettings, deploy=deploy, check=check, mocks=MOCKS,
                policies=("mldeploy.policies.containerapp",))
