"""An SDK v1 scoring script in the image, unchanged: the local stack's image with a score.py in
the guide's v1 style (`Model.get_model_path`, `@rawhttp`, `AMLResponse`) and a requirements file
without azureml-core, built from its synthesized build context and run: the stand-in found the
model in the image's layout, and the script scores."""
from __future__ import annotations

import json

import joblib
import numpy as np
import pytest
import yaml

from mldeploy.runtime.processes import free_port
from tests.containers import RUN_PREFIX, first_200
from tests.containers.synthesized import build_images, synth_to
from tests.harness import ROOT, stack_values

HERE = "build/container-tests/v1"
SAMPLE = ROOT / "examples" / "diabetes" / "sample-request.json"
V1_SCORE = '''import json

import joblib
import numpy as np
from azureml.core.model import Model
from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    global model
    model = joblib.load(Model.get_model_path('diabetes'))


@rawhttp
def run(request):
    data = json.loads(request.get_data(False))['data']
    return AMLResponse(json.dumps(model.predict(np.array(data)).tolist()), 200, {'Content-Type': 'application/json'})
'''


@pytest.fixture(scope="module")
def v1_image(engine, standins, work_dir):
    env = yaml.safe_load((ROOT / "examples" / "diabetes" / "myenv.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    (ROOT / HERE).mkdir(parents=True, exist_ok=True)
    (ROOT / HERE / "requirements.txt").write_text("\n".join(pip) + "\n")
    (ROOT / HERE / "score.py").write_text(V1_SCORE)
    values, _ = stack_values("local")
    image = values["mldeploy:images"]["diabetes"]
    image.pop("condaFile")
    image.update(requirementsFile=f"{HERE}/requirements.txt", entryScript=f"{HERE}/score.py")
    out = synth_to("local", work_dir / "synth-local-v1", values=values)
    dockerfile = (out / "images" / "diabetes" / "Dockerfile").read_text()
    assert "COPY app/azureml/ /var/azureml-app/azureml/" in dockerfile, "the stand-in must be in the image"
    return build_images(engine, out, work_dir / "logs")["diabetes"]


def test_v1_script_scores_in_its_image(engine, v1_image, trained_model):
    container, port = f"{RUN_PREFIX}-v1", free_port()
    engine.remove(container)
    engine.run("run", "-d", "--name", container, "-p", f"127.0.0.1:{port}:5001", v1_image)
    try:
        reply = first_200(engine, container, f"http://127.0.0.1:{port}/score", SAMPLE.read_bytes())
        rows = json.loads(SAMPLE.read_text())["data"]
        expected = joblib.load(trained_model).predict(np.asarray(rows, dtype=float))
        assert np.allclose(json.loads(reply.body), expected)
    finally:
        engine.remove(container)
