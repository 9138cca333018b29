"""`edge:`: IoT Edge deployments of a scoring image to devices of an IoT Hub. Everything particular
to the target lives in this package (config model, load-time checks, plan, program step, mocks);
its ComponentResource is components/iot_edge.py, its plan types mldeploy/plan/edge.py."""
from mldeploy.targets.edge.artifacts import manifests
from mldeploy.targets.edge.checks import check, warnings
from mldeploy.targets.edge.config import ADMIN_USER_NEED, SECRET_ENV_INSTEAD, EdgeSettings
from mldeploy.targets.edge.mocks import MOCKS
from mldeploy.targets.target import StartingPoint, Target


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.edge.program import deploy_edge
    return deploy_edge(name, entry, foundation)


def elsewhere(stack: str, name: str, entry) -> str:
    """An edge entry's module on this machine: its image, served by any stack's service of that image;
    on a device, iotedge's logs and the module's bound port (the manifest's PortBindings)."""
    module = entry.module  # moduleName, else the image's name (as the manifest names it)
    return (f"edge entry {name!r} is a module on IoT Edge devices, not a service: serve its image "
            f"{entry.image!r} here with a stack whose service runs it (`mldeploy serve --stack local`); on a device, "
            f"`iotedge logs {module}` and `mldeploy test --uri http://<device>:{entry.host_port or entry.port}/score`")


TARGET = Target(name="edge", section="edge", description="IoT Edge deployments", secret_env_instead=SECRET_ENV_INSTEAD,
                settings=EdgeSettings, deploy=deploy, check=check, warnings=warnings, mocks=MOCKS,
                artifacts=manifests, registry_admin_user_needs=(ADMIN_USER_NEED,),
                policies=("mldeploy.policies.edge",), elsewhere=elsewhere,
                starting_point=StartingPoint("edge", order=6, by_default=False))
