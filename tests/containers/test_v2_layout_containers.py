"""`serve --containers` of a v2 online endpoint runs each deployment's container as Azure ML v2 runs a
deployment, as `serve` runs its process (tests/runtime/test_v2_app_root_e2e.py): the code folder mounted
beside the models, AML_APP_ROOT and the working folder the scoring script's folder, AZUREML_ENTRY_SCRIPT
its name, AZUREML_MODEL_DIR the model's folder (runtime/endpoint_containers.py v2_layout, with its
sources). A score.py in a subfolder of its sourceDirectory that opens its model by AZUREML_MODEL_DIR and a
file of its own folder by a relative path answers the same under both; one that opens the model by the
v1 image's relative path (azureml-models/... from /var/azureml-app) stops under both, with the same
error line."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

from mldeploy.runtime.client import score
from mldeploy.runtime.processes import free_port
from tests.harness import MLDEPLOY, ROOT, serving

MODEL = ROOT / "examples" / "diabetes" / "outputs" / "sklearn_regression_model.pkl"
V2_SCORE = """import os

import joblib


def init():
    global model, labels
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "sklearn_regression_model.pkl"))
    with open("labels.txt") as f:  # beside score.py: the working folder is the script's
        labels = f.read().strip()


def run(data):
    return {"model": type(model).__name__, "labels": labels, "cwd": os.getcwd(),
            "app_root": os.environ["AML_APP_ROOT"], "entry_script": os.environ["AZUREML_ENTRY_SCRIPT"],
            "model_dir": os.environ["AZUREML_MODEL_DIR"],
            "beside_the_code": sorted(os.listdir(os.path.dirname(os.path.dirname(os.environ["AML_APP_ROOT"]))))}
"""
# The v1 image's working folder is /var/azureml-app, which holds azureml-models/: not a v2 deployment's.
V1_PATH_SCORE = """import joblib


def init():
    global model
    model = joblib.load("azureml-models/diabetes/1/sklearn_regression_model.pkl")


def run(data):
    return {"model": type(model).__name__}
"""
STACK = """config:
  azure-native:location: westeurope
  mldeploy:resourceGroup: rg-v2-layout
  mldeploy:workspace:
    name: mlw-v2-layout
  mldeploy:endpointQuota:
    standardFSv2Family: 48
  mldeploy:models:
    diabetes:
      path: sklearn_regression_model.pkl
      version: 1
  mldeploy:images:
    diabetes:
      sourceDirectory: src
      entryScript: online/score.py
      condaFile: env.yml
      models: [diabetes]
  mldeploy:services:
    diabetes:
      target: managed
      deployments:
        blue:
          image: diabetes
          instanceType: Standard_F2s_v2
          instanceCount: 1
          trafficPercent: 100
"""


def _project(tmp_path: Path, score_py: str) -> Path:
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    (root / "src" / "online").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copy(MODEL, root / MODEL.name)
    shutil.copy(ROOT / "examples" / "diabetes" / "myenv.yml", root / "env.yml")  # the cached scoring environment
    (root / "src" / "online" / "score.py").write_text(score_py)
    (root / "src" / "online" / "labels.txt").write_text("progression\n")
    (root / "stacks" / "Pulumi.managed.yaml").write_text(STACK)
    return root


def _answer(root: Path, *containers: str) -> dict:
    port = free_port()
    with serving("--stack", "managed", "--service", "diabetes", *containers, "--json", "--port", str(port),
                 cwd=root, stop_timeout=120) as served:
        endpoint = served.endpoint
        reply = score(endpoint["scoringUri"], endpoint["primaryKey"], b'{"data": [[1,2,3,4,5,6,7,8,9,10]]}')
    assert served.proc.returncode == 0, f"serve {' '.join(containers)} exited {served.proc.returncode}: {served.err[-1500:]}"
    assert reply.status == 200, f"{reply.status} {reply.error or reply.text()[:300]}"
    return json.loads(reply.body)


def test_a_v2_score_py_sees_the_same_layout_in_its_container_as_in_serve(engine, standins, tmp_path):
    root = _project(tmp_path, V2_SCORE)
    container = _answer(root, "--containers")
    assert container["model"] == "Ridge" and container["labels"] == "progression", container
    assert container["app_root"] == "/var/azureml-app/app/online" == container["cwd"], container
    assert container["entry_script"] == "/var/azureml-app/app/online/score.py", container
    assert container["model_dir"] == "/var/azureml-app/azureml-models/diabetes/1", container
    assert "azureml-models" in container["beside_the_code"], f"the models are beside the code folder: {container}"
    processes = _answer(root)
    # The same layout relative to the code folder's parent (serve's run folder, the container's /var/azureml-app).
    base = Path(processes["app_root"]).parent.parent
    assert processes["model"] == container["model"] and processes["labels"] == container["labels"], processes
    assert Path(processes["app_root"]).relative_to(base).as_posix() == "app/online" == \
        Path(processes["cwd"]).relative_to(base).as_posix(), processes
    assert Path(processes["model_dir"]).relative_to(base).as_posix() == "azureml-models/diabetes/1", processes


def _refused(root: Path, *containers: str) -> str:
    proc = subprocess.Popen([*MLDEPLOY, "serve", "--stack", "managed", "--service", "diabetes", *containers, "--json",
                             "--port", str(free_port()), "--timeout", "180"], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # the endpoint line once serving, else "" when serve exits
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=180)
    assert not line, f"{containers}: must stop where Azure would, not serve: {line}"
    assert proc.returncode == 1, err[-1500:]
    error = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and "Traceback" not in error[0], err[-1500:]
    return error[0]


def test_a_v1_style_model_path_stops_in_its_container_as_in_serve(engine, standins, tmp_path):
    root = _project(tmp_path, V1_PATH_SCORE)
    missing = "No such file or directory: 'azureml-models/diabetes/1/sklearn_regression_model.pkl'"
    in_container = _refused(root, "--containers")
    assert "the scorer of deployment 'blue' exited" in in_container and missing in in_container, in_container
    in_serve = _refused(root)
    assert "the scorer of deployment 'blue'" in in_serve and missing in in_serve, in_serve
