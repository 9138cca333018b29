"""mldeploy/synth/arm_ids.py: every azure-native resource the stacks create gets the id Azure
gives it - its REST spec's PUT path with the parents' names from its inputs."""
from __future__ import annotations

import importlib
import inspect
import json
import re
from pathlib import Path

from mldeploy.synth.arm_ids import ARM_PATHS, path_parameters
from mldeploy.synth.mocks import SecretLedger, SynthMocks
from mldeploy.targets.fakes import SUBSCRIPTION_ID

SNAPSHOTS = Path(__file__).resolve().parents[1] / "stacks" / "snapshots"
SUB = f"/subscriptions/{SUBSCRIPTION_ID}"
WS = f"{SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/mlw"


def _id(typ: str, inputs: dict, name: str = "res") -> str:
    return SynthMocks("managed", SecretLedger()).resource_id(typ, inputs, name)


def _snapshot_types() -> set[str]:
    return {r["type"] for f in SNAPSHOTS.glob("*/resources.json") for r in json.loads(f.read_text())
            if r["type"].startswith("azure-native:")}


def test_every_azure_native_type_the_stacks_create_has_its_arm_path():
    missing = sorted(_snapshot_types() - set(ARM_PATHS))
    assert not missing, f"azure-native types synthesized by the stacks without an ARM path in arm_ids.py: {missing}"


def test_every_path_parameter_is_an_input_of_the_installed_sdk_resource():
    for typ in ARM_PATHS:
        _, module, cls = typ.split(":")
        args = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), f"{cls}Args")
        sdk = {re.sub(r"_(\w)", lambda m: m.group(1).upper(), p) for p in inspect.signature(args.__init__).parameters}
        unknown = [p for p in path_parameters(typ) if p not in sdk | {"subscriptionId"}]
        assert not unknown, f"{typ}: path parameters {unknown} are no inputs of pulumi_azure_native's {cls}Args"


def test_an_online_deployment_id_has_its_workspace_and_endpoint():
    rid = _id("azure-native:machinelearningservices:OnlineDeployment", {
        "resourceGroupName": "rg", "workspaceName": "mlw", "endpointName": "diabetes-a00b15", "deploymentName": "blue"},
        "endpoint-diabetes-blue")
    assert rid == f"{WS}/onlineEndpoints/diabetes-a00b15/deployments/blue", rid


def test_a_model_version_id_is_models_name_versions_version():
    rid = _id("azure-native:machinelearningservices:ModelVersion",
              {"resourceGroupName": "rg", "workspaceName": "mlw", "name": "diabetes", "version": "2"}, "model-diabetes-v2")
    assert rid == f"{WS}/models/diabetes/versions/2", rid


def test_a_role_assignment_is_an_extension_of_its_scope_named_by_a_guid():
    scope = f"{SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/crdev"
    rid = _id("azure-native:authorization:RoleAssignment", {"scope": scope, "principalId": "p"}, "acr-pull")
    head, _, guid = rid.rpartition("/")
    assert head == f"{scope}/providers/Microsoft.Authorization/roleAssignments", rid
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", guid), rid


def test_a_name_left_out_is_the_providers_auto_name_stable_between_runs():
    inputs = {"resourceGroupName": "rg"}
    rid = _id("azure-native:managedidentity:UserAssignedIdentity", inputs, "aci-diabetes-identity")
    assert re.fullmatch(f"{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
                        r"aci-diabetes-identity[0-9a-f]{8}", rid), rid
    assert rid == _id("azure-native:managedidentity:UserAssignedIdentity", inputs, "aci-diabetes-identity")


def test_an_extension_sits_under_its_cluster():
    rid = _id("azure-native:kubernetesconfiguration:Extension", {
        "resourceGroupName": "rg", "clusterRp": "Microsoft.ContainerService", "clusterResourceName": "managedClusters",
        "clusterName": "aks", "extensionName": "azureml"})
    assert rid == (f"{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks/providers/"
                   "Microsoft.KubernetesConfiguration/extensions/azureml"), rid


def test_synthesized_ids_are_the_arm_shape_where_the_program_passes_them_on():
    resources = json.loads((SNAPSHOTS / "managed" / "resources.json").read_text())
    deployments = [r for r in resources if r["type"] == "azure-native:machinelearningservices:OnlineDeployment"]
    for r in deployments:
        model = r["inputs"]["properties"]["model"]
        assert re.search(r"/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+/models/diabetes/versions/\d+$",
                         model), f"{r['urn']}: properties.model {model} is not a model version's ARM id"
