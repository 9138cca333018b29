"""`target: kubernetes-endpoint`: an Azure ML online endpoint on an AKS cluster attached as a
Kubernetes compute. Its settings, instance types, namespace and extension rules, the attached
compute and its front door live here; what it shares with `managed` (deployments, traffic rules,
plan, program step, mocks, serve and logs hooks) in mldeploy/targets/online_endpoint/."""
from mldeploy.targets.kubernetes_endpoint.plan import check, check_stack, notes, warnings
from mldeploy.targets.kubernetes_endpoint.settings import KubernetesEndpointSettings
from mldeploy.targets.online_endpoint import logs, serve
from mldeploy.targets.online_endpoint.settings import SECRET_ENV_INSTEAD
from mldeploy.targets.online_endpoint.mocks import MOCKS  # the same endpoint resources as `managed`
from mldeploy.targets.target import StartingPoint, Target


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.kubernetes_endpoint.program import deploy
    return deploy(name, entry, foundation)


TARGET = Target(secret_env_instead=SECRET_ENV_INSTEAD, name="kubernetes-endpoint", settings=KubernetesEndpointSettings, deploy=deploy, check=check,
                check_stack=check_stack, warnings=warnings, notes=notes, mocks=MOCKS, local_runner=serve.local_runner,
                serve_plan=serve.serve_plan, containers=serve.containers, served_by_default=True,
                deployments=serve.deployments, logs=logs.read, log_containers=logs.CONTAINERS,
                policies=("mldeploy.policies.endpoints",),
                starting_point=StartingPoint("kubernetes-endpoint", order=5, by_default=False))
