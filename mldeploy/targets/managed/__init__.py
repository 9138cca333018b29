"""`target: managed`: an Azure ML managed online endpoint with its deployments (blue/green, mirror)."""
from mldeploy.config.endpoint import ManagedEndpointSettings
from mldeploy.program.endpoint import deploy_endpoint
from mldeploy.targets.managed.mocks import MOCKS
from mldeploy.targets.target import Target

TARGET = Target(name="managed", settings=ManagedEndpointSettings, deploy=deploy_endpoint, mocks=MOCKS)
