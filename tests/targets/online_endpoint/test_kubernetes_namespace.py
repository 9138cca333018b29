"""mldeploy/targets/kubernetes_endpoint/plan.py: a Kubernetes compute's namespace on an attached cluster
is never SDK v1's AKS compute namespace (`azureml-<workspace name>`, Azure/AML-Kubernetes
docs/attach-compute-on-aks-v1-cluster.md): its deployments would meet v1's web services there, and
mldeploy would adopt the namespace and delete it on `pulumi destroy`."""
from __future__ import annotations

import pytest

from mldeploy.config import ConfigError
from mldeploy.targets.stack import parse_settings
from tests.harness import ROOT, stack_values

STACK = "kubernetes-endpoint"
ATTACHED = {"attach": {"resourceGroup": "rg-v1", "name": "aks-v1"}, "minKubernetesVersion": "1.35"}


def _parse(namespace: str, attached: bool):
    values, secrets = stack_values(STACK)
    if attached:
        values["mldeploy:clusters"]["inference"] = dict(ATTACHED)
    values["mldeploy:services"]["diabetes"]["namespace"] = namespace
    return parse_settings(STACK, values, secrets, ROOT, f"stacks/Pulumi.{STACK}.yaml")


def test_v1_namespace_form_on_an_attached_cluster_is_refused():
    with pytest.raises(ConfigError) as err:
        _parse("azureml-mlw-prod", attached=True)
    msg = str(err.value)
    assert msg.startswith("stacks/Pulumi.kubernetes-endpoint.yaml: mldeploy:services.diabetes.namespace: namespace "
                          "'azureml-mlw-prod' on attached cluster 'inference' has the form of an SDK v1 AKS compute's "
                          "namespace (azureml-<workspace name>)"), msg
    assert msg.endswith("choose another (default: azureml)"), msg


@pytest.mark.parametrize("namespace,attached", [("azureml-mlw-prod", False), ("azureml", True), ("inference", True)])
def test_other_namespaces_and_created_clusters_are_accepted(namespace, attached):
    settings = _parse(namespace, attached)
    assert settings.services["diabetes"].namespace == namespace
