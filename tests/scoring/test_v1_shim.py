"""mldeploy's stand-in for azureml-core (mldeploy/scoring/v1-shim): Model.get_model_path finds
each model the way azureml-core does in a deployment, on mldeploy's layout (models apart from
the script locally, folders stored flat) and on Azure's (v2 mounts, a folder kept whole).
Each case runs in a fresh interpreter with only the stand-in on the path."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mldeploy.scoring import V1_SHIM


def _layout(root: Path, files: dict[str, str], manifest: dict | None = None) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    shim = root / "app"
    (shim / "azureml").mkdir(parents=True, exist_ok=True)
    for p in (V1_SHIM / "azureml").rglob("*.py"):
        target = shim / p.relative_to(V1_SHIM)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(p.read_bytes())
    if manifest is not None:
        (shim / "azureml" / "core" / "mldeploy-models.json").write_text(json.dumps(manifest))


def _get(root: Path, call: str, env: dict[str, str], cwd: Path | None = None) -> str:
    code = f"import sys; sys.path.append({str(root / 'app')!r})\nfrom azureml.core.model import Model\nprint({call})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd or root,
                          env={"PATH": os.environ["PATH"], **env})
    return done.stdout.strip() if done.returncode == 0 else "ERROR " + done.stderr.strip().splitlines()[-1]


def test_one_file_model_next_to_the_app(tmp_path):
    """Image layout: AML_APP_ROOT=/var/azureml-app, models in its azureml-models folder."""
    _layout(tmp_path, {"app/azureml-models/iris/1/iris.pkl": "m"}, {"iris/1": {"file": "iris.pkl"}})
    got = _get(tmp_path, "Model.get_model_path('iris')", {"AML_APP_ROOT": str(tmp_path / "app")})
    assert got == str(tmp_path / "app" / "azureml-models" / "iris" / "1" / "iris.pkl")


def test_models_found_through_azureml_model_dir(tmp_path):
    """Local target: the script's folder (AML_APP_ROOT) holds no models; AZUREML_MODEL_DIR lies
    in the azureml-models folder."""
    _layout(tmp_path, {"ctx/azureml-models/iris/1/iris.pkl": "m"}, {"iris/1": {"file": "iris.pkl"}})
    env = {"AML_APP_ROOT": str(tmp_path / "app"), "AZUREML_MODEL_DIR": str(tmp_path / "ctx/azureml-models/iris/1")}
    assert _get(tmp_path, "Model.get_model_path('iris')", env) == str(tmp_path / "ctx/azureml-models/iris/1/iris.pkl")
    assert _get(tmp_path, "Model.get_model_path(model_name='iris', version=1)", env).endswith("iris/1/iris.pkl")


def test_two_versions_of_one_model(tmp_path):
    _layout(tmp_path, {"ctx/azureml-models/iris/2/iris.pkl": "v2", "ctx/azureml-models/iris/10/iris.pkl": "v10",
                       "ctx/azureml-models/other/1/o.pkl": "o"},
            {"iris/2": {"file": "iris.pkl"}, "iris/10": {"file": "iris.pkl"}, "other/1": {"file": "o.pkl"}})
    env = {"AZUREML_MODEL_DIR": str(tmp_path / "ctx/azureml-models")}
    assert _get(tmp_path, "Model.get_model_path('iris')", env).endswith("iris/10/iris.pkl"), "latest = highest number"
    assert _get(tmp_path, "Model.get_model_path('iris', version=2)", env).endswith("iris/2/iris.pkl")
    assert _get(tmp_path, "Model.get_model_path('other')", env).endswith("other/1/o.pkl")
    missing = _get(tmp_path, "Model.get_model_path('iris', version=3)", env)
    assert missing.startswith("ERROR") and "deployed versions: 10, 2" in missing, missing


def test_content_versions_need_a_version_when_several(tmp_path):
    _layout(tmp_path, {"m/azureml-models/iris/abc123/x.pkl": "a", "m/azureml-models/iris/def456/x.pkl": "b"}, {})
    env = {"AZUREML_MODEL_DIR": str(tmp_path / "m/azureml-models")}
    got = _get(tmp_path, "Model.get_model_path('iris')", env)
    assert got.startswith("ERROR") and "pass version=" in got, got
    assert _get(tmp_path, "Model.get_model_path('iris', version='def456')", env).endswith("def456/x.pkl")


def test_folder_model_stored_flat_is_returned_as_its_folder(tmp_path):
    """mldeploy stores a registered folder's files in the version folder: a folder holding one
    file is still the folder (the script joins the file name to it)."""
    _layout(tmp_path, {"m/azureml-models/tf/1/saved_model.pb": "x"}, {"tf/1": {"folder": ["saved_model.pb"]}})
    env = {"AZUREML_MODEL_DIR": str(tmp_path / "m/azureml-models/tf/1")}
    assert _get(tmp_path, "Model.get_model_path('tf')", env) == str(tmp_path / "m/azureml-models/tf/1")


def test_folder_kept_whole_as_azure_mounts_it(tmp_path):
    """v2 endpoints: Azure puts a registered folder under the version folder as one folder."""
    _layout(tmp_path, {"m/azureml-models/tf/1/abc/saved_model.pb": "x", "m/azureml-models/tf/1/abc/vars": "y"},
            {"tf/1": {"folder": ["saved_model.pb", "vars"]}})
    env = {"AZUREML_MODEL_DIR": str(tmp_path / "m/azureml-models/tf/1")}
    assert _get(tmp_path, "Model.get_model_path('tf')", env) == str(tmp_path / "m/azureml-models/tf/1/abc")


def test_unknown_model_names_what_is_deployed(tmp_path):
    _layout(tmp_path, {"m/azureml-models/iris/1/iris.pkl": "m"}, {})
    got = _get(tmp_path, "Model.get_model_path('irs')", {"AZUREML_MODEL_DIR": str(tmp_path / "m/azureml-models/iris/1")})
    assert got.startswith("ERROR ") and "deployed: iris:1" in got, got


def test_other_v1_calls_fail_with_the_reason(tmp_path):
    _layout(tmp_path, {}, {})
    got = _get(tmp_path, "Model.register", {})
    assert got.startswith("ERROR AttributeError") and "AZUREML_MODEL_DIR" in got, got


def test_from_azureml_core_import_model(tmp_path):
    _layout(tmp_path, {"app/azureml-models/iris/1/iris.pkl": "m"}, {})
    code = (f"import sys; sys.path.append({str(tmp_path / 'app')!r})\n"
            "from azureml.core import Model\nprint(Model.get_model_path('iris'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={"PATH": os.environ["PATH"], "AML_APP_ROOT": str(tmp_path / "app")})
    assert done.stdout.strip().endswith("iris/1/iris.pkl"), done.stderr


def test_contrib_services_are_the_servers_own(tmp_path):
    """Outside the server the stand-in's modules re-export the server's classes; `rawhttp` sets
    the server's own flag (the server reads it to pick the raw-request parser)."""
    pytest.importorskip("azureml_inference_server_http")
    _layout(tmp_path, {}, {})
    code = (f"import sys; sys.path.append({str(tmp_path / 'app')!r})\n"
            "from azureml.contrib.services.aml_request import AMLRequest, rawhttp\n"
            "from azureml.contrib.services.aml_response import AMLResponse\n"
            "from azureml_inference_server_http.api import aml_request, aml_response\n"
            "rawhttp(lambda r: r)\n"
            "print(AMLRequest is aml_request.AMLRequest, AMLResponse is aml_response.AMLResponse, "
            "aml_request._rawHttpRequested)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout.split() == ["True", "True", "True"], done.stderr


def test_v1_names_a_stack_cannot_spell(tmp_path):
    """Stack model names are lowercase with '-': a v1 name with '_' or capitals finds its
    stack spelling, and the file name of exactly one model finds that model."""
    _layout(tmp_path, {"m/azureml-models/my-model/1/model.pkl": "m", "m/azureml-models/reg/2/sklearn_regression_model.pkl": "r"},
            {"my-model/1": {"file": "model.pkl"}, "reg/2": {"file": "sklearn_regression_model.pkl"}})
    env = {"AZUREML_MODEL_DIR": str(tmp_path / "m/azureml-models")}
    assert _get(tmp_path, "Model.get_model_path('My_Model')", env).endswith("my-model/1/model.pkl")
    assert _get(tmp_path, "Model.get_model_path('sklearn_regression_model.pkl')", env).endswith(
        "reg/2/sklearn_regression_model.pkl")
