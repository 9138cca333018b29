"""A v2 online endpoint's local runner (`mldeploy serve`, runtime/endpoint_local.py) passes each
image's batching to its deployments' scorers (issue 23): stacks managed and kubernetes-endpoint
with their images batched (maxBatchSize 8) through tests/containers/slow_score.py, whose run()
sleeps once per call; 8 concurrent requests pinned to deployment blue (8 admitted at once) get
their own rows' predictions and share run() calls (the scorer's `x-mldeploy-batch` header).
No timing is asserted: statuses, predictions and batch sizes."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from mldeploy.runtime.client import score
from tests.harness import serving
from tests.containers.test_serve_containers_batching import (REQUESTS, assert_batched_answers, batched_bodies,
                                                              slow_scored_project)

pytestmark = pytest.mark.slow


def _batched_endpoint_project(root: Path, stack_name: str) -> Path:
    stack = slow_scored_project(root, stack_name)
    config = stack["config"]
    for image in config["mldeploy:images"].values():  # every image of one endpoint batches alike
        image.pop("sourceDirectory", None)  # kubernetes-endpoint's: slow_score.py is the entry script alone
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
    bodies = batched_bodies(project)
    with serving("--stack", "batched", "--service", "diabetes", "--port", "0", "--json", cwd=project,
                 stop_timeout=120) as served:
        endpoint = served.endpoint
        pin = {"azureml-model-deployment": "blue"}
        with ThreadPoolExecutor(REQUESTS) as pool:
            for _ in range(2):  # two rounds: the first may meet a worker still warming up
                replies = list(pool.map(lambda b: score(endpoint["scoringUri"], endpoint["primaryKey"], b,
                                                        extra_headers=pin), bodies))
    assert_batched_answers(bodies, replies, served.proc.returncode, served.err)
