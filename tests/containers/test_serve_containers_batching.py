"""`mldeploy serve --containers` of a batched image (issue 23) on each target whose containers it
runs as synthesized: an AKS service whose image batches (maxBatchSize 8), its pod built and run -
the scorer with the workers the plan derives for a batch each (replicaMaxConcurrentRequests 8 /
maxBatchSize 8 = 1 worker) and the gateway admitting the 8 requests at once; the dev stack's ACI
container group; the container app's revision. Concurrent requests through the published
gateway get their own rows' predictions, and the scorer shows that they shared run() calls: the
`x-mldeploy-batch` header of the answers (and, in the AKS pod, its WORKER_COUNT). An online
endpoint's deployments run as containers too, but locally their scorers are started from each
image's serve plan (tests/runtime/test_batching_*)."""
from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import yaml

from mldeploy.runtime.client import score
from mldeploy.runtime.processes import free_port
from mldeploy.runtime.synthesized_pod import mirrored_upstream
from tests.containers.synthesized import standin_for
from tests.harness import ROOT, copy_project, serving

REQUESTS = 8  # = maxBatchSize = replicaMaxConcurrentRequests: one batch's worth at once
SLEEP_S = 0.5  # slow_score.py sleeps once per run() call: the others arrive meanwhile


def slow_scored_project(root, stack_name: str) -> dict:
    """A copy of the project in `root` (Pulumi.yaml, examples/diabetes with slow_score.py beside
    its score.py); returns stack `stack_name`'s file, read, for the caller to edit and write."""
    copy_project(root)
    shutil.copy(ROOT / "tests" / "containers" / "slow_score.py", root / "examples" / "diabetes" / "slow_score.py")
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack_name}.yaml").read_text())


def batched_project(tmp_path, stack_name: str = "prod-attach", service_name: str = "diabetes", edit=None):
    """Stack `stack_name` made a batched rehearsal: not production, its image `diabetes` the
    diabetes model through slow_score.py, batching 8 rows; `edit(config, service)` makes the rest
    of the stack fit (the AKS default: no TLS or canary, 8 requests at once per replica)."""
    stack = slow_scored_project(tmp_path, stack_name)
    config = stack["config"]
    config["mldeploy:production"] = False
    config["mldeploy:images"] = {"diabetes": config["mldeploy:images"]["diabetes"]}
    config["mldeploy:images"]["diabetes"].update({
        "entryScript": "examples/diabetes/slow_score.py", "sampleRequest": "examples/diabetes/sample-request.json",
        "batching": {"maxBatchSize": REQUESTS, "maxLatencyMs": 50}})
    service = config["mldeploy:services"][service_name]
    service.update({"image": "diabetes", "appInsightsEnabled": False})
    (edit or _aks_replica)(config, service)
    (tmp_path / "stacks" / "Pulumi.batched.yaml").write_text(yaml.safe_dump(stack))
    return tmp_path


def _aks_replica(config, service):
    for key in ("tls", "canary"):
        del service[key]
    service.update({"replicaMaxConcurrentRequests": REQUESTS, "memoryGb": 2})


def serve_batched(project, service_name: str, upstream: str, standins):
    """`serve --containers` of stack batched's `service_name`; REQUESTS concurrent one-row requests
    through its published gateway, twice (the first round may meet a worker still warming up).
    Returns (bodies, replies of the second round, serve's exit code after SIGTERM, its stderr)."""
    port = free_port()
    bodies = batched_bodies(project)
    with serving("--stack", "batched", "--service", service_name, "--containers", "--json", "--port", str(port),
                 "--image", f"{upstream}={standin_for(upstream, standins.images)}", cwd=project,
                 stop_timeout=180) as served:
        endpoint = served.endpoint
        with ThreadPoolExecutor(REQUESTS) as pool:
            for _ in range(2):
                replies = list(pool.map(lambda b: score(endpoint["scoringUri"], endpoint["primaryKey"], b), bodies))
    return bodies, replies, served.proc.returncode, served.err


def batched_bodies(project) -> list[bytes]:
    """REQUESTS one-row requests, each its own row (the sample's rows scaled), slow_score.py
    sleeping SLEEP_S once per run() call."""
    rows = json.loads((project / "examples" / "diabetes" / "sample-request.json").read_text())["data"]
    return [json.dumps({"data": [[x * (1 + i / 10) for x in rows[i % len(rows)]]], "sleepSeconds": SLEEP_S}).encode()
            for i in range(REQUESTS)]


def assert_batched_answers(bodies, replies, code, stderr) -> list[int]:
    """Every request got its own rows' predictions, some shared a run() call; serve exited 0."""
    import joblib
    import numpy as np

    from tests.conftest import MODEL

    model = joblib.load(MODEL)
    for body, reply in zip(bodies, replies):
        assert reply.status == 200, f"{reply.status} {reply.error or reply.text()[:300]}"
        expected = model.predict(np.asarray(json.loads(body)["data"], dtype=float)).tolist()
        assert np.allclose(json.loads(reply.body), expected, rtol=1e-9), \
            f"a request got other rows' answers: {reply.text()} vs {expected}"
    sizes = [int(reply.headers.get("x-mldeploy-batch") or 1) for reply in replies]
    assert max(sizes) > 1, f"concurrent requests must share run() calls through the gateway: batch sizes {sizes}"
    assert code == 0, f"serve exited {code}: {stderr[-1000:]}"
    return sizes


def test_serve_containers_batches_concurrent_requests_through_the_gateway(engine, standins, canary_synth,
                                                                          tmp_path, trained_model):
    project = batched_project(tmp_path / "project")
    upstream = mirrored_upstream(canary_synth, "nginx")  # prod-attach's gateway mirror, as this stack's
    bodies, replies, code, stderr = serve_batched(project, "diabetes", upstream, standins)
    # The pod as serve --containers ran it (its synth output): one scorer worker takes the 8.
    manifest = project / ".mldeploy" / "containers" / "batched" / "diabetes" / "synth" / "k8s" / "diabetes" / "deployment-diabetes.yaml"
    scorer = next(c for c in yaml.safe_load(manifest.read_text())["spec"]["template"]["spec"]["containers"]
                  if c["name"] == "scorer")
    env = {e["name"]: e.get("value") for e in scorer["env"]}
    assert env["WORKER_COUNT"] == "1", f"8 requests at once in batches of 8 (the image's Dockerfile sets the batching): {env}"
    assert_batched_answers(bodies, replies, code, stderr)


def test_serve_containers_batches_in_the_dev_aci_group(engine, standins, dev_synth, tmp_path, trained_model):
    """The dev stack's ACI container group (gateway + scorer), its image batched."""
    project = batched_project(tmp_path / "project", "dev", "diabetes-aci", lambda config, service: None)
    bodies, replies, code, stderr = serve_batched(project, "diabetes-aci", mirrored_upstream(dev_synth, "nginx"),
                                                  standins)
    assert_batched_answers(bodies, replies, code, stderr)


def test_serve_containers_batches_in_the_container_app_s_revision(engine, standins, dev_synth, tmp_path,
                                                                  trained_model):
    """Stack containerapp's app (its template revision as one pod: gateway + scorer), its image
    batched; one revision (the revisions' split is `serve` without --containers)."""
    def one_revision(config, service):
        del service["revisions"]
        config["mldeploy:models"] = {"diabetes": config["mldeploy:models"]["diabetes"]}

    project = batched_project(tmp_path / "project", "containerapp", "diabetes-aca", one_revision)
    bodies, replies, code, stderr = serve_batched(project, "diabetes-aca", mirrored_upstream(dev_synth, "nginx"),
                                                  standins)
    assert_batched_answers(bodies, replies, code, stderr)
