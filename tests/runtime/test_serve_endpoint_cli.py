"""`mldeploy serve --stack managed` and `mldeploy test --local --deployment NAME` as a user runs
them: every deployment served, the smoke test passed, pinning through the test command, and
SIGTERM leaving no process behind."""
from __future__ import annotations

import json
import subprocess

import pytest

from tests.harness import MLDEPLOY, alive, copy_project, descendants, serving

pytestmark = pytest.mark.slow


@pytest.fixture()
def project(tmp_path, trained_model):
    return copy_project(tmp_path, "managed")


def _test(project, *args):
    return subprocess.run([*MLDEPLOY, "test", "--stack", "managed", "--service", "diabetes", "--local",
                           "--project-dir", str(project), *args], capture_output=True, text=True)


def test_serve_managed_runs_every_deployment_and_test_pins_one(project):
    with serving("--stack", "managed", "--project-dir", str(project), "--json") as served:
        endpoint = served.endpoint
        assert endpoint["scoringUri"].startswith("http://127.0.0.1:")
        predictions = {}
        for deployment in ("blue", "green", "shadow"):
            pinned = _test(project, "--deployment", deployment)
            assert pinned.returncode == 0, pinned.stderr
            assert f"served by deployment {deployment}" in pinned.stderr, pinned.stderr
            predictions[deployment] = json.loads(pinned.stdout)
            assert len(predictions[deployment]) == 2, pinned.stdout
        # blue serves diabetes:1, green and shadow diabetes:2 (another Ridge alpha): each scorer
        # reads its own model version from AZUREML_MODEL_DIR.
        assert predictions["green"] == predictions["shadow"] != predictions["blue"], predictions
        unknown = _test(project, "--deployment", "purple")
        assert unknown.returncode == 2 and "blue, green, shadow" in unknown.stderr, unknown.stderr
        children = descendants(served.proc.pid)
        assert len(children) >= 4, f"expected three scorers and a gateway, found {children}"
    assert served.proc.returncode == 0, served.err
    assert "blue 90 %, green 10 %, shadow 0 % (mirror 10 %)" in served.err, served.err
    left = [p for p in children if alive(p)]
    assert left == [], f"processes left after SIGTERM: {left}"
