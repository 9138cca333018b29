"""`mldeploy serve --containers` of a batched image (issue 23): an AKS service whose image batches
(maxBatchSize 8), its pod built and run as synthesized - the scorer with the workers the plan
derives for a batch each (replicaMaxConcurrentRequests 8 / maxBatchSize 8 = 1 worker) and the
gateway admitting the 8 requests at once. Concurrent requests through the published gateway get
their own rows' predictions, and the scorer shows that they shared run() calls: the
`x-mldeploy-batch` header of the answers and its WORKER_COUNT in the pod."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor

import yaml

from mldeploy.runtime.client import score
from mldeploy.runtime.processes import free_port
from mldeploy.runtime.synthesized_pod import mirrored_upstream
from tests.containers.synthesized import standin_for
from tests.containers.test_serve_containers import MLDEPLOY
from tests.harness import ROOT

REQUESTS = 8  # = maxBatchSize = replicaMaxConcurrentRequests: one batch's worth at once
SLEEP_S = 0.5  # slow_score.py sleeps once per run() call: the others arrive meanwhile


def batched_project(tmp_path):
    """Stack prod-attach made a batched rehearsal: not production, no TLS or canary, its image
    the diabetes model through slow_score.py, batching 8 rows, 8 requests at once per replica."""
    (tmp_path / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "examples" / "diabetes", tmp_path / "examples" / "diabetes",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "tests" / "containers" / "slow_score.py", tmp_path / "examples" / "diabetes" / "slow_score.py")
    stack = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod-attach.yaml").read_text())
    config = stack["config"]
    config["mldeploy:production"] = False
    del config["mldeploy:images"]["diabetes-v2"]
    config["mldeploy:images"]["diabetes"].update({
        "entryScript": "examples/diabetes/slow_score.py", "sampleRequest": "examples/diabetes/sample-request.json",
        "batching": {"maxBatchSize": REQUESTS, "maxLatencyMs": 50}})
    service = config["mldeploy:services"]["diabetes"]
    for key in ("tls", "canary"):
        del service[key]
    service.update({"replicaMaxConcurrentRequests": REQUESTS, "appInsightsEnabled": False, "memoryGb": 2})
    (tmp_path / "stacks" / "Pulumi.batched.yaml").write_text(yaml.safe_dump(stack))
    return tmp_path


def test_serve_containers_batches_concurrent_requests_through_the_gateway(engine, standins, canary_synth,
                                                                          tmp_path, trained_model):
    import joblib
    import numpy as np

    from tests.conftest import MODEL

    project = batched_project(tmp_path / "project")
    upstream = mirrored_upstream(canary_synth, "nginx")  # prod-attach's gateway mirror, as this stack's
    port = free_port()
    proc = subprocess.Popen(
        [*MLDEPLOY, "serve", "--stack", "batched", "--service", "diabetes", "--containers", "--json",
         "--port", str(port), "--image", f"{upstream}={standin_for(upstream, standins.images)}"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ), text=True)
    rows = np.asarray(json.loads((project / "examples" / "diabetes" / "sample-request.json").read_text())["data"],
                      dtype=float)
    bodies = [json.dumps({"data": [(rows[i % len(rows)] * (1 + i / 10)).tolist()], "sleepSeconds": SLEEP_S}).encode()
              for i in range(REQUESTS)]
    try:
        line = proc.stdout.readline()
        assert line, f"serve --containers printed no endpoint: {proc.stderr.read()[-3000:] if proc.poll() is not None else ''}"
        endpoint = json.loads(line)
        with ThreadPoolExecutor(REQUESTS) as pool:
            for _ in range(2):  # two rounds: the first may meet a worker still warming up
                replies = list(pool.map(lambda b: score(endpoint["scoringUri"], endpoint["primaryKey"], b), bodies))
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=180)
    # The pod as serve --containers ran it (its synth output): one scorer worker takes the 8.
    manifest = project / ".mldeploy" / "containers" / "batched" / "diabetes" / "synth" / "k8s" / "diabetes" / "deployment-diabetes.yaml"
    scorer = next(c for c in yaml.safe_load(manifest.read_text())["spec"]["template"]["spec"]["containers"]
                  if c["name"] == "scorer")
    env = {e["name"]: e.get("value") for e in scorer["env"]}
    assert env["WORKER_COUNT"] == "1", f"8 requests at once in batches of 8 (the image's Dockerfile sets the batching): {env}"
    model = joblib.load(MODEL)
    for body, reply in zip(bodies, replies):
        assert reply.status == 200, f"{reply.status} {reply.error or reply.text()[:300]}"
        expected = model.predict(np.asarray(json.loads(body)["data"], dtype=float)).tolist()
        assert np.allclose(json.loads(reply.body), expected, rtol=1e-9), \
            f"a request got other rows' answers: {reply.text()} vs {expected}"
    sizes = [int(reply.headers.get("x-mldeploy-batch") or 1) for reply in replies]
    assert max(sizes) > 1, f"concurrent requests must share run() calls through the gateway: batch sizes {sizes}"
    assert code == 0, f"serve --containers exited {code}: {proc.stderr.read()[-1000:]}"
