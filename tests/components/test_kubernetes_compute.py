"""KubernetesCompute (components/kubernetes_compute.py): the Azure ML extension on the cluster and
the cluster attached to the workspace, declared."""
from __future__ import annotations

import pytest

from components.kubernetes_compute import extension_settings
from tests.harness import synth

ML = "azure-native:machinelearningservices"
EXTENSION = "azure-native:kubernetesconfiguration:Extension"


@pytest.fixture(scope="module")
def kubernetes(tmp_path_factory):
    return synth("kubernetes-endpoint", tmp_path_factory.mktemp("k8s"))


def test_extension_is_the_azureml_extension_for_inference(kubernetes):
    ext = kubernetes.one(EXTENSION)["inputs"]
    assert ext["extensionType"] == "microsoft.azureml.kubernetes"
    assert (ext["clusterRp"], ext["clusterResourceName"]) == ("Microsoft.ContainerService", "managedClusters")
    assert ext["configurationSettings"]["enableInference"] == "True"
    assert ext["configurationSettings"]["inferenceRouterServiceType"] == "loadBalancer"


def test_cluster_is_attached_after_the_extension(kubernetes):
    compute = kubernetes.one(f"{ML}:Compute")
    assert compute["inputs"]["properties"]["computeType"] == "Kubernetes"
    cluster = kubernetes.one("azure-native:containerservice:ManagedCluster")
    assert compute["inputs"]["properties"]["resourceId"].endswith(f"/{cluster['name']}"), compute["inputs"]
    assert kubernetes.one(EXTENSION)["urn"] in compute["dependsOn"]


def test_v1_sizes_become_instance_types_of_the_compute(kubernetes):
    types = kubernetes.one(f"{ML}:Compute")["inputs"]["properties"]["properties"]["instanceTypes"]
    assert types["mldeploy-blue"]["resources"]["requests"] == {"cpu": "1000m", "memory": "1024Mi"}


def test_tls_settings_turn_insecure_connections_off():
    settings = extension_settings(service_type="loadBalancer", internal_load_balancer=True, ssl_cname="ml.example.com")
    assert settings["allowInsecureConnections"] == "False" and settings["sslCname"] == "ml.example.com"
    assert settings["internalLoadBalancerProvider"] == "azure"


def test_without_a_certificate_the_router_is_http_only():
    assert extension_settings(service_type="nodePort", internal_load_balancer=False,
                              ssl_cname=None)["allowInsecureConnections"] == "True"


def test_two_kubernetes_endpoints_on_one_cluster_share_one_extension_and_attach(tmp_path):
    import copy

    from tests.harness import stack_values

    values, secret_keys = stack_values("kubernetes-endpoint")
    services = values["mldeploy:services"]
    services["second"] = copy.deepcopy(services["diabetes"])
    result = synth("kubernetes-endpoint", tmp_path, values, secret_keys)
    assert len(result.of_type(EXTENSION)) == 1 and len(result.of_type(f"{ML}:Compute")) == 1
    endpoints = result.of_type(f"{ML}:OnlineEndpoint")
    computes = {e["inputs"]["properties"]["compute"] for e in endpoints}
    assert len(endpoints) == 2 and len(computes) == 1, computes
