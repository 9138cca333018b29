"""`edge:`: IoT Edge deployments of a scoring image to devices of an IoT Hub. Everything particular
to the target lives in this package (config model, load-time checks, plan, program step, mocks);
its ComponentResource is components/iot_edge.py, its plan types mldeploy/plan/edge.py."""
from mldeploy.targets.edge.artifacts import manifests
from mldeploy.targets.edge.checks import check, warnings
from mldeploy.targets.edge.config import ADMIN_USER_NEED, EdgeSettings
from mldeploy.targets.edge.mocks import MOCKS
from mldeploy.targets.target import Target


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.edge.program import deploy_edge
    return deploy_edge(name, entry, foundation)


# A module's environment is its createOptions `Env`, a string inside the deployment manifest's module settings,
# which IoT Hub stores and each device's edge agent reads ("createOptions ... Env", learn.microsoft.com/azure/
# iot-edge/how-to-use-create-options): there is no secret field.
SECRET_ENV_INSTEAD = ("an IoT Edge module's environment is its createOptions `Env`, plain text in the deployment "
                      "manifest every device reads: read the secret in init() from a file or service on the device")

TARGET = Target(name="edge", section="edge", description="IoT Edge deployments", secret_env_instead=SECRET_ENV_INSTEAD,
                settings=EdgeSettings, deploy=deploy, check=check, warnings=warnings, mocks=MOCKS,
                artifacts=manifests, registry_admin_user_needs=(ADMIN_USER_NEED,),
                policies=("mldeploy.policies.edge",))
