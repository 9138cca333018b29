"""`mldeploy serve` of an FPGA service with a canary: rehearsed as the AKS canary is (the fpga row's
local runner) - the stable image's scorer serves diabetes:1, the canary's diabetes:2, one ingress
splits by canary.trafficPercent. Before, the FPGA row served the stable image alone."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess

import pytest
import yaml

from tests.harness import ROOT
from tests.runtime.test_serve_canary_cli import DEEP, REQUESTS, _score
from tests.runtime.test_serve_cli import MLDEPLOY, _alive, _descendants

pytestmark = pytest.mark.slow


def fpga_canary_project(tmp_path):
    """Stack fpga with a canary on diabetes:2 at 50 % (two versions of one registered model)."""
    (tmp_path / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "examples" / "diabetes", tmp_path / "examples" / "diabetes",
                    ignore=shutil.ignore_patterns("__pycache__"))
    stack = yaml.safe_load((ROOT / "stacks" / "Pulumi.fpga.yaml").read_text())
    config = stack["config"]
    config["mldeploy:models"]["diabetes-v2"] = {
        "registeredName": "diabetes", "version": 2,
        "path": "examples/diabetes/outputs/v2/sklearn_regression_model.pkl"}
    config["mldeploy:images"]["diabetes-v2"] = {**config["mldeploy:images"]["diabetes"], "models": ["diabetes-v2"]}
    config["mldeploy:services"]["diabetes-fpga"]["canary"] = {"image": "diabetes-v2", "trafficPercent": 50}
    (tmp_path / "stacks" / "Pulumi.fpga-canary.yaml").write_text(yaml.safe_dump(stack))
    return tmp_path


def test_serve_fpga_canary_splits_between_two_model_versions(tmp_path, trained_model):
    project = fpga_canary_project(tmp_path / DEEP)  # as deep as a CI clone (DEEP)
    proc = subprocess.Popen([*MLDEPLOY, "serve", "--stack", "fpga-canary", "--service", "diabetes-fpga",
                             "--project-dir", str(project), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children = []
    try:
        line = proc.stdout.readline()
        assert line, f"serve printed nothing: {proc.stderr.read() if proc.poll() is not None else ''}"
        endpoint = json.loads(line)
        body = (project / "examples" / "diabetes" / "sample-request.json").read_bytes()
        answers = [json.dumps(_score(endpoint, body)) for _ in range(REQUESTS)]
        counts = {a: answers.count(a) for a in set(answers)}
        assert len(counts) == 2, f"both model versions answer: {counts}"
        assert all(REQUESTS * 0.4 <= n <= REQUESTS * 0.6 for n in counts.values()), counts
        children = _descendants(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stable diabetes 50 %, canary diabetes-v2 50 %" in err, err
    left = [p for p in children if _alive(p)]
    assert left == [], f"processes left after SIGTERM: {left}"
