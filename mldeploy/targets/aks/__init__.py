"""`target: aks`: a scoring service on an AKS cluster of the stack (created or attached).
Everything particular to the target lives in this package (config model, load-time checks,
plan, program step, local runner, serve and logs hooks, mocks); its ComponentResources are
components/aks_cluster.py and components/aks_service.py (the user's layout keeps components there)."""
from mldeploy.targets.aks.settings import AksServiceSettings
from mldeploy.targets.aks.checks import check
from mldeploy.targets.aks.mocks import MOCKS
from mldeploy.targets.aks import logs, serve
from mldeploy.targets.target import StartingPoint, Target


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.aks.program import deploy_aks
    return deploy_aks(name, entry, foundation)


TARGET = Target(name="aks", secret_env=True, settings=AksServiceSettings, deploy=deploy, check=check, mocks=MOCKS,
                starting_point=StartingPoint("prod", order=3, production=True),
                local_runner=serve.local_runner, serve_plan=serve.serve_plan, containers=serve.containers, logs=logs.read,
                log_containers=logs.CONTAINERS, log_variants=serve.variant_names, policies=("mldeploy.policies.aks",))
