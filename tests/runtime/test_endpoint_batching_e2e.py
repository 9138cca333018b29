"""A v2 online endpoint's local runner (`mldeploy serve`, runtime/endpoint_local.py) passes each
image's batching to its deployments' scorers (issue 23): stacks managed and kubernetes-endpoint
with their images batched (maxBatchSize 8) through tests/containers/slow_score.py, whose run()
sleeps once per call; 8 concurrent requests pinned to deployment blue (8 admitted at once) get
their own rows' predictions and share run() calls (the scorer's `x-mldeploy-batch` header).
No timing is asserted: statuses, predictions and batch sizes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from mldeploy.runtime.client import score
from tests.containers.test_serve_containers_batching import (REQUESTS, assert_batched_answers, batched_bodies,
                                                              slow_scored_project)

pytestmark = pytest.mark.slow
MLDEPLOY = [str(Path(sys.executable).parent / "mldeploy")]


def _batched_endpoint_project(root: Path, stack_name: str) -> Path:
    stack = slow_scored_project(root, stack_name)
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
    bodies = batched_bodies(project)
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
    assert_batched_answers(bodies, replies, code, proc.stderr.read())
