"""KubernetesCompute (components/kubernetes_compute.py): the Azure ML extension on the cluster, the
InstanceType custom resources, and the cluster attached to the workspace, declared."""
from __future__ import annotations

import base64
import copy

import pytest

from tests.harness import stack_values, synth

ML = "azure-native:machinelearningservices"
EXTENSION = "azure-native:kubernetesconfiguration:Extension"
INSTANCE_TYPE = "kubernetes:amlarc.azureml.com/v1alpha1:InstanceType"
CLUSTER = "azure-native:containerservice:ManagedCluster"


@pytest.fixture(scope="module")
def kubernetes(tmp_path_factory):
    return synth("kubernetes-endpoint", tmp_path_factory.mktemp("k8s"))


def _variant(tmp_path, change):
    values, secret_keys = stack_values("kubernetes-endpoint")
    change(values)
    return synth("kubernetes-endpoint", tmp_path, values, secret_keys | {"mldeploy:services"})


def _with_tls_and_internal_lb(values):
    tls = stack_values("prod-attach")[0]["mldeploy:services"]["diabetes"]["tls"]
    service = values["mldeploy:services"]["diabetes"]
    service.update(tls=tls, sslCname="scoring.ml.example.com", internalLoadBalancer=True)


def test_extension_is_the_azureml_extension_for_inference(kubernetes):
    ext = kubernetes.one(EXTENSION)["inputs"]
    assert ext["extensionType"] == "microsoft.azureml.kubernetes"
    assert (ext["clusterRp"], ext["clusterResourceName"]) == ("Microsoft.ContainerService", "managedClusters")
    assert ext["configurationSettings"]["enableInference"] == "True"
    assert ext["configurationSettings"]["inferenceRouterServiceType"] == "loadBalancer"


def test_extension_gets_the_keys_az_k8s_extension_create_adds_for_aks(kubernetes):
    settings = kubernetes.one(EXTENSION)["inputs"]["configurationSettings"]
    cluster = kubernetes.one(CLUSTER)
    for key, value in {"relayserver.enabled": "false", "servicebus.enabled": "false",
                       "nginxIngress.enabled": "true", "location": "westeurope",
                       "jobSchedulerLocation": "westeurope", "domain": "westeurope.cloudapp.azure.com",
                       "cluster_name_friendly": cluster["inputs"]["resourceName"]}.items():
        assert settings.get(key) == value, f"extension configurationSettings.{key}: {settings.get(key)!r}, want {value!r}"
    cluster_id = kubernetes.one(f"{ML}:Compute")["inputs"]["properties"]["resourceId"]  # the cluster's ARM id
    for key in ("cluster_name", "clusterId", "prometheus.prometheusSpec.externalLabels.cluster_name"):
        assert settings[key] == cluster_id, f"extension configurationSettings.{key} is the cluster's ARM id: {settings[key]!r}"


def test_tls_and_internal_lb_are_sent_as_the_cli_sends_them(tmp_path):
    result = _variant(tmp_path, _with_tls_and_internal_lb)
    ext = result.one(EXTENSION)["inputs"]
    settings = ext["configurationSettings"]
    assert settings["allowInsecureConnections"] == "False" and settings["sslCname"] == "scoring.ml.example.com"
    assert settings["internalLoadBalancerProvider"] == "azure"
    assert settings["scoringFe.serviceType.internalLoadBalancer"] == "True"
    assert "scoringFe.serviceType.nodePort" not in settings
    protected = ext["configurationProtectedSettings"]
    # Masked whole or per key: either way only the CLI's scoringFe keys, never the file keys.
    assert protected == "[secret]" or set(protected) == {"scoringFe.sslCert", "scoringFe.sslKey"}, protected
    assert "sslCertPemFile" not in str(ext) and "sslKeyPemFile" not in str(ext)
    assert result.leaks == [], "the certificate and key stay Pulumi secrets"


def test_protected_settings_are_base64_of_the_pem_text():
    from mldeploy.components.kubernetes_compute import protected_tls_settings

    pem_cert, pem_key = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "-----BEGIN PRIVATE KEY-----\nk\n"
    got = protected_tls_settings(pem_cert, pem_key)
    assert base64.b64decode(got["scoringFe.sslCert"]).decode() == pem_cert
    assert base64.b64decode(got["scoringFe.sslKey"]).decode() == pem_key


def test_node_port_router_is_flagged_as_the_cli_flags_it(tmp_path):
    result = _variant(tmp_path, lambda v: v["mldeploy:services"]["diabetes"].update(
        inferenceRouterServiceType="nodePort"))
    settings = result.one(EXTENSION)["inputs"]["configurationSettings"]
    assert settings["scoringFe.serviceType.nodePort"] == "True"
    assert "scoringFe.serviceType.internalLoadBalancer" not in settings


def test_cluster_is_attached_after_the_extension_and_its_instance_types(kubernetes):
    compute = kubernetes.one(f"{ML}:Compute")
    assert compute["inputs"]["properties"]["computeType"] == "Kubernetes"
    cluster = kubernetes.one(CLUSTER)
    assert compute["inputs"]["properties"]["resourceId"].endswith(
        f"/Microsoft.ContainerService/managedClusters/{cluster['inputs']['resourceName']}"), compute["inputs"]
    assert kubernetes.one(EXTENSION)["urn"] in compute["dependsOn"]
    for crd in kubernetes.of_type(INSTANCE_TYPE):
        assert crd["urn"] in compute["dependsOn"], f"InstanceType {crd['name']} must exist before the attach"


def test_instance_types_are_custom_resources_not_part_of_the_attach(kubernetes):
    props = kubernetes.one(f"{ML}:Compute")["inputs"]["properties"].get("properties") or {}
    assert "instanceTypes" not in props, "the attach carries no instance types (deployment YAML reference)"
    types = kubernetes.of_type(INSTANCE_TYPE)
    assert types, "one InstanceType custom resource per size the deployments use"
    ext = kubernetes.one(EXTENSION)
    for t in types:
        assert ext["urn"] in t["dependsOn"], f"InstanceType {t['name']}: the extension installs its CRD first"
        spec = t["inputs"]["spec"]
        assert spec["resources"]["requests"] == spec["resources"]["limits"], spec


def test_deployments_use_the_declared_instance_types(kubernetes):
    names = {t["inputs"]["metadata"]["name"] for t in kubernetes.of_type(INSTANCE_TYPE)}
    for dep in kubernetes.of_type(f"{ML}:OnlineDeployment"):
        it = dep["inputs"]["properties"]["instanceType"]
        assert it in names, f"deployment {dep['name']} uses {it!r}, declared: {sorted(names)}"


def test_two_endpoints_on_one_cluster_share_one_extension_and_attach_and_keep_their_sizes(tmp_path):
    def second(values):
        services = values["mldeploy:services"]
        services["second"] = copy.deepcopy(services["diabetes"])
        for dep in services["second"]["deployments"].values():
            dep.update(cpuCores=2, memoryGb=4)

    result = _variant(tmp_path, second)
    assert len(result.of_type(EXTENSION)) == 1 and len(result.of_type(f"{ML}:Compute")) == 1
    endpoints = result.of_type(f"{ML}:OnlineEndpoint")
    computes = {e["inputs"]["properties"]["compute"] for e in endpoints}
    assert len(endpoints) == 2 and len(computes) == 1, computes
    sizes = {t["inputs"]["metadata"]["name"]: t["inputs"]["spec"]["resources"]["limits"]
             for t in result.of_type(INSTANCE_TYPE)}
    assert sorted(sizes.values(), key=str) == [{"cpu": "1000m", "memory": "1024Mi"},
                                               {"cpu": "2000m", "memory": "4096Mi"}], sizes
    by_endpoint = {}
    for dep in result.of_type(f"{ML}:OnlineDeployment"):
        by_endpoint.setdefault(dep["inputs"]["endpointName"], set()).add(
            str(sizes[dep["inputs"]["properties"]["instanceType"]]))
    assert len({frozenset(s) for s in by_endpoint.values()}) == 2, by_endpoint


def test_a_kubernetes_endpoints_cluster_keeps_local_accounts(kubernetes):
    cluster = kubernetes.one(CLUSTER)["inputs"]
    assert cluster["disableLocalAccounts"] is False, "Azure ML does not support AKS without local accounts"
    assert cluster["aadProfile"]["enableAzureRBAC"] is True, "Entra ID and Azure RBAC stay on"


def test_the_example_keeps_kubernetes_default_concurrency(kubernetes):
    for dep in kubernetes.of_type(f"{ML}:OnlineDeployment"):
        settings = dep["inputs"]["properties"]["requestSettings"]
        assert settings["maxConcurrentRequestsPerInstance"] == 1, \
            f"{dep['name']}: Microsoft's reference says to keep the Kubernetes default (1)"
        assert dep["inputs"]["properties"]["environmentVariables"]["WORKER_COUNT"] == "1"


def test_synth_says_why_local_accounts_stay_on_and_warns_on_changed_concurrency(tmp_path):
    import subprocess
    import sys

    import yaml

    from tests.harness import copy_project

    values, _ = stack_values("kubernetes-endpoint")
    values["mldeploy:services"]["diabetes"]["deployments"]["blue"]["maxConcurrentRequestsPerInstance"] = 2
    project = copy_project(tmp_path / "p")  # the stack's examples (diabetes, diabetes-src) with it
    (project / "stacks" / "Pulumi.ke.yaml").write_text(yaml.safe_dump({"config": values}))
    proc = subprocess.run([sys.executable, "-m", "mldeploy", "synth", "--stack", "ke", "--out", str(tmp_path / "out"),
                           "--project-dir", str(project)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert ("note: stacks/Pulumi.ke.yaml: mldeploy:clusters.inference is created with local accounts enabled"
            in proc.stderr), proc.stderr
    assert ("warning: stacks/Pulumi.ke.yaml: mldeploy:services.diabetes.deployments.blue."
            "maxConcurrentRequestsPerInstance: 2 on a Kubernetes online endpoint") in proc.stderr, proc.stderr
    assert "deployments.green.maxConcurrentRequestsPerInstance" not in proc.stderr


def test_a_namespace_the_stack_names_is_created_before_the_attach(tmp_path):
    """Azure ML attaches a compute only to a namespace that exists (how-to-attach-kubernetes-to-workspace.md);
    `default` and the extension's `azureml` exist, any other the stack names is mldeploy's to create."""
    def _namespace(values):
        values["mldeploy:services"]["diabetes"]["namespace"] = "inference"

    result = _variant(tmp_path, _namespace)
    namespace = result.one("kubernetes:core/v1:Namespace")
    assert namespace["inputs"]["metadata"]["name"] == "inference", namespace["inputs"]
    attach = result.one(f"{ML}:Compute")
    assert attach["inputs"]["properties"]["properties"]["namespace"] == "inference"
    assert namespace["urn"] in attach["dependsOn"], f"the attach must wait for its namespace: {attach['dependsOn']}"


def test_the_example_attaches_to_the_extensions_own_namespace_and_creates_none(kubernetes):
    assert kubernetes.one(f"{ML}:Compute")["inputs"]["properties"]["properties"]["namespace"] == "azureml"
    assert not kubernetes.of_type("kubernetes:core/v1:Namespace"), "azureml is the extension's: it exists"
