"""`target: kubernetes-endpoint`: an Azure ML online endpoint on an AKS cluster attached as a Kubernetes compute."""
from mldeploy.config.endpoint import KubernetesEndpointSettings
from mldeploy.targets.managed import MOCKS, deploy  # the same endpoint resources and step as `managed`
from mldeploy.targets.managed import logs, serve  # served and read as a managed endpoint
from mldeploy.targets.target import Target

TARGET = Target(name="kubernetes-endpoint", settings=KubernetesEndpointSettings, deploy=deploy,
                mocks=MOCKS, serve_plan=serve.serve_plan, served_by_default=True, deployments=serve.deployments,
                logs=logs.read, log_containers=logs.CONTAINERS, policies=("mldeploy.policies.endpoints",))
