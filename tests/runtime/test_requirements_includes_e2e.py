"""A requirementsFile that includes others (`-r ../base.txt`, `-c constraints.txt`) builds a local
scoring environment with the included files' packages: `mldeploy serve` as a user runs it, on a
copy of the project whose only requirements sit in the included files."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import requests

from tests.harness import ROOT, serving

pytestmark = pytest.mark.slow
# The example's pip requirements (examples/diabetes/myenv.yml), all in the included file.
BASE = ("azureml-inference-server-http==1.5.1\nscikit-learn==1.9.1\njoblib==1.6.0\n"
        "numpy>=2; python_version >= \"3.9\"  # a marker, kept\ninference-schema[numpy-support]==1.8\n")


@pytest.fixture()
def project(tmp_path, trained_model):
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    stack = (ROOT / "stacks" / "Pulumi.local.yaml").read_text()
    assert "condaFile: examples/diabetes/myenv.yml" in stack
    (root / "stacks" / "Pulumi.local.yaml").write_text(
        stack.replace("condaFile: examples/diabetes/myenv.yml", "requirementsFile: examples/diabetes/env/requirements.txt"))
    shutil.copytree(ROOT / "examples" / "diabetes", root / "examples" / "diabetes",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = root / "examples" / "diabetes" / "env"
    env.mkdir()
    (env / "requirements.txt").write_text("# everything comes from the included files\n-r ../base.txt\n"
                                          "--constraint constraints.txt\n")
    (root / "examples" / "diabetes" / "base.txt").write_text(BASE)
    (env / "constraints.txt").write_text("numpy==2.4.6\n")  # only a constraint pins numpy
    return root


def test_serve_installs_the_included_files_packages(project, tmp_path):
    cache = tmp_path / "envs"
    with serving("--stack", "local", "--project-dir", str(project), "--port", "0", "--json",
                 env={**os.environ, "MLDEPLOY_ENV_CACHE": str(cache)}) as served:
        endpoint = served.endpoint
        sample = json.loads((project / "examples/diabetes/sample-request.json").read_text())
        r = requests.post(endpoint["scoringUri"], json=sample,
                          headers={"Authorization": f"Bearer {endpoint['primaryKey']}"}, timeout=30)
        assert r.status_code == 200 and len(r.json()) == 2, "the model (scikit-learn from base.txt) did not score"
    [venv] = [p for p in cache.iterdir() if p.is_dir()]
    installed = subprocess.run([str(venv / "bin" / "python"), "-c",
                                "import importlib.metadata as m; print(m.version('scikit-learn'), m.version('numpy'))"],
                               capture_output=True, text=True, check=True).stdout.split()
    assert installed == ["1.9.1", "2.4.6"], f"base.txt's scikit-learn and the constraint's numpy, got {installed}"
    assert (venv / "constraints.txt").read_text() == "numpy==2.4.6\n"
