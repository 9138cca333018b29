"""`target: managed`: an Azure ML managed online endpoint with its deployments (blue/green, mirror).
Its settings, SKU choice, quota preflight and front door live here; what it shares with
`kubernetes-endpoint` (deployments, traffic rules, plan, program step, mocks, serve and logs
hooks) in mldeploy/targets/online_endpoint/."""
from mldeploy.targets.managed.plan import check, check_stack, report
from mldeploy.targets.managed.settings import ManagedEndpointSettings
from mldeploy.targets.online_endpoint import logs, serve
from mldeploy.targets.online_endpoint.settings import SECRET_ENV_INSTEAD
from mldeploy.targets.online_endpoint.mocks import MOCKS
from mldeploy.targets.target import StartingPoint, Target


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.online_endpoint.program import deploy_endpoint
    return deploy_endpoint(name, entry, foundation)


TARGET = Target(secret_env_instead=SECRET_ENV_INSTEAD, name="managed", settings=ManagedEndpointSettings, deploy=deploy, check=check, check_stack=check_stack,
                report=report, mocks=MOCKS, starting_point=StartingPoint("managed", order=2, production=True),
                local_runner=serve.local_runner, serve_plan=serve.serve_plan, containers=serve.containers,
                served_by_default=True, deployments=serve.deployments, logs=logs.read, log_containers=logs.CONTAINERS,
                policies=("mldeploy.policies.endpoints",))
