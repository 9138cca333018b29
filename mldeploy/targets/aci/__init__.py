"""`target: aci`: Azure Container Instances, one container group per service (dev/test)."""
from mldeploy.config.service import AciServiceSettings
from mldeploy.program.aci import deploy_aci
from mldeploy.targets.aci.mocks import MOCKS
from mldeploy.targets.target import Target

TARGET = Target(name="aci", settings=AciServiceSettings, deploy=deploy_aci, mocks=MOCKS)
