"""`target: kubernetes-endpoint`: an Azure ML online endpoint on an AKS cluster attached as a Kubernetes compute."""
from mldeploy.config.endpoint import KubernetesEndpointSettings
from mldeploy.program.endpoint import deploy_endpoint
from mldeploy.targets.managed.mocks import MOCKS  # the same endpoint resources as `managed`
from mldeploy.targets.target import Target

TARGET = Target(name="kubernetes-endpoint", settings=KubernetesEndpointSettings, deploy=deploy_endpoint,
                mocks=MOCKS)
