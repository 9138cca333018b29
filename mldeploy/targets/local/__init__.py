"""`target: local`: the scorer and the gateway as processes on this machine (no Azure)."""
from mldeploy.config.service import LocalServiceSettings
from mldeploy.program.local import deploy_local
from mldeploy.targets.target import Target

TARGET = Target(name="local", settings=LocalServiceSettings, deploy=deploy_local)
