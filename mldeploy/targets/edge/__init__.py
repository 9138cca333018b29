"""`edge:`: IoT Edge deployments of a scoring image to devices of an IoT Hub. Everything particular
to the target lives in this package (config model, load-time checks, plan, program step, mocks);
its ComponentResource is components/iot_edge.py, its plan types mldeploy/plan/edge.py."""
from mldeploy.targets.edge.artifacts import manifests
from mldeploy.targets.edge.checks import check, warnings
from mldeploy.targets.edge.config import ADMIN_USER_NEED, SECRET_ENV_INSTEAD, EdgeSettings
from mldeploy.targets.edge.mocks import MOCKS
from mldeploy.targets.target import Target


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.edge.program import deploy_edge
    return deploy_edge(name, entry, foundation)


TARGET = Target(name="edge", section="edge", description="IoT Edge deployments", secret_env_instead=SECRET_ENV_INSTEAD,
                settings=EdgeSettings, deploy=deploy, check=check, warnings=warnings, mocks=MOCKS,
                artifacts=manifests, registry_admin_user_needs=(ADMIN_USER_NEED,),
                policies=("mldeploy.policies.edge",))
