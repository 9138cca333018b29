"""`target: local`: the scorer and the gateway on this machine (no Azure): as processes under
`mldeploy serve`, as Docker containers under `pulumi up` (LocalService). Everything particular to
the target lives in this package: config model (settings.py), load-time checks (checks.py), plan
(plan.py; its LocalPlan type in mldeploy/plan/local.py), program step and serve hooks."""
from mldeploy.targets.local.checks import check
from mldeploy.targets.local.serve import local_runner, serve_plan
from mldeploy.targets.local.settings import LocalServiceSettings
from mldeploy.targets.target import Target


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.local.program import deploy_local
    return deploy_local(name, entry, foundation)


TARGET = Target(name="local", secret_env=True, settings=LocalServiceSettings, deploy=deploy, check=check,
                local_runner=local_runner, serve_plan=serve_plan, served_by_default=True, runs_here=True)
