"""A v2 online endpoint's local runner (`mldeploy serve`, runtime/endpoint_local.py) passes each
image's batching to its deployments' scorers (issue 23): stacks managed and kubernetes-endpoint
with their images batched (maxBatchSize 8) through tests/containers/slow_score.py, whose run()
sleeps once per call; 8 concurrent requests pinned to deployment blue (8 admitted at once) get
their own rows' predictions and share run() calls (the scorer's `x-mldeploy-batch` header).
No timing is asserted: statuses, predictions and batch sizes."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import numpy as np
import pytest
import yaml

from mldeploy.runtime.client import score
from tests.conftest import MODEL
from tests.harness import ROOT

pytestmark = pytest.mark.slow
MLDEPLOY = [str(Path(sys.executable).parent / "mldeploy")]
REQUESTS = 8
SLEEP_S = 0.5  # slow_score.py sleeps once per run() call: the others arrive meanwhile


def _batched_endpoint_project(root: Path, stack_name: str) -> Path:
    (root / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(ROOT / "examples" / "diabetes", root / "examples" / "diabetes",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "tests" / "containers" / "slow_score.py", root / "examples" / "diabetes" / "slow_score.py")
    stack = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack_name}.yaml").read_text())
    config = stack["config"]
    for image in config["mldeploy:images"].values():  # every image of one endpoint batches alike
        image.update({"entryScript": "examples/diabetes/slow_score.py",
                      "sampleRequest": "examples/diabetes/sample-request.json",
                      "batching": {"maxBatchSize": REQUESTS, "maxLatencyMs": 50}})
    for deployment in config["mldeploy:services"]["diabetes"]["deployments"].values():
        deployment["maxConcurrentRequestsPerInstance"] = REQUESTS
    (root / "stacks" / "Pulumi.batched.yaml").write_text(yaml.safe_dump(stack))
    return root


@pytest.mark.parametrize("stack_name", ["managed", "kubernetes-endpoint"])
def test_the_endpoint_s_deployments_batch_concurrent_requests(stack_name, tmp_path, trained_model):
    project = _batched_endpoint_project(tmp_path / "project", stack_name)
    proc = subprocess.Popen([*MLDEPLOY, "serve", "--stack", "batched", "--service", "diabetes", "--port", "0",
                             "--json"], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ), text=True)
    rows = json.loads((project / "examples" / "diabetes" / "sample-request.json").read_text())["data"]
    bodies = [json.dumps({"data": [[x * (1 + i / 10) for x in rows[i % len(rows)]]], "sleepSeconds": SLEEP_S}).encode()
              for i in range(REQUESTS)]
    try:
        line = proc.stdout.readline()
        assert line, f"serve printed no endpoint: {proc.stderr.read()[-3000:] if proc.poll() is not None else ''}"
        endpoint = json.loads(line)
        pin = {"azureml-model-deployment": "blue"}
        with ThreadPoolExecutor(REQUESTS) as pool:
            for _ in range(2):  # two rounds: the first may meet a worker still warming up
                replies = list(pool.map(lambda b: score(endpoint["scoringUri"], endpoint["primaryKey"], b,
                                                        extra_headers=pin), bodies))
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
    model = joblib.load(MODEL)
    for body, reply in zip(bodies, replies):
        assert reply.status == 200, f"{reply.status} {reply.error or reply.text()[:300]}"
        expected = model.predict(np.asarray(json.loads(body)["data"], dtype=float)).tolist()
        assert np.allclose(json.loads(reply.body), expected, rtol=1e-9), \
            f"a request got other rows' answers: {reply.text()} vs {expected}"
    sizes = [int(reply.headers.get("x-mldeploy-batch") or 1) for reply in replies]
    assert max(sizes) > 1, f"concurrent requests to one deployment must share run() calls: batch sizes {sizes}"
    assert code == 0, f"serve exited {code}: {proc.stderr.read()[-1000:]}"
