"""The local rehearsal of a v2 online endpoint runs a scorer as Azure ML v2 runs a deployment:
AML_APP_ROOT and the working folder are the scoring script's folder, AZUREML_ENTRY_SCRIPT its name,
the models beside the code (runtime/local.py v2_deployment_env, with its sources). So an SDK v1
score.py whose environment installs the real azureml-core (azureml-defaults) stops at
Model.get_model_path under `serve --stack managed`, as it would in Azure, with what to change;
the same project's local (v1-style) service keeps finding the model, as v1's images do."""
from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
import requests

from tests.harness import MLDEPLOY, serving

pytestmark = pytest.mark.slow

V1_SCORE = """import joblib
from azureml.core.model import Model


def init():
    global model
    model = joblib.load(Model.get_model_path('clf'))


def run(data):
    return {"model": type(model).__name__}
"""
V2_SCORE = """import os

import joblib


def init():
    global model
    model = joblib.load(os.path.join(os.environ['AZUREML_MODEL_DIR'], 'model.pkl'))


def run(data):
    return {"model": type(model).__name__, "cwd": os.getcwd(), "app_root": os.environ['AML_APP_ROOT'],
            "entry_script": os.environ['AZUREML_ENTRY_SCRIPT']}
"""
# The environment's own lines as an SDK v1 user's myenv.yml has them (azureml-defaults brings the real
# azureml-core 1.61): the same lines as tests/plan/test_script_checks.py's, one cached scoring environment.
ENVIRONMENT = """name: clf-env
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
      - azureml-defaults
      - scikit-learn==1.9.1
      - joblib
      - numpy
      - inference-schema[numpy-support]
"""
LOCAL_STACK = """config:
  mldeploy:models:
    clf:
      path: models/model.pkl
      version: 1
  mldeploy:images:
    clf:
      entryScript: score.py
      condaFile: environment.yml
      models: [clf]
      sampleRequest: sample-request.json
  mldeploy:services:
    clf:
      target: local
      image: clf
"""


def _project(tmp_path: Path, score: str) -> Path:
    import joblib
    from sklearn.linear_model import LinearRegression

    from mldeploy.project import ProjectChoices, render_project

    files = render_project(ProjectChoices(project="p", name="clf", model_path="models/model.pkl",
                                          model_file="model.pkl", features=4, targets=("managed",)))
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    (tmp_path / "models").mkdir(exist_ok=True)
    joblib.dump(LinearRegression().fit([[0, 0, 0, 0], [1, 1, 1, 1]], [0, 1]), tmp_path / "models" / "model.pkl")
    (tmp_path / "score.py").write_text(score)
    (tmp_path / "environment.yml").write_text(ENVIRONMENT)
    (tmp_path / "stacks" / "Pulumi.local.yaml").write_text(LOCAL_STACK)
    return tmp_path


def test_a_v1_score_py_with_azureml_core_stops_under_serve_of_a_v2_endpoint_as_in_azure(tmp_path):
    root = _project(tmp_path, V1_SCORE)
    # Before the rehearsal ran as Azure does, it served (so: stopped once its endpoint line is out).
    proc = subprocess.Popen([*MLDEPLOY, "serve", "--stack", "managed", "--port", "0", "--json", "--timeout", "120"],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # the endpoint line once serving, else "" when serve exits
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert not line, f"the rehearsal must stop where Azure would, not serve: {line}"
    assert proc.returncode == 1, err
    error = next((line for line in err.splitlines() if line.startswith("error: ")), "")
    assert "ModelNotFoundException" in error and "AML_APP_ROOT" in error, err
    assert "os.path.join(os.environ['AZUREML_MODEL_DIR'], 'model.pkl')" in error, error


def test_the_same_score_py_on_a_v1_style_target_finds_its_model(tmp_path):
    root = _project(tmp_path, V1_SCORE)
    with serving("--stack", "local", "--port", "0", "--json", cwd=root) as served:
        auth = {"Authorization": f"Bearer {served.endpoint['primaryKey']}"}
        answer = requests.post(served.endpoint["scoringUri"], json={"data": [[1, 2, 3, 4]]}, headers=auth, timeout=30)
        assert answer.status_code == 200 and answer.json() == {"model": "LinearRegression"}, answer.text
    assert served.proc.returncode == 0, served.err


def test_a_v2_score_py_sees_azure_s_app_root_working_folder_and_entry_script(tmp_path):
    root = _project(tmp_path, V2_SCORE)
    with serving("--stack", "managed", "--port", "0", "--json", cwd=root) as served:
        auth = {"Authorization": f"Bearer {served.endpoint['primaryKey']}"}
        answer = requests.post(served.endpoint["scoringUri"], json={"data": [[1, 2, 3, 4]]}, headers=auth, timeout=30)
        assert answer.status_code == 200, answer.text
        seen = answer.json()
        # Azure sets AZUREML_ENTRY_SCRIPT=score.py; the server makes it absolute (--entry_script's realpath): the
        # same file, the one in AML_APP_ROOT.
        script = Path(seen["app_root"], seen["entry_script"])
        assert seen["model"] == "LinearRegression" and script == Path(seen["app_root"], "score.py"), seen
        assert seen["cwd"] == seen["app_root"] and Path(seen["app_root"], "score.py").is_file(), seen
        assert not Path(seen["app_root"], "azureml-models").exists(), f"models are beside the code in Azure: {seen}"
    assert served.proc.returncode == 0, served.err
