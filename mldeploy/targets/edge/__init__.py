"""`edge:`: IoT Edge deployments of a scoring image to devices of an IoT Hub."""
from mldeploy.config.edge import EdgeSettings
from mldeploy.program.edge import deploy_edge
from mldeploy.targets.edge.mocks import MOCKS
from mldeploy.targets.target import Target

TARGET = Target(name="edge", section="edge", settings=EdgeSettings, deploy=deploy_edge, mocks=MOCKS)
