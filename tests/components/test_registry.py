"""ModelRegistry: workspace with its dependencies (or an existing one), uploads, versions."""
from __future__ import annotations

import re

import pytest

from tests.harness import stack_values, synth

ML = "azure-native:machinelearningservices"


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    return synth("dev", tmp_path_factory.mktemp("dev"))


def test_workspace_is_created_with_storage_keyvault_insights_and_registry(dev):
    ws = dev.one(f"{ML}:Workspace")["inputs"]
    for key in ("storageAccount", "keyVault", "applicationInsights", "containerRegistry"):
        assert ws.get(key, "").startswith("/subscriptions/"), f"workspace must reference its {key}"
    assert re.fullmatch(r"mlw-mldeploy-dev-[0-9a-f]{6}", ws["workspaceName"]), ws["workspaceName"]
    assert ws["identity"]["type"] == "SystemAssigned"


def test_a_configured_workspace_name_names_the_created_workspace(tmp_path):
    values, keys = stack_values("dev")
    values["mldeploy:workspace"] = {"name": "team-ws"}
    ws = synth("dev", tmp_path, values, keys).one(f"{ML}:Workspace")
    assert ws["inputs"]["friendlyName"] == "team-ws", f"{ws['urn']}: mldeploy:workspace.name"


def test_the_workspace_sku_is_the_configured_one(dev):
    ws = dev.one(f"{ML}:Workspace")
    assert ws["inputs"]["sku"] == {"name": "Basic", "tier": "Basic"}, f"{ws['urn']}: mldeploy:workspace.sku"


def test_registry_admin_user_is_off(dev):
    registry = dev.one("azure-native:containerregistry:Registry")["inputs"]
    assert registry["adminUserEnabled"] is False


def test_storage_is_private_and_tls12(dev):
    account = dev.one("azure-native:storage:StorageAccount")["inputs"]
    assert account["allowBlobPublicAccess"] is False
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["enableHttpsTrafficOnly"] is True


def test_model_file_is_uploaded_to_a_content_addressed_folder(dev):
    blob = dev.one("azure-native:storage:Blob")["inputs"]
    digest = dev.one(f"{ML}:ModelVersion")["inputs"]["properties"]["properties"]["mldeploy.sha256"]
    assert blob["blobName"] == f"mldeploy/models/diabetes/1/{digest[:12]}/sklearn_regression_model.pkl"
    assert blob["containerName"].startswith("azureml-blobstore-"), "upload goes to the workspace blob store"
    assert blob["source"] == {"asset": "file", "path": "examples/diabetes/outputs/sklearn_regression_model.pkl"}


def test_model_container_and_version_carry_tags_and_description(dev):
    container = dev.one(f"{ML}:ModelContainer")["inputs"]
    version = dev.one(f"{ML}:ModelVersion")["inputs"]
    assert container["name"] == version["name"] == "diabetes"
    assert version["version"] == "1"
    props = version["properties"]
    assert props["tags"]["area"] == "diabetes" and props["tags"]["type"] == "regression"
    assert props["tags"]["model-version"] == "1"
    assert props["description"].startswith("Ridge regression")
    assert props["modelUri"].startswith("azureml://subscriptions/")
    assert props["modelUri"].endswith("/sklearn_regression_model.pkl")


def test_a_new_version_is_a_new_resource(tmp_path):
    values, keys = stack_values("dev")
    values["mldeploy:models"]["diabetes"]["version"] = 2
    result = synth("dev", tmp_path, values, keys)
    assert result.one("azure-native:machinelearningservices:ModelVersion")["name"] == "model-diabetes-v2"


def test_omitted_version_is_derived_from_the_content(tmp_path):
    values, keys = stack_values("dev")
    del values["mldeploy:models"]["diabetes"]["version"]
    version = synth("dev", tmp_path, values, keys).one(f"{ML}:ModelVersion")["inputs"]
    digest = version["properties"]["properties"]["mldeploy.sha256"]
    assert version["version"] == digest[:12]


def test_model_folder_uploads_every_file(tmp_path):
    values, keys = stack_values("dev")
    values["mldeploy:models"]["diabetes"]["path"] = "examples/diabetes/outputs"
    result = synth("dev", tmp_path, values, keys)
    blobs = sorted(b["inputs"]["blobName"].rsplit("/", 1)[-1] for b in result.of_type("azure-native:storage:Blob"))
    assert "sklearn_regression_model.pkl" in blobs
    uri = result.one(f"{ML}:ModelVersion")["inputs"]["properties"]["modelUri"]
    assert uri.endswith("/"), "a folder model is registered by its folder"


def test_existing_workspace_is_looked_up_not_created(tmp_path):
    values, keys = stack_values("dev")
    values["mldeploy:workspace"] = {"name": "shared-ws", "create": False, "resourceGroup": "rg-shared"}
    lookups = {
        f"{ML}:getWorkspace": {
            "name": "shared-ws", "workspaceId": "0f0f0f0f-0000-0000-0000-000000000001",
            "storageAccount": "/subscriptions/s/resourceGroups/rg-shared/providers/Microsoft.Storage/storageAccounts/stshared",
            "containerRegistry": "/subscriptions/s/resourceGroups/rg-shared/providers/Microsoft.ContainerRegistry/registries/crshared",
            "applicationInsights": "/subscriptions/s/resourceGroups/rg-shared/providers/Microsoft.Insights/components/appi-shared",
        },
        "azure-native:containerregistry:getRegistry": {"loginServer": "crshared.azurecr.io", "sku": {"name": "Premium"}},
        "azure-native:applicationinsights:getComponent": {"connectionString": "InstrumentationKey=x", "instrumentationKey": "x"},
    }
    result = synth("dev", tmp_path, values, keys, lookups=lookups)
    assert result.of_type(f"{ML}:Workspace") == [], "an existing workspace must not be created"
    assert result.of_type("azure-native:containerregistry:Registry") == []
    version = result.one(f"{ML}:ModelVersion")["inputs"]
    assert version["workspaceName"] == "shared-ws" and version["resourceGroupName"] == "rg-shared"
    assert result.one("azure-native:storage:Blob")["inputs"]["accountName"] == "stshared"
    assert result.outputs["registryLoginServer"] == "crshared.azurecr.io"


def test_every_taggable_azure_resource_is_tagged_with_the_environment(dev):
    for resource in dev.resources:
        if "tags" in resource["inputs"]:
            tags = resource["inputs"]["tags"]
            assert tags.get("environment") == "dev", f"{resource['urn']} must carry environment=dev"
            assert tags.get("managed-by") == "mldeploy", f"{resource['urn']} must carry managed-by"


# -- destroy, then up again (issue 9 item 9) ---------------------------------------------------

def _names(result) -> tuple[str, str, dict]:
    vault = result.one("azure-native:keyvault:Vault")["inputs"]
    workspace = result.one(f"{ML}:Workspace")["inputs"]
    return vault["vaultName"], workspace["workspaceName"], vault["properties"]


def test_non_production_names_hold_a_per_instance_suffix_and_no_purge_protection(dev):
    """A destroyed dev stack's soft-deleted vault and workspace keep their names (7 / 14 days): the
    next instance must not need them. The suffix comes from a RandomId of this stack instance."""
    vault, workspace, props = _names(dev)
    suffix = dev.one("random:index/randomId:RandomId")
    assert suffix["name"] == "instance" and suffix["inputs"]["byteLength"] == 3
    assert re.fullmatch(r"kv-dev-[0-9a-f]{6}", vault) and len(vault) <= 24, vault
    assert vault[-6:] == workspace[-6:], "vault and workspace share the instance suffix"
    assert "enablePurgeProtection" not in props, "purge protection would hold the name 7 days at least"
    assert props["softDeleteRetentionInDays"] == 7


def test_production_keeps_fixed_names_purge_protection_and_90_days(tmp_path):
    vault, workspace, props = _names(synth("prod", tmp_path))
    assert workspace == "mlw-mldeploy-prod", workspace
    assert props["enablePurgeProtection"] is True and props["softDeleteRetentionInDays"] == 90


def test_a_new_stack_instance_gets_new_names(tmp_path):
    """Under mocks RandomId is a digest of stack and name; a re-created instance is a new RandomId
    with new random bytes on Azure. What the test can check: the names are built from it."""
    from mldeploy.plan import naming

    assert naming.instance_key_vault("dev", "abc123") != naming.instance_key_vault("dev", "def456")
    assert naming.instance_workspace("mlw-a-very-long-workspace-name-xx", "abc123").endswith("-abc123")
    assert len(naming.instance_workspace("mlw-a-very-long-workspace-name-xx", "abc123")) <= 33


# -- an existing workspace (issue 9 item 23) ---------------------------------------------------

def test_existing_workspace_synthesizes_without_canned_answers(tmp_path):
    values, keys = stack_values("batch")
    values["mldeploy:workspace"] = {"name": "shared-ws", "create": False, "resourceGroup": "rg-shared"}
    result = synth("batch", tmp_path, values, keys)
    assert result.of_type(f"{ML}:Workspace") == [] and result.leaks == []
    assert result.outputs["registryLoginServer"] == "crsharedws.azurecr.io"


def test_existing_workspace_without_a_registry_is_one_config_error(tmp_path):
    from mldeploy.config import ConfigError

    values, keys = stack_values("dev")
    values["mldeploy:workspace"] = {"name": "shared-ws", "create": False, "resourceGroup": "rg-shared"}
    lookups = {f"{ML}:getWorkspace": {
        "name": "shared-ws", "workspaceId": "0f0f0f0f-0000-0000-0000-000000000001",
        "storageAccount": "/subscriptions/s/resourceGroups/rg-shared/providers/Microsoft.Storage/storageAccounts/stshared",
        "applicationInsights": "/subscriptions/s/resourceGroups/rg-shared/providers/Microsoft.Insights/components/appi",
    }}
    with pytest.raises(ConfigError) as err:
        synth("dev", tmp_path, values, keys, lookups=lookups)
    message = str(err.value)
    assert message.startswith("stacks/Pulumi.dev.yaml: mldeploy:workspace.name: the existing workspace "
                              "rg-shared/shared-ws has no containerRegistry"), message
    assert "\n" not in message


# -- ModelRegistry unit-tested with its typed arguments: resolved models in, resources out ---------

STORAGE, VAULT = "azure-native:storage:StorageAccount", "azure-native:keyvault:Vault"
REGISTRY, RANDOM_ID = "azure-native:containerregistry:Registry", "random:index/randomId:RandomId"


def _models():
    from mldeploy.config.stack import ModelSettings
    from mldeploy.plan.models import resolve_model
    from tests.harness import ROOT

    one = ModelSettings.model_validate({"path": "examples/diabetes/outputs/sklearn_regression_model.pkl",
                                        "registeredName": "diabetes", "version": 1})
    two = ModelSettings.model_validate({"path": "examples/diabetes/outputs/v2/sklearn_regression_model.pkl",
                                        "registeredName": "diabetes", "version": 2})
    return [resolve_model("diabetes", one, ROOT), resolve_model("diabetes-v2", two, ROOT)]


def _unit(**kwargs):
    from components.registry import ModelRegistry
    from tests.components.unit import declare

    models = _models()
    args = dict(stack="unit", location="westeurope", resource_group_name="rg-unit", name_seed="rg-unit",
                workspace_name="mlw-unit", workspace_sku="Basic", models=models,
                model_tags={"diabetes": {"team": "a"}}, model_descriptions={"diabetes": "first"},
                tags={"managed-by": "mldeploy"}, token_exchange=lambda server, tenant, token: "refresh")
    args.update(kwargs)

    def build():
        return ModelRegistry("registry", **args).workspace_name

    return models, declare(build)


def test_unit_production_keeps_fixed_names_long_soft_delete_and_purge_protection():
    from mldeploy.plan import naming

    _, declared = _unit(production=True)
    vault = declared.one(VAULT)["inputs"]
    assert vault["vaultName"] == naming.key_vault("unit", "rg-unit")
    assert (vault["properties"]["softDeleteRetentionInDays"], vault["properties"]["enablePurgeProtection"]) == (90, True)
    assert declared.of_type(RANDOM_ID) == [], "a production stack's names are fixed"
    assert declared.one(f"{ML}:Workspace")["inputs"]["workspaceName"] == "mlw-unit"


def test_unit_a_non_production_stack_names_vault_and_workspace_per_instance():
    _, declared = _unit(production=False)
    assert len(declared.of_type(RANDOM_ID)) == 1
    vault = declared.one(VAULT)["inputs"]
    assert vault["properties"]["softDeleteRetentionInDays"] == 7
    assert "enablePurgeProtection" not in vault["properties"], "absent, not false: it cannot be switched off later"
    hex_ = declared.one(RANDOM_ID)["outputs"]["hex"]
    assert vault["vaultName"].endswith(hex_) and declared.one(f"{ML}:Workspace")["inputs"]["workspaceName"] \
        .endswith(hex_), "a new instance gets new vault and workspace names (soft delete keeps the old ones)"


def test_unit_the_registry_has_the_given_sku_and_an_admin_user_only_for_a_declared_need():
    from mldeploy.plan.tags import ADMIN_USER_NEED_TAG

    _, plain = _unit(registry_sku="Premium")
    registry = plain.one(REGISTRY)["inputs"]
    assert (registry["sku"], registry["adminUserEnabled"]) == ({"name": "Premium"}, False)
    assert ADMIN_USER_NEED_TAG not in registry["tags"]
    _, edge = _unit(admin_user_need="edge:clinics")
    registry = edge.one(REGISTRY)["inputs"]
    assert registry["adminUserEnabled"] is True and registry["tags"][ADMIN_USER_NEED_TAG] == "edge:clinics"


def test_unit_two_versions_of_one_model_share_its_container():
    from mldeploy.plan import naming

    models, declared = _unit()
    [container] = declared.of_type(f"{ML}:ModelContainer")
    assert container["inputs"]["name"] == "diabetes"
    properties = container["inputs"]["properties"]
    assert (properties["description"], properties["tags"]) == ("first", {"team": "a"}), \
        "the container takes the first entry's description and tags (no version tag)"
    versions = declared.of_type(f"{ML}:ModelVersion")
    assert [(v["inputs"]["name"], v["inputs"]["version"]) for v in versions] == [("diabetes", "1"), ("diabetes", "2")]
    for model, version in zip(models, versions):
        assert version["inputs"]["properties"]["properties"] == {"mldeploy.sha256": model.digest}
        prefix = naming.model_blob_prefix("diabetes", model.version, model.digest)
        assert version["inputs"]["properties"]["modelUri"].endswith(f"/paths/{prefix}/sklearn_regression_model.pkl"), \
            version["inputs"]["properties"]["modelUri"]
    blobs = declared.of_type("azure-native:storage:Blob")
    assert len(blobs) == 2, "one upload per model file"


def _team_workspace():
    """An existing workspace as the program looks it up (`workspace.create: false`), in group rg-ws."""
    from components.registry import ExistingWorkspace

    sub = "/subscriptions/s/resourceGroups/rg-ws/providers"
    return ExistingWorkspace(name="team-ws", resource_group="rg-ws", workspace_id="0000",
                             container_registry=f"{sub}/Microsoft.ContainerRegistry/registries/crteam",
                             storage_account=f"{sub}/Microsoft.Storage/storageAccounts/stteam",
                             application_insights=f"{sub}/Microsoft.Insights/components/ai-team")


def test_unit_an_existing_workspace_creates_none_of_its_parts():
    _, declared = _unit(existing=_team_workspace())
    created = {STORAGE, VAULT, REGISTRY, f"{ML}:Workspace", "azure-native:operationalinsights:Workspace",
               "azure-native:insights:Component"}
    assert not created & set(declared.types), f"an existing workspace's parts are looked up, not created: {declared.types}"
    blob = declared.of_type("azure-native:storage:Blob")[0]["inputs"]
    assert blob["accountName"] == "stteam" and blob["resourceGroupName"] == "rg-ws", "uploaded into its storage account"


def test_unit_an_existing_workspace_gets_model_versions_and_no_container():
    """A kept workspace may hold the model's name already (SDK v1's Model.register): the stack declares only its
    versions, as azure-ai-ml registers a model (the service makes the container with the first version), so it
    neither fails creating a container that exists nor owns - and deletes on destroy - one it did not make."""
    _, declared = _unit(existing=_team_workspace())
    assert declared.of_type(f"{ML}:ModelContainer") == []
    versions = declared.of_type(f"{ML}:ModelVersion")
    assert [(v["inputs"]["name"], v["inputs"]["version"], v["inputs"]["workspaceName"]) for v in versions] == \
        [("diabetes", "1", "team-ws"), ("diabetes", "2", "team-ws")]
    assert versions[0]["inputs"]["properties"]["description"] == "first", "the version carries the description"
