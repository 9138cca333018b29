"""plan/kubernetes_compute.py (and mldeploy/targets/kubernetes_endpoint/): the Azure ML extension's settings as `az k8s-extension create`
sends them, the InstanceTypes a cluster needs, local accounts, and the maxConcurrent warning
(pure, no mocks)."""
from __future__ import annotations

import pytest

from mldeploy.targets.kubernetes_endpoint.settings import KubernetesEndpointSettings
from mldeploy.targets.online_endpoint.settings import DeploymentSettings
from mldeploy.plan.kubernetes_compute import RouterOptions, extension_settings
from mldeploy.targets.kubernetes_endpoint.instance_types import instance_types
from mldeploy.targets.kubernetes_endpoint.plan import warnings as kubernetes_endpoint_warnings

CLUSTER_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1"
# What AzureMLKubernetes.py `Create` adds on an AKS cluster whatever the options.
CLI_AKS_KEYS = {"cluster_name": CLUSTER_ID, "domain": "westeurope.cloudapp.azure.com", "location": "westeurope",
                "jobSchedulerLocation": "westeurope", "cluster_name_friendly": "aks1", "servicebus.enabled": "false",
                "relayserver.enabled": "false", "nginxIngress.enabled": "true", "clusterId": CLUSTER_ID,
                "prometheus.prometheusSpec.externalLabels.cluster_name": CLUSTER_ID}


def _settings(nodes=3, **options):
    opts = {"service_type": "loadBalancer", "internal_load_balancer": False, "ssl_cname": None, "tls": False, **options}
    return extension_settings(RouterOptions(**opts), cluster_id=CLUSTER_ID, cluster_name="aks1",
                              location="West Europe", node_count=nodes)


def test_tls_behind_an_internal_load_balancer_is_exactly_what_the_cli_sends():
    assert _settings(internal_load_balancer=True, ssl_cname="ml.example.com", tls=True) == {
        "enableTraining": "False", "enableInference": "True", "inferenceRouterServiceType": "loadBalancer",
        "allowInsecureConnections": "False", "inferenceRouterHA": "True", "sslCname": "ml.example.com",
        "internalLoadBalancerProvider": "azure", "scoringFe.serviceType.internalLoadBalancer": "True",
        **CLI_AKS_KEYS}


def test_http_only_on_a_public_load_balancer():
    assert _settings() == {
        "enableTraining": "False", "enableInference": "True", "inferenceRouterServiceType": "loadBalancer",
        "allowInsecureConnections": "True", "inferenceRouterHA": "True", **CLI_AKS_KEYS}


def test_node_port_is_flagged_for_the_scoring_front_end():
    got = _settings(service_type="nodePort")
    assert got["scoringFe.serviceType.nodePort"] == "True" and "scoringFe.serviceType.internalLoadBalancer" not in got


def test_a_cluster_under_three_nodes_gets_one_router_and_the_devtest_purpose():
    got = _settings(nodes=2)
    assert (got["inferenceRouterHA"], got["clusterPurpose"]) == ("False", "DevTest")
    assert "clusterPurpose" not in _settings(nodes=3)


def test_node_port_with_an_internal_load_balancer_is_refused_as_the_cli_refuses_it():
    with pytest.raises(ValueError, match="internalLoadBalancer applies only to inferenceRouterServiceType loadBalancer"):
        KubernetesEndpointSettings.model_validate({
            "target": "kubernetes-endpoint", "cluster": "c", "inferenceRouterServiceType": "nodePort",
            "internalLoadBalancer": True, "deployments": {"blue": {"image": "x", "trafficPercent": 100}}})


def _endpoint(**deployments):
    return KubernetesEndpointSettings(target="kubernetes-endpoint", cluster="c", deployments=deployments)


def test_one_instance_type_per_size_across_the_clusters_endpoints():
    a = _endpoint(blue=DeploymentSettings(image="x", cpu_cores=1, memory_gb=1, traffic_percent=100),
                  green=DeploymentSettings(image="x", cpu_cores=1, memory_gb=1))
    b = _endpoint(blue=DeploymentSettings(image="x", cpu_cores=2, memory_gb=4, traffic_percent=100),
                  named=DeploymentSettings(image="x", instance_type="gpu"))
    found = instance_types([a, b])
    assert [(t.name, t.cpu, t.memory) for t in found] == [("mldeploy-1000m-1024mi", "1000m", "1024Mi"),
                                                          ("mldeploy-2000m-4096mi", "2000m", "4096Mi")]
    assert all(dict(t.node_selector) == {"kubernetes.io/os": "linux"} for t in found)


def test_max_concurrent_requests_other_than_one_is_warned_about_on_kubernetes():
    class Stack:  # the two fields the warning reads
        services = {"web": _endpoint(blue=DeploymentSettings(image="x", traffic_percent=100,
                                                             max_concurrent_requests_per_instance=2)),
                    "ok": _endpoint(blue=DeploymentSettings(image="x", traffic_percent=100))}

    warnings = kubernetes_endpoint_warnings(Stack())
    assert len(warnings) == 1 and warnings[0].startswith(
        "mldeploy:services.web.deployments.blue.maxConcurrentRequestsPerInstance: 2"), warnings
