"""A user's own project with an SDK v1 scoring script, unchanged - `Model.get_model_path`,
`azureml.contrib.services` (AMLRequest, rawhttp, AMLResponse) - and their own model (iris,
LogisticRegression), served by `mldeploy serve` with each scoring server; a failing run() answers
a 500 naming `mldeploy logs`, which shows its traceback. The environment has no azureml-core."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from tests.harness import MLDEPLOY, ROOT, serving

pytestmark = pytest.mark.slow

V1_SCORE = '''import json

import joblib
import numpy as np
from azureml.core.model import Model
from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    global model, older
    model = joblib.load(Model.get_model_path('iris'))
    older = Model.get_model_path(model_name='iris', version=3)


@rawhttp
def run(request):
    if request.method == 'GET':
        return AMLResponse(older, 200)
    if request.method != 'POST':
        return AMLResponse("use GET or POST", 405)
    data = json.loads(request.get_data(False))['data']  # a body without 'data' raises: a 500
    return AMLResponse(json.dumps(model.predict(np.array(data)).tolist()), 200, {'Content-Type': 'application/json'})
'''


def _project(tmp_path: Path, scoring_server: str) -> Path:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    import joblib

    root = tmp_path / "iris-project"
    (root / "stacks").mkdir(parents=True)
    (root / "model").mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    x, y = load_iris(return_X_y=True)
    joblib.dump(LogisticRegression(max_iter=500).fit(x, y), root / "model" / "iris.pkl")
    (root / "score.py").write_text(V1_SCORE)
    # The diabetes example's environment byte for byte (the cached scoring environment): no azureml-core.
    shutil.copy(ROOT / "examples" / "diabetes" / "myenv.yml", root / "env.yml")
    (root / "sample.json").write_text('{"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}')
    (root / "stacks" / "Pulumi.local.yaml").write_text(f"""config:
  mldeploy:models:
    iris:
      path: model/iris.pkl
      version: 3
  mldeploy:images:
    iris:
      entryScript: score.py
      condaFile: env.yml
      models: [iris]
      sampleRequest: sample.json
      scoringServer: {scoring_server}
  mldeploy:services:
    iris:
      target: local
      image: iris
""")
    return root


@pytest.mark.parametrize("scoring_server", ["mldeploy", "azmlinfsrv"])
def test_v1_script_served_unchanged_and_its_error_names_the_logs_command(tmp_path, scoring_server):
    root = _project(tmp_path, scoring_server)
    with serving("--stack", "local", "--port", "0", "--json", cwd=root) as served:
        endpoint = served.endpoint
        auth = {"Authorization": f"Bearer {endpoint['primaryKey']}"}
        ok = requests.post(endpoint["scoringUri"], data=(root / "sample.json").read_bytes(), headers=auth, timeout=30)
        assert ok.status_code == 200 and ok.json() == [0, 2], ok.text
        path = requests.get(endpoint["scoringUri"], headers=auth, timeout=30)
        assert path.text.endswith("azureml-models/iris/3/iris.pkl"), f"get_model_path(version=3): {path.text}"
        failed = requests.post(endpoint["scoringUri"], json={"rows": []}, headers=auth, timeout=30)
        assert failed.status_code == 500, failed.text
        assert "mldeploy logs --stack local --service iris" in failed.json()["message"], failed.text
        logs = subprocess.run([*MLDEPLOY, "logs", "--stack", "local", "--service", "iris", "--tail", "40"], cwd=root,
                              capture_output=True, text=True, timeout=60)
        assert logs.returncode == 0, logs.stderr
        assert "scorer | KeyError: 'data'" in logs.stdout, logs.stdout
    assert served.proc.returncode == 0, served.err


def test_synth_warns_once_and_other_v1_calls_stop_serve(tmp_path):
    root = _project(tmp_path, "mldeploy")
    synth = subprocess.run([*MLDEPLOY, "synth", "--stack", "local"], cwd=root, capture_output=True, text=True,
                           timeout=300)
    assert synth.returncode == 0, synth.stderr
    warnings = [w for w in synth.stderr.splitlines() if "get_model_path" in w]
    assert len(warnings) == 1 and "AZUREML_MODEL_DIR" in warnings[0], synth.stderr
    assert (root / "build/synth/local/images/iris/app/azureml/core/model.py").exists(), "the stand-in is in the image"

    (root / "score.py").write_text(V1_SCORE.replace("def init():\n", "def init():\n    from azureml.core import Run\n"
                                                    "    Run.get_context().log('start', 1)\n"))
    serve = subprocess.run([*MLDEPLOY, "serve", "--stack", "local"], cwd=root, capture_output=True, text=True,
                           timeout=120)
    assert serve.returncode == 2, serve.stderr
    assert serve.stderr.strip().count("\n") == 0 and "Run.get_context is Azure ML SDK v1" in serve.stderr, serve.stderr


URL_SCORE = '''import json
from azureml.contrib.services.aml_request import rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request):
    return AMLResponse(json.dumps({"url": request.url, "is_secure": request.is_secure}), 200,
                       {"Content-Type": "application/json"})
'''


@pytest.mark.parametrize("scoring_server", ["mldeploy", "azmlinfsrv"])
def test_behind_the_tls_gateway_run_sees_https_as_on_azmlinfsrv(tmp_path, scoring_server):
    """gunicorn (azmlinfsrv) takes the gateway's X-Forwarded-Proto: https as the scheme and refuses
    a client's contradicting X-Forwarded-Ssl: off; mldeploy's host did neither (request.url
    http://..., is_secure False, the contradiction scored) before wsgi_on_asgi.py followed it."""
    from tests.runtime.test_tls_e2e import self_signed

    root = _project(tmp_path, scoring_server)
    (root / "score.py").write_text(URL_SCORE)
    cert_pem, key_pem = self_signed()
    (root / "tls.crt").write_text(cert_pem)
    (root / "tls.key").write_text(key_pem)
    (root / "tls.key").chmod(0o600)
    with serving("--stack", "local", "--port", "0", "--json", "--tls-cert", "tls.crt", "--tls-key", "tls.key",
                 cwd=root) as served:
        uri, key = served.endpoint["scoringUri"], served.endpoint["primaryKey"]
        auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        seen = requests.post(uri, data=b"{}", headers=auth, verify=str(root / "tls.crt"), timeout=30)
        assert seen.status_code == 200 and seen.json() == {"url": uri, "is_secure": True}, seen.text
        refused = requests.post(uri, data=b"{}", headers={**auth, "X-Forwarded-Ssl": "off"},
                                verify=str(root / "tls.crt"), timeout=30)
        assert refused.status_code == 400 and "Contradictory scheme headers" in refused.text, refused.text
        assert refused.headers["Content-Type"] == "text/html", refused.headers
    assert served.proc.returncode == 0, served.err
