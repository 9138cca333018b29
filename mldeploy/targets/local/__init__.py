"""`target: local`: the scorer and the gateway as processes on this machine (no Azure)."""
from mldeploy.config.service import LocalServiceSettings
from mldeploy.targets.local.serve import serve_plan
from mldeploy.targets.target import Target


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.local.program import deploy_local
    return deploy_local(name, entry, foundation)


TARGET = Target(name="local", settings=LocalServiceSettings, deploy=deploy,
                serve_plan=serve_plan, served_by_default=True, runs_here=True)
