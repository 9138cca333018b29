"""OnlineEndpoint (components/online_endpoint.py) in the synthesized `managed` and
`kubernetes-endpoint` stacks: endpoint, identity and roles, deployments, autoscale, traffic."""
from __future__ import annotations

import re

import pytest

from tests.harness import synth

ML = "azure-native:machinelearningservices"
TRAFFIC = "pulumi-python:dynamic/mldeploy:EndpointTraffic"
ROLE = "azure-native:authorization:RoleAssignment"
ROLES = {"7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull",
         "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
         "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
         "635dd51f-9968-44d3-b7fb-6d9a6bd613ae": "AzureML Metrics Writer"}


@pytest.fixture(scope="module")
def managed(tmp_path_factory):
    return synth("managed", tmp_path_factory.mktemp("managed"))


@pytest.fixture(scope="module")
def kubernetes(tmp_path_factory):
    return synth("kubernetes-endpoint", tmp_path_factory.mktemp("k8s"))


def deployment(result, name):
    return result.one(f"{ML}:OnlineDeployment", f"endpoint-diabetes-{name}")


def test_endpoint_declares_no_traffic_itself(managed):
    props = managed.one(f"{ML}:OnlineEndpoint")["inputs"]["properties"]
    assert "traffic" not in props and "mirrorTraffic" not in props, \
        f"the endpoint must not set traffic before its deployments exist: {props}"


def test_the_endpoint_leaves_traffic_and_its_day_two_settings_to_endpoint_traffic(managed):
    endpoint = managed.one(f"{ML}:OnlineEndpoint")
    ignored = set(endpoint.get("options", {}).get("ignoreChanges", []))
    assert {"properties.traffic", "properties.mirrorTraffic", "tags", "properties.description",
            "properties.authMode", "properties.keys"} <= ignored, \
        f"{endpoint['urn']}: a refresh must not make `up` PUT it without its split, and its tags/description/" \
        f"authMode travel in EndpointTraffic's PUT; ignoreChanges is {sorted(ignored)}"
    settings = managed.one(TRAFFIC)["inputs"]["settings"]
    assert settings == {"tags": endpoint["inputs"]["tags"], "description": endpoint["inputs"]["properties"]["description"],
                        "authMode": endpoint["inputs"]["properties"]["authMode"]}, settings


def test_the_traffic_revision_follows_what_azure_native_still_puts(tmp_path):
    from tests.harness import stack_values
    values, secret_keys = stack_values("kubernetes-endpoint")
    base = synth("kubernetes-endpoint", tmp_path / "a", values, secret_keys).one(TRAFFIC)["inputs"]["endpointRevision"]
    service = next(iter(values["mldeploy:services"].values()))
    service["endpointName"] = "renamed-endpoint"
    renamed = synth("kubernetes-endpoint", tmp_path / "b", values, secret_keys).one(TRAFFIC)["inputs"]
    assert renamed["endpointRevision"] != base, "a change azure-native PUTs must change the revision (re-apply)"


def test_endpoint_runs_as_a_user_assigned_identity(managed):
    endpoint = managed.one(f"{ML}:OnlineEndpoint")["inputs"]
    identity = managed.one("azure-native:managedidentity:UserAssignedIdentity")
    assert endpoint["identity"]["type"] == "UserAssigned"
    (assigned,) = endpoint["identity"]["userAssignedIdentities"]
    # The identity's ARM id, named by azure-native's auto-name (its Pulumi name + 8 hex characters).
    expected = (r"/subscriptions/0{8}-0{4}-0{4}-0{4}-0{12}/resourceGroups/rg-mldeploy-managed/providers/"
                rf"Microsoft\.ManagedIdentity/userAssignedIdentities/{identity['name']}[0-9a-f]{{8}}")
    assert re.fullmatch(expected, assigned), assigned


def test_identity_gets_the_roles_its_deployments_need(managed):
    granted = {}
    for r in managed.of_type(ROLE):
        role = r["inputs"]["roleDefinitionId"].rsplit("/", 1)[-1]
        granted[ROLES.get(role, role)] = r["inputs"]["scope"]
        assert r["inputs"]["principalType"] == "ServicePrincipal", f"{r['urn']} must say ServicePrincipal"
    assert set(granted) == set(ROLES.values()), granted
    assert "/providers/Microsoft.ContainerRegistry/registries/" in granted["AcrPull"], granted["AcrPull"]
    assert granted["AzureML Metrics Writer"].endswith("/workspaces/mlw-mldeploy-managed"), granted


def test_endpoint_waits_for_its_role_assignments(managed):
    endpoint = managed.one(f"{ML}:OnlineEndpoint")
    roles = {r["urn"] for r in managed.of_type(ROLE)}
    assert roles <= set(endpoint["dependsOn"]), f"{endpoint['urn']} must depend on every role assignment"


def test_deployments_wait_until_the_identitys_roles_take_effect(managed):
    wait = managed.one("pulumi-python:dynamic/azure:RolePropagation")
    roles = {r["urn"] for r in managed.of_type(ROLE)}
    assert roles <= set(wait["dependsOn"]), f"{wait['urn']} must wait for every role assignment"
    for d in managed.of_type(f"{ML}:OnlineDeployment"):
        assert wait["urn"] in d["dependsOn"], f"{d['urn']} must start after the role propagation wait"


def test_traffic_is_applied_after_every_deployment(managed):
    traffic = managed.one(TRAFFIC)
    deployments = {d["urn"] for d in managed.of_type(f"{ML}:OnlineDeployment")}
    assert len(deployments) == 3 and deployments <= set(traffic["dependsOn"]), traffic["dependsOn"]
    assert traffic["inputs"]["traffic"] == {"blue": 90, "green": 10, "shadow": 0}
    assert traffic["inputs"]["mirrorTraffic"] == {"shadow": 10}
    assert "token" not in traffic["inputs"], "the provider gets its ARM token at run time (issue 20 item 8)"


def test_deployments_serve_the_registered_model_with_score_py(managed):
    props = deployment(managed, "blue")["inputs"]["properties"]
    assert props["endpointComputeType"] == "Managed"
    assert props["model"].endswith("/models/diabetes/versions/1"), props["model"]
    assert props["codeConfiguration"]["scoringScript"] == "score.py"
    assert deployment(managed, "green")["inputs"]["properties"]["model"].endswith("/models/diabetes/versions/2"), \
        "green serves version 2 of the same registered model"
    for env in managed.of_type(f"{ML}:EnvironmentVersion"):
        assert "azureml-inference-server-http" in env["inputs"]["properties"]["condaFile"], \
            f"{env['urn']}: the environment is the image's myenv.yml"


def test_environments_build_on_the_dated_azure_ml_base_image_unless_the_image_names_its_own(managed, tmp_path):
    """`latest` would build another environment from the same commit a month later (plan/versions.py
    DEFAULT_IMAGES); a team's own Azure ML image (another dated tag) is what Azure ML builds on."""
    from mldeploy.contract import AZUREML_BASE_IMAGE
    from tests.harness import stack_values
    assert not AZUREML_BASE_IMAGE.endswith(":latest")
    images = {env["inputs"]["properties"]["image"] for env in managed.of_type(f"{ML}:EnvironmentVersion")}
    assert images == {AZUREML_BASE_IMAGE}, images
    values, secret_keys = stack_values("managed")
    own = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250701.v1"
    values["mldeploy:images"]["diabetes"]["baseImage"] = own
    envs = {e["inputs"]["version"]: e for e in
            synth("managed", tmp_path, values, secret_keys).of_type(f"{ML}:EnvironmentVersion")}
    # One asset per service (`mldeploy-diabetes`), a version per content: the two images' environments
    # now differ in their base image, so two versions, each image on its own.
    (shared,) = managed.of_type(f"{ML}:EnvironmentVersion")
    assert {e["inputs"]["name"] for e in envs.values()} == {"mldeploy-diabetes"}, envs
    assert sorted(e["inputs"]["properties"]["image"] for e in envs.values()) == sorted([own, AZUREML_BASE_IMAGE]), envs
    assert envs[shared["inputs"]["version"]]["inputs"]["properties"]["image"] == AZUREML_BASE_IMAGE, \
        "diabetes-v2 keeps the version both images shared: another base image is another environment version"


def test_v1_sizes_map_to_the_migration_tables_sku(managed):
    assert deployment(managed, "green")["inputs"]["properties"]["instanceType"] == "Standard_DS2_v2"


def test_request_settings_and_worker_count_agree(managed):
    props = deployment(managed, "blue")["inputs"]["properties"]
    assert props["requestSettings"]["requestTimeout"] == "PT5S"
    assert props["requestSettings"]["maxConcurrentRequestsPerInstance"] == 2
    assert props["environmentVariables"]["WORKER_COUNT"] == "2"


def test_instance_count_is_the_sku_capacity(managed):
    assert deployment(managed, "blue")["inputs"]["sku"] == {"name": "Default", "capacity": 3}


def test_model_data_collection_logs_payloads(managed):
    collector = deployment(managed, "blue")["inputs"]["properties"]["dataCollector"]
    assert set(collector["collections"]) == {"request", "response"}


def test_managed_autoscale_is_an_azure_monitor_setting_on_the_deployment(managed):
    setting = managed.one("azure-native:monitor:AutoscaleSetting")["inputs"]
    blue = deployment(managed, "blue")["inputs"]
    assert setting["targetResourceUri"].endswith(
        f"/onlineEndpoints/{blue['endpointName']}/deployments/{blue['deploymentName']}"), setting["targetResourceUri"]
    profile = setting["profiles"][0]
    assert profile["capacity"] == {"minimum": "3", "maximum": "6", "default": "3"}
    out, scale_in = profile["rules"]
    assert out["metricTrigger"]["metricName"] == "CpuUtilizationPercentage"
    assert (out["metricTrigger"]["operator"], out["metricTrigger"]["threshold"]) == ("GreaterThan", 70)
    assert (scale_in["metricTrigger"]["operator"], scale_in["scaleAction"]["direction"]) == ("LessThan", "Decrease")
    # fast out, slow in
    assert out["scaleAction"]["cooldown"] == "PT1M" and scale_in["scaleAction"]["cooldown"] == "PT5M"


def test_only_autoscaled_deployments_get_a_setting(managed):
    assert len(managed.of_type("azure-native:monitor:AutoscaleSetting")) == 1


def test_outputs_name_the_scoring_uri_keys_and_traffic(managed):
    service = managed.outputs["services"]["diabetes"]
    assert service["scoringUri"].endswith(".inference.ml.azure.com/score")
    assert service["swaggerUri"].endswith("/swagger.json")
    assert service["trafficPercent"] == {"blue": 90, "green": 10, "shadow": 0}
    assert managed.outputs["serviceKeys"]["diabetes"]["primaryKey"] == "[secret]"


def test_kubernetes_deployments_use_target_utilization_scale_settings(kubernetes):
    props = deployment(kubernetes, "blue")["inputs"]["properties"]
    assert props["endpointComputeType"] == "Kubernetes"
    assert props["scaleSettings"] == {"scaleType": "TargetUtilization", "minInstances": 2, "maxInstances": 6,
                                      "targetUtilizationPercentage": 70, "pollingInterval": "PT1S"}
    assert props["instanceType"] == "mldeploy-1000m-1024mi", "the InstanceType of its size (1 core, 1 GB)"
    assert kubernetes.of_type("azure-native:monitor:AutoscaleSetting") == []


def test_kubernetes_endpoint_runs_on_the_attached_compute(kubernetes):
    endpoint = kubernetes.one(f"{ML}:OnlineEndpoint")
    compute = kubernetes.one(f"{ML}:Compute")
    assert endpoint["inputs"]["properties"]["compute"].endswith(f"/computes/{compute['inputs']['computeName']}"), \
        endpoint["inputs"]["properties"]["compute"]
    assert compute["urn"] in endpoint["dependsOn"]


def test_two_endpoints_in_one_stack_share_no_azure_name(tmp_path):
    import copy
    from collections import Counter

    from tests.harness import stack_values

    values, secret_keys = stack_values("managed")
    services = values["mldeploy:services"]
    services["second"] = copy.deepcopy(services["diabetes"])
    values["mldeploy:endpointQuota"] = {}  # two endpoints need twice the cores
    result = synth("managed", tmp_path, values, secret_keys)
    urns = Counter(r["urn"] for r in result.resources)
    assert [u for u, n in urns.items() if n > 1] == []
    for kind, key in ((f"{ML}:OnlineEndpoint", "endpointName"), (f"{ML}:EnvironmentContainer", "name"),
                      (f"{ML}:CodeContainer", "name")):
        names = [r["inputs"][key] for r in result.of_type(kind)]
        assert len(names) == len(set(names)) >= 2, f"{kind} {key}s collide: {names}"


def test_given_keys_are_set_after_the_split_one_endpoint_operation_at_a_time(tmp_path):
    """EndpointKeys' regenerateKeys runs after EndpointTraffic's PUT (itself after every deployment), never
    beside them on the same endpoint; the keys stay secret in the synthesized inputs."""
    from mldeploy.config.base import SecureValue
    from tests.harness import stack_values

    values, keys = stack_values("managed")
    values["mldeploy:services"]["diabetes"]["keys"] = {"primary": SecureValue("AAABBBCCC1"),
                                                       "secondary": SecureValue("AAABBBCCC2")}
    result = synth("managed", tmp_path, values, keys | {"mldeploy:services"})
    given = result.one("pulumi-python:dynamic/mldeploy:EndpointKeys")
    traffic = result.one(TRAFFIC)
    assert traffic["urn"] in given["dependsOn"], f"EndpointKeys must follow the split's PUT: {given['dependsOn']}"
    assert result.leaks == []
