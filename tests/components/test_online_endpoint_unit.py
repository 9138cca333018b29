"""OnlineEndpoint and its EndpointTraffic unit-tested with a plan (Pulumi mocks, a plan in,
resources out, as pulumi/examples testing-unit-py does): the plan is built by the endpoint
family's own function (mldeploy/targets/online_endpoint/plan.py) from typed settings of each
target, and every assertion compares what was declared with what the plan decided."""
from __future__ import annotations

from pathlib import Path

import pulumi
import pytest

from components.online_endpoint import (AZUREML_METRICS_WRITER, STORAGE_BLOB_DATA_CONTRIBUTOR,
                                        STORAGE_BLOB_DATA_READER, EndpointInputs, OnlineEndpoint, WorkspaceRefs)
from mldeploy.contract import ACR_PULL_ROLE_ID
from mldeploy.plan.endpoint import AssetPlan, EndpointPlan
from mldeploy.targets import BY_NAME
from mldeploy.targets.online_endpoint.plan import plan_endpoint, used_images
from tests.components.unit import Declared, declare

ML = "azure-native:machinelearningservices"
DEPLOYMENT = f"{ML}:OnlineDeployment"
ENDPOINT = f"{ML}:OnlineEndpoint"
TRAFFIC = "pulumi-python:dynamic/mldeploy:EndpointTraffic"
AUTOSCALE = "azure-native:monitor:AutoscaleSetting"
ROLE = "azure-native:authorization:RoleAssignment"
RG = "/subscriptions/s/resourceGroups/rg/providers"
COMPUTE_ID = f"{RG}/Microsoft.MachineLearningServices/workspaces/mlw/computes/k8s-aks"
MODELS = {"diabetes": "diabetes:1", "diabetes-v2": "diabetes:2"}


def _plan(target: str, script: Path, **settings) -> EndpointPlan:
    service = BY_NAME[target].settings.model_validate({"target": target, **settings})
    # One environment for both images, a code of each (content digests: program.asset_plan).
    assets = {image: AssetPlan(environment_name="mldeploy-web", environment_version="e1",
                               conda_text="name: scoring\n", base_image="mcr.microsoft.com/azureml/base",
                               code_name="mldeploy-web", code_version=f"c-{image}",
                               code_blob_prefix=f"mldeploy/endpoint-code/web/c-{image}",
                               code_files=(("score.py", script),), scoring_script="score.py")
              for image in used_images(service)}
    return plan_endpoint("web", service, stack="unit", resource_group="rg", assets=assets,
                         image_models={image: [image] for image in MODELS},
                         tags={"managed-by": "mldeploy"},
                         model_tags={image: {"model": image, "model-version": version.split(":")[1]}
                                     for image, version in MODELS.items()})


def _declare(plan: EndpointPlan, *, compute_id: str | None = None, keys: tuple[str, str] | None = None) -> Declared:
    def build():
        workspace = WorkspaceRefs(
            location="westeurope", resource_group_name="rg", workspace_name="mlw",
            storage_account_name="st", storage_resource_group="rg", blob_container="azureml-blobstore-x",
            workspace_arm_id=f"{RG}/Microsoft.MachineLearningServices/workspaces/mlw",
            registry_id=f"{RG}/Microsoft.ContainerRegistry/registries/cr",
            storage_account_id=f"{RG}/Microsoft.Storage/storageAccounts/st")
        inputs = EndpointInputs(model_ids={image: f"{RG}/models/{MODELS[image]}" for image in plan.assets},
                                subscription_id="s", compute_id=compute_id, initial_keys=keys)
        endpoint = OnlineEndpoint("endpoint-web", plan=plan, workspace=workspace, inputs=inputs,
                                  tags={"managed-by": "mldeploy"})
        return pulumi.Output.all(endpoint.scoring_uri, endpoint.endpoint_name)

    return declare(build)


def _deployment(declared: Declared, name: str) -> dict:
    found = [r for r in declared.of_type(DEPLOYMENT) if r["inputs"]["deploymentName"] == name]
    assert len(found) == 1, f"expected one OnlineDeployment {name!r}: {[r['name'] for r in declared.of_type(DEPLOYMENT)]}"
    return found[0]["inputs"]


BLUE_GREEN = {
    "deployments": {
        "blue": {"image": "diabetes", "trafficPercent": 90, "instanceCount": 3, "cpuCores": 1, "memoryGb": 2,
                 "requestTimeoutMs": 4000, "maxConcurrentRequestsPerInstance": 2},
        "green": {"image": "diabetes-v2", "trafficPercent": 10, "instanceType": "Standard_E4s_v3",
                  "autoscaleEnabled": True, "autoscaleMinReplicas": 1, "autoscaleMaxReplicas": 4,
                  "autoscaleTargetUtilization": 60},
        "shadow": {"image": "diabetes-v2", "mirrorPercent": 20},
    },
}


@pytest.fixture(scope="module")
def script(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("code") / "score.py"
    path.write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")
    return path


@pytest.fixture(scope="module")
def managed(script):
    plan = _plan("managed", script, collectModelData=True, **BLUE_GREEN)
    return plan, _declare(plan)


@pytest.fixture(scope="module")
def kubernetes(script):
    plan = _plan("kubernetes-endpoint", script, cluster="aks", authMode="aml_token", deployments={
        "blue": {"image": "diabetes", "trafficPercent": 100, "cpuCores": 0.5, "memoryGb": 1,
                 "autoscaleEnabled": True, "autoscaleMinReplicas": 2, "autoscaleMaxReplicas": 5,
                 "instanceCount": 2, "autoscaleTargetUtilization": 70}})
    return plan, _declare(plan, compute_id=COMPUTE_ID)


def test_each_planned_deployment_is_declared_as_planned(managed):
    plan, declared = managed
    assert sorted(r["inputs"]["deploymentName"] for r in declared.of_type(DEPLOYMENT)) == \
        sorted(d.name for d in plan.deployments)
    for dep in plan.deployments:
        inputs = _deployment(declared, dep.name)
        props = inputs["properties"]
        assert props["endpointComputeType"] == plan.kind == "Managed", f"{dep.name}: {props['endpointComputeType']}"
        assert props["instanceType"] == dep.instance_type, f"{dep.name}: instanceType {props['instanceType']}"
        assert inputs["sku"]["capacity"] == dep.instance_count, f"{dep.name}: sku.capacity is the instance count"
        settings = props["requestSettings"]
        assert (settings["requestTimeout"], settings["maxConcurrentRequestsPerInstance"]) == \
            (dep.request_timeout, dep.max_concurrent_requests), f"{dep.name}: requestSettings {settings}"
        assert props["environmentVariables"] == dep.environment_variables, f"{dep.name}: WORKER_COUNT and the user's"
        assert props["model"].endswith(f"/models/{MODELS[dep.image]}"), f"{dep.name} serves {dep.image}'s model"
        assert inputs["tags"] == dep.tags, f"{dep.name}: tagged with its own model, not the endpoint's"


def test_managed_values_come_from_the_settings_through_the_plan(managed):
    plan, declared = managed
    blue = _deployment(declared, "blue")["properties"]
    # cpuCores 1 / memoryGb 2 -> Microsoft's migration table; 4000 ms -> ISO 8601; 2 concurrent -> 2 workers.
    assert blue["instanceType"] == "Standard_DS2_v2", blue["instanceType"]
    assert blue["requestSettings"]["requestTimeout"] == "PT4S"
    assert blue["environmentVariables"]["WORKER_COUNT"] == "2"
    assert blue["scaleSettings"] == {"scaleType": "Default"}, "a managed deployment scales by its autoscale setting"
    assert _deployment(declared, "green")["tags"]["model-version"] == "2"


def test_only_the_autoscaled_deployment_gets_an_autoscale_setting_with_the_plans_bounds(managed):
    plan, declared = managed
    (setting,) = declared.of_type(AUTOSCALE)
    (green,) = [d for d in plan.deployments if d.autoscale is not None]
    capacity = setting["inputs"]["profiles"][0]["capacity"]
    assert (green.name, capacity) == ("green", {"minimum": "1", "maximum": "4", "default": "1"}), capacity
    rules = setting["inputs"]["profiles"][0]["rules"]
    thresholds = sorted(r["metricTrigger"]["threshold"] for r in rules)
    assert thresholds == [green.autoscale.scale_in_below, green.autoscale.scale_out_above] == [30, 60], thresholds


def test_endpoint_traffic_applies_the_plans_split_after_the_deployments(managed):
    plan, declared = managed
    traffic = declared.one(TRAFFIC)["inputs"]
    assert traffic["traffic"] == plan.traffic == {"blue": 90, "green": 10, "shadow": 0}, traffic["traffic"]
    assert traffic["mirrorTraffic"] == plan.mirror_traffic == {"shadow": 20}, traffic["mirrorTraffic"]
    assert traffic["settings"] == {"tags": plan.endpoint_tags, "description": plan.description,
                                   "authMode": plan.auth_mode}, traffic["settings"]
    endpoint = declared.one(ENDPOINT)["inputs"]
    assert "traffic" not in endpoint["properties"] and "mirrorTraffic" not in endpoint["properties"], \
        "the endpoint itself must not carry the split (EndpointTraffic sets it once the deployments exist)"
    assert endpoint["endpointName"] == plan.endpoint_name and endpoint["tags"] == plan.endpoint_tags


def test_the_identity_gets_read_roles_and_blob_write_only_when_collecting_data(managed, script):
    _, declared = managed
    roles = {r["inputs"]["roleDefinitionId"].rsplit("/", 1)[-1] for r in declared.of_type(ROLE)}
    assert roles == {ACR_PULL_ROLE_ID, STORAGE_BLOB_DATA_READER, AZUREML_METRICS_WRITER,
                     STORAGE_BLOB_DATA_CONTRIBUTOR}, roles
    quiet = _declare(_plan("managed", script, deployments={"blue": {"image": "diabetes", "trafficPercent": 100}}))
    roles = {r["inputs"]["roleDefinitionId"].rsplit("/", 1)[-1] for r in quiet.of_type(ROLE)}
    assert STORAGE_BLOB_DATA_CONTRIBUTOR not in roles, "no data collector: no write access to the blob store"
    assert "dataCollector" not in _deployment(quiet, "blue")["properties"]


def test_one_environment_and_code_version_per_content_the_deployments_use(managed):
    """Two images, one environment content and two codes: one EnvironmentVersion both deployments
    use, a CodeVersion each, one container of each kind (named by the service, not an image)."""
    plan, declared = managed
    assert len(plan.assets) == 2, plan.assets
    environments = declared.of_type(f"{ML}:EnvironmentVersion")
    codes = declared.of_type(f"{ML}:CodeVersion")
    assert [(r["name"], r["inputs"]["version"]) for r in environments] == [("endpoint-web-environment-ve1", "e1")], environments
    assert sorted((r["name"], r["inputs"]["version"]) for r in codes) == [
        ("endpoint-web-code-vc-diabetes", "c-diabetes"), ("endpoint-web-code-vc-diabetes-v2", "c-diabetes-v2")], codes
    for kind in ("EnvironmentContainer", "CodeContainer"):
        assert [r["inputs"]["name"] for r in declared.of_type(f"{ML}:{kind}")] == ["mldeploy-web"], kind
    env_ids = {_deployment(declared, d.name)["properties"]["environmentId"] for d in plan.deployments}
    assert len(env_ids) == 1, env_ids


def test_kubernetes_deployments_run_on_the_given_compute_and_scale_by_target_utilization(kubernetes):
    plan, declared = kubernetes
    endpoint = declared.one(ENDPOINT)["inputs"]["properties"]
    assert endpoint["compute"] == COMPUTE_ID and endpoint["authMode"] == plan.auth_mode == "AMLToken", endpoint
    (dep,) = plan.deployments
    props = _deployment(declared, "blue")["properties"]
    assert props["endpointComputeType"] == plan.kind == "Kubernetes"
    assert props["instanceType"] == dep.instance_type == "mldeploy-500m-1024mi", props["instanceType"]
    assert props["scaleSettings"] == {"scaleType": "TargetUtilization", "minInstances": 2, "maxInstances": 5,
                                      "targetUtilizationPercentage": 70, "pollingInterval": "PT1S"}, props["scaleSettings"]
    assert not declared.of_type(AUTOSCALE), "Kubernetes deployments scale themselves: no Azure Monitor setting"


def test_initial_keys_reach_the_endpoint_as_secrets_only(script):
    plan = _plan("managed", script, deployments={"blue": {"image": "diabetes", "trafficPercent": 100}})
    declared = _declare(plan, keys=("k" * 32, "j" * 32))
    endpoint = declared.one(ENDPOINT)
    assert "properties" in endpoint["secret_inputs"], "the keys must travel as Pulumi secrets"
    assert endpoint["inputs"]["properties"]["keys"] == {"primaryKey": "k" * 32, "secondaryKey": "j" * 32}


def test_given_keys_change_by_regenerate_keys_never_by_a_put_of_the_endpoint(script):
    """`properties.keys` are "to set initially on an Endpoint" (mfe.json 2025-12-01): a rotated key must not
    PUT the endpoint (which would drop its split) but go through EndpointKeys' regenerateKeys."""
    from components.online_endpoint import ENDPOINT_OWNED_BY_KEYS

    plan = _plan("managed", script, deployments={"blue": {"image": "diabetes", "trafficPercent": 100}})
    declared = _declare(plan, keys=("k" * 32, "j" * 32))
    keys = declared.one("pulumi-python:dynamic/mldeploy:EndpointKeys")
    assert {"primaryKey", "secondaryKey"} <= set(keys["secret_inputs"]), "the keys travel as Pulumi secrets"
    assert (keys["inputs"]["primaryKey"], keys["inputs"]["secondaryKey"]) == ("k" * 32, "j" * 32)
    assert ENDPOINT_OWNED_BY_KEYS == ["properties.keys"]
    assert not _declare(plan).of_type("pulumi-python:dynamic/mldeploy:EndpointKeys"), "no keys given: Azure's own"
