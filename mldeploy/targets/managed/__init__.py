"""`target: managed`: an Azure ML managed online endpoint with its deployments (blue/green, mirror)."""
from mldeploy.config.endpoint import ManagedEndpointSettings
from mldeploy.targets.managed.mocks import MOCKS
from mldeploy.targets.managed import logs, serve
from mldeploy.targets.target import Target


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.managed.program import deploy_endpoint
    return deploy_endpoint(name, entry, foundation)


TARGET = Target(name="managed", settings=ManagedEndpointSettings, deploy=deploy, mocks=MOCKS,
                serve_plan=serve.serve_plan, served_by_default=True, deployments=serve.deployments, logs=logs.read,
                log_containers=logs.CONTAINERS, policies=("mldeploy.policies.endpoints",))
