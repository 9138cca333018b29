"""BatchScoring: AmlCompute cluster, environment, code, batch endpoint + deployment."""
from __future__ import annotations

import shutil

import subprocess
import sys

import pytest
import yaml

from mldeploy.config import ConfigError
from mldeploy.plan.batch import endpoint_name
from tests.harness import ROOT, stack_values, synth

ML = "azure-native:machinelearningservices"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    return synth("batch", tmp_path_factory.mktemp("batch"))


def test_cluster_uses_low_priority_vms_and_scales_to_zero(batch):
    compute = batch.one(f"{ML}:Compute")["inputs"]
    props = compute["properties"]["properties"]
    assert compute["properties"]["computeType"] == "AmlCompute"
    assert props["vmPriority"] == "LowPriority"
    assert props["vmSize"] == "Standard_DS3_v2"
    scale = props["scaleSettings"]
    assert (scale["minNodeCount"], scale["maxNodeCount"]) == (0, 4)
    assert scale["nodeIdleTimeBeforeScaleDown"] == "PT120S"


def test_cluster_has_no_local_auth_and_no_public_ssh(batch):
    compute = batch.one(f"{ML}:Compute")["inputs"]
    assert compute["properties"]["disableLocalAuth"] is True
    assert compute["properties"]["properties"]["remoteLoginPortPublicAccess"] == "Disabled"


def test_dedicated_priority_maps_to_dedicated(tmp_path):
    values, keys = stack_values("batch")
    values["mldeploy:batch"]["nightly"]["vmPriority"] = "dedicated"
    compute = synth("batch", tmp_path, values, keys).one(f"{ML}:Compute")["inputs"]
    assert compute["properties"]["properties"]["vmPriority"] == "Dedicated"


def test_deployment_scores_the_registered_model_with_configured_batch_settings(batch):
    deployment = batch.one(f"{ML}:BatchDeployment")["inputs"]["properties"]
    model_version = batch.one(f"{ML}:ModelVersion")
    assert deployment["model"]["referenceType"] == "Id"
    assert deployment["model"]["assetId"].endswith("/models/diabetes/versions/1"), deployment["model"]
    assert deployment["miniBatchSize"] == 2
    assert deployment["retrySettings"] == {"maxRetries": 3, "timeout": "PT300S"}
    assert deployment["errorThreshold"] == 5
    assert deployment["outputAction"] == "AppendRow"
    assert deployment["outputFileName"] == "predictions.csv"
    assert deployment["compute"].endswith("/computes/nightly"), "deployment must run on the declared cluster"
    assert deployment["codeConfiguration"]["scoringScript"] == "batch_score.py"
    assert model_version["inputs"]["version"] == "1"


def test_endpoint_uses_entra_tokens_only(batch):
    endpoint = batch.one(f"{ML}:BatchEndpoint")["inputs"]
    assert endpoint["properties"]["authMode"] == "AADToken"
    assert endpoint["endpointName"] == endpoint_name("batch", "rg-mldeploy-batch", "nightly")


def test_environment_is_the_conda_file_on_the_azure_ml_base_image(batch):
    env = batch.one(f"{ML}:EnvironmentVersion")["inputs"]
    text = (ROOT / "examples/diabetes/batch-env.yml").read_text()
    assert env["properties"]["condaFile"] == text
    assert env["properties"]["image"].startswith("mcr.microsoft.com/azureml/")
    assert "azureml-core" in env["properties"]["condaFile"]


def test_the_environment_builds_on_the_dated_default_or_the_entry_s_own_base_image(batch, tmp_path):
    """The default is mldeploy's dated pin (never `latest`: plan/versions.py DEFAULT_IMAGES); a
    `baseImage` of the entry's own is what Azure ML builds on, and is another environment version."""
    from mldeploy.contract import AZUREML_BASE_IMAGE
    default = batch.one(f"{ML}:EnvironmentVersion")["inputs"]
    assert default["properties"]["image"] == AZUREML_BASE_IMAGE and not AZUREML_BASE_IMAGE.endswith(":latest")
    values, secret_keys = stack_values("batch")
    own = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250701.v1"
    values["mldeploy:batch"]["nightly"]["baseImage"] = own
    env = synth("batch", tmp_path, values, secret_keys).one(f"{ML}:EnvironmentVersion")["inputs"]
    assert env["properties"]["image"] == own and env["version"] != default["version"], env


def test_code_version_points_at_the_uploaded_script(batch):
    code = batch.one(f"{ML}:CodeVersion")["inputs"]
    blobs = [b["inputs"] for b in batch.of_type("azure-native:storage:Blob")
             if b["inputs"]["blobName"].startswith("mldeploy/batch-code/")]
    assert len(blobs) == 1
    assert blobs[0]["blobName"] == f"mldeploy/batch-code/nightly/{code['version']}/batch_score.py"
    assert code["properties"]["codeUri"].endswith(f"/mldeploy/batch-code/nightly/{code['version']}")


def test_a_changed_script_is_a_new_code_version(tmp_path):
    # Another script inside the project (paths outside it are refused).
    values, keys = stack_values("batch")
    values["mldeploy:batch"]["nightly"]["entryScript"] = "examples/diabetes/score.py"
    before = synth("batch", tmp_path / "a").one(f"{ML}:CodeVersion")["inputs"]["version"]
    after = synth("batch", tmp_path / "b", values, keys).one(f"{ML}:CodeVersion")["inputs"]["version"]
    assert before != after


def test_stack_outputs_name_endpoint_and_deployment(batch):
    out = batch.outputs["batch"]["nightly"]
    assert out["deploymentName"] == "nightly"
    assert out["scoringUri"].startswith("https://nightly-")


# -- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("change, key, words", [
    ({"vmPriority": "spot"}, "mldeploy:batch.nightly.vmPriority", "'dedicated' or 'lowPriority'"),
    ({"minNodes": 5, "maxNodes": 2}, "mldeploy:batch.nightly", "minNodes (5) must be <= maxNodes (2)"),
    ({"requirementsFile": "examples/binary-echo/requirements.txt"}, "mldeploy:batch.nightly", "exactly one of condaFile"),
    ({"model": "nope"}, "mldeploy:batch.nightly.model", "does not exist"),
])
def test_bad_batch_settings_are_one_clear_config_error(tmp_path, change, key, words):
    values, keys = stack_values("batch")
    values["mldeploy:batch"]["nightly"].update(change)
    with pytest.raises(ConfigError) as err:
        synth("batch", tmp_path, values, keys)
    assert err.value.key == key, str(err.value)
    assert words in err.value.message


def test_cli_exits_2_naming_the_key_for_an_unknown_vm_priority(tmp_path):
    project = tmp_path / "p"
    (project / "stacks").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    shutil.copytree(ROOT / "examples", project / "examples", ignore=shutil.ignore_patterns("__pycache__"))  # a link out of the project is refused
    doc = yaml.safe_load((ROOT / "stacks/Pulumi.batch.yaml").read_text())
    doc["config"]["mldeploy:batch"]["nightly"]["vmPriority"] = "spot"
    (project / "stacks/Pulumi.batch.yaml").write_text(yaml.safe_dump(doc))
    proc = subprocess.run([sys.executable, "-m", "mldeploy", "synth", "--stack", "batch", "--out", str(tmp_path / "o")],
                          cwd=project, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: stacks/Pulumi.batch.yaml: mldeploy:batch.nightly.vmPriority: ")
    assert "Traceback" not in proc.stderr


# -- BatchScoring unit-tested with a plan: plan_batch's BatchPlan in, the registered resources out --

WORKSPACE = dict(location="westeurope", resource_group_name="rg-ws", workspace_name="mlw-unit",
                 storage_account_name="stunit", storage_resource_group="rg-storage", blob_container="azureml-blobstore-x")
MODEL_ID = "/subscriptions/s/resourceGroups/rg-ws/providers/Microsoft.MachineLearningServices/workspaces/mlw-unit/models/m/versions/3"


def _unit(tmp_path, **settings):
    from mldeploy.components.batch import BatchScoring, WorkspaceRefs
    from mldeploy.targets.batch.config import BatchSettings
    from mldeploy.targets.batch.plan import plan_batch
    from tests.components.unit import declare

    (tmp_path / "env.yml").write_text("name: e\ndependencies:\n  - python=3.11\n  - pip:\n    - azureml-core\n")
    (tmp_path / "driver.py").write_text("def init():\n    pass\n\n\ndef run(batch):\n    return batch\n")
    entry = BatchSettings.model_validate({"model": "m", "entryScript": "driver.py", "condaFile": "env.yml", **settings},
                                         context={"root": str(tmp_path)})
    plan = plan_batch("unit", "rg-unit", "scores", entry, tmp_path)

    def build():
        return BatchScoring("batch-scores", plan=plan, model_id=MODEL_ID, workspace=WorkspaceRefs(**WORKSPACE),
                            tags={"managed-by": "mldeploy"}).scoring_uri

    return plan, declare(build)


def test_unit_the_cluster_has_the_plans_vms_and_node_range(tmp_path):
    plan, declared = _unit(tmp_path, vmSize="Standard_F4s_v2", vmPriority="lowPriority", minNodes=1, maxNodes=7,
                           idleSecondsBeforeScaledown=900)
    compute = declared.one(f"{ML}:Compute")["inputs"]
    assert compute["computeName"] == plan.compute_name
    props = compute["properties"]["properties"]
    assert (props["vmSize"], props["vmPriority"]) == ("Standard_F4s_v2", "LowPriority"), props
    assert props["scaleSettings"] == {"minNodeCount": plan.min_nodes, "maxNodeCount": plan.max_nodes,
                                      "nodeIdleTimeBeforeScaleDown": plan.idle_time} == {
        "minNodeCount": 1, "maxNodeCount": 7, "nodeIdleTimeBeforeScaleDown": "PT900S"}, props["scaleSettings"]


def test_unit_the_deployment_runs_the_plans_job_on_the_declared_cluster_env_and_code(tmp_path):
    plan, declared = _unit(tmp_path, instanceCount=2, maxNodes=4, maxConcurrencyPerInstance=3, miniBatchSize=5,
                           maxRetries=1, timeoutSeconds=90, errorThreshold=7, outputAction="summaryOnly")
    deployment = declared.one(f"{ML}:BatchDeployment")["inputs"]
    props = deployment["properties"]
    assert deployment["deploymentName"] == plan.deployment_name
    assert props["compute"] == declared.one(f"{ML}:Compute")["id"], "the job must run on the cluster declared here"
    assert props["environmentId"] == declared.one(f"{ML}:EnvironmentVersion")["id"]
    assert props["codeConfiguration"] == {"codeId": declared.one(f"{ML}:CodeVersion")["id"],
                                          "scoringScript": plan.assets.scoring_script}
    assert props["model"] == {"referenceType": "Id", "assetId": MODEL_ID}
    assert props["resources"] == {"instanceCount": 2}
    assert (props["maxConcurrencyPerInstance"], props["miniBatchSize"], props["errorThreshold"]) == (3, 5, 7)
    assert props["retrySettings"] == {"maxRetries": 1, "timeout": plan.timeout} == {"maxRetries": 1, "timeout": "PT90S"}
    assert props["outputAction"] == "SummaryOnly" and props["outputFileName"] == plan.output_file_name


def test_unit_the_endpoint_is_entra_only_under_the_plans_name(tmp_path):
    plan, declared = _unit(tmp_path, description="nightly risk scores")
    endpoint = declared.one(f"{ML}:BatchEndpoint")
    assert endpoint["inputs"]["endpointName"] == plan.endpoint_name
    assert endpoint["inputs"]["properties"] == {"authMode": "AADToken", "description": "nightly risk scores"}
    deployment = declared.one(f"{ML}:BatchDeployment")["inputs"]
    assert deployment["endpointName"] == endpoint["outputs"]["name"], "the deployment belongs to the endpoint declared here"


def test_unit_environment_and_code_are_the_plans_versions(tmp_path):
    plan, declared = _unit(tmp_path)
    env = declared.one(f"{ML}:EnvironmentVersion")["inputs"]
    assert (env["name"], env["version"]) == (plan.assets.environment_name, plan.assets.environment_version)
    assert env["properties"]["condaFile"] == plan.assets.conda_text and env["properties"]["image"] == plan.assets.base_image
    code = declared.one(f"{ML}:CodeVersion")["inputs"]
    assert (code["name"], code["version"]) == (plan.assets.code_name, plan.assets.code_version)
    [blob] = declared.of_type("azure-native:storage:Blob")
    assert blob["inputs"]["blobName"] == f"{plan.assets.code_blob_prefix}/driver.py"
    assert (blob["inputs"]["accountName"], blob["inputs"]["containerName"], blob["inputs"]["resourceGroupName"]) == (
        WORKSPACE["storage_account_name"], WORKSPACE["blob_container"], WORKSPACE["storage_resource_group"])
    assert code["properties"]["codeUri"] == (f"https://stunit.blob.core.windows.net/azureml-blobstore-x/"
                                             f"{plan.assets.code_blob_prefix}")


def test_unit_every_workspace_child_lives_in_the_given_workspace(tmp_path):
    _, declared = _unit(tmp_path)
    ml = [r for r in declared.resources if r["type"].startswith(f"{ML}:")]
    assert len(ml) == 7, [r["type"] for r in ml]  # compute, endpoint, deployment, env + code container/version
    for r in ml:
        where = (r["inputs"]["resourceGroupName"], r["inputs"]["workspaceName"])
        assert where == ("rg-ws", "mlw-unit"), f"{r['type']} {r['name']} is in {where}, not the workspace"
