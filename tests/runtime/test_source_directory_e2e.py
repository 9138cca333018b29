"""A v1 project with a source_directory (examples/diabetes-src): score.py imports a module and a
package from the folder beside it. `mldeploy serve` ships the folder (images.<name>.sourceDirectory)
and scores with them; without the key the scorer stopped with ModuleNotFoundError."""
from __future__ import annotations

import shutil
from pathlib import Path

import joblib
import numpy as np
import pytest
import requests

from tests.harness import ROOT, serving

pytestmark = pytest.mark.slow
EXAMPLE = ROOT / "examples" / "diabetes-src"
MODEL = ROOT / "examples" / "diabetes" / "outputs" / "sklearn_regression_model.pkl"


def _project(tmp_path: Path, scoring_server: str) -> Path:
    root = tmp_path / "v1-project"
    (root / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(EXAMPLE / "src", root / "src")
    (root / "src" / "notebooks").mkdir()
    (root / "src" / "notebooks" / "explore.ipynb").write_text("{}")  # left out by src/.amlignore
    shutil.copy(MODEL, root / MODEL.name)
    # The diabetes example's environment byte for byte: the cached scoring environment.
    shutil.copy(ROOT / "examples" / "diabetes" / "myenv.yml", root / "env.yml")
    shutil.copy(ROOT / "examples" / "diabetes" / "sample-request.json", root / "sample.json")
    (root / "stacks" / "Pulumi.local.yaml").write_text(f"""config:
  mldeploy:models:
    diabetes:
      path: sklearn_regression_model.pkl
      version: 1
  mldeploy:images:
    diabetes:
      sourceDirectory: src
      entryScript: score.py
      condaFile: env.yml
      models: [diabetes]
      sampleRequest: sample.json
      scoringServer: {scoring_server}
  mldeploy:services:
    diabetes:
      target: local
      image: diabetes
""")
    return root


@pytest.mark.parametrize("scoring_server", ["mldeploy", "azmlinfsrv"])
def test_the_modules_beside_score_py_are_served_with_it(tmp_path, scoring_server):
    root = _project(tmp_path, scoring_server)
    rows = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]
    expected = joblib.load(MODEL).predict(np.asarray(rows, dtype=float)).tolist()
    with serving("--stack", "local", "--port", "0", "--json", cwd=root) as served:
        endpoint = served.endpoint
        auth = {"Authorization": f"Bearer {endpoint['primaryKey']}"}
        answer = requests.post(endpoint["scoringUri"], json={"data": rows}, headers=auth, timeout=30)
        assert answer.status_code == 200, answer.text
        assert [r["progression"] for r in answer.json()] == pytest.approx(expected), answer.text
        assert [r["band"] for r in answer.json()] == ["high" if v >= 200 else "low" for v in expected], answer.text
        bad = requests.post(endpoint["scoringUri"], json={"data": [[1, 2]]}, headers=auth, timeout=30)
        assert bad.status_code == 400 and "rows of 10 finite numbers" in bad.text, bad.text
    assert served.proc.returncode == 0, served.err
    assert "imports 'bands'" not in served.err, f"a shipped module is not warned of: {served.err}"
    [app] = [p.parent for p in root.rglob("context/app/score.py")]  # the written context the scorer ran
    shipped = sorted(p.relative_to(app).as_posix() for p in app.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert shipped == [".amlignore", "bands.py", "features/__init__.py", "features/rows.py", "score.py"], shipped
