"""`environmentVariables` run for real: `mldeploy serve --stack local` of a project whose image
sets FEATURE_FLAG, LOG_LEVEL and OMP_NUM_THREADS and whose service sets LOG_LEVEL again. run()
sees the image's values under the service's, and the scorer host keeps the user's thread count
while it sizes the other math libraries' from the cores (scoring/scorer_host.py limit_math_threads)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

from mldeploy.scoring.scorer_host import MATH_THREAD_ENV, available_cpus
from tests.harness import ROOT, serving

pytestmark = pytest.mark.slow
MODEL = ROOT / "examples" / "diabetes" / "outputs" / "sklearn_regression_model.pkl"
NAMES = ("FEATURE_FLAG", "LOG_LEVEL", *MATH_THREAD_ENV)
SCORE_PY = f"""\
import os

NAMES = {NAMES!r}


def init():
    pass


def run(data):
    return {{name: os.environ.get(name) for name in NAMES}}
"""


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copy(MODEL, root / MODEL.name)
    shutil.copy(ROOT / "examples" / "diabetes" / "myenv.yml", root / "env.yml")  # the cached scoring environment
    (root / "score.py").write_text(SCORE_PY)
    (root / "stacks" / "Pulumi.local.yaml").write_text("""config:
  mldeploy:models:
    diabetes:
      path: sklearn_regression_model.pkl
      version: 1
  mldeploy:images:
    diabetes:
      entryScript: score.py
      condaFile: env.yml
      models: [diabetes]
      environmentVariables:
        FEATURE_FLAG: "on"
        LOG_LEVEL: info
        OMP_NUM_THREADS: "3"
  mldeploy:services:
    diabetes:
      target: local
      image: diabetes
      workerCount: 1
      environmentVariables:
        LOG_LEVEL: debug
""")
    return root


def test_run_sees_the_images_variables_under_the_services_and_the_users_thread_count(tmp_path):
    root = _project(tmp_path)
    share = str(max(1, int(available_cpus())))  # one worker: every core
    with serving("--stack", "local", "--port", "0", "--json", cwd=root) as served:
        endpoint = served.endpoint
        answer = requests.post(endpoint["scoringUri"], json={"data": [[1.0]]}, timeout=30,
                               headers={"Authorization": f"Bearer {endpoint['primaryKey']}"})
    assert served.proc.returncode == 0, served.err
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"FEATURE_FLAG": "on", "LOG_LEVEL": "debug", "OMP_NUM_THREADS": "3",
                             **{n: share for n in MATH_THREAD_ENV if n != "OMP_NUM_THREADS"}}, answer.json()
