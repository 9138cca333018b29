"""The prod AKS pod as synthesized (stacks/Pulumi.prod.yaml), run like the kubelet runs it:
probes from this machine to the pod IP with the rendered ports, periods and thresholds; Ready
only when every container is. Then traffic through the gateway, as the Service sends it."""
from __future__ import annotations

import http.client
import json
import ssl
import time

import joblib
import numpy as np
import pytest

from mldeploy.runtime.client import score
from tests.containers.prod import READY_WITHIN_S, ready_pod
from tests.harness import ROOT

SAMPLE = ROOT / "examples" / "diabetes" / "sample-request.json"


@pytest.fixture(scope="module")
def prod(engine, standins, prod_synth, prod_images, work_dir):
    with ready_pod(engine, prod_synth, prod_images, standins.images, work_dir, "prod") as running:
        yield running


def test_every_container_of_the_prod_pod_becomes_ready(prod):
    assert all(prod.pod.readiness().values()), f"not Ready: {prod.pod.describe()}"


def test_without_a_key_the_gateway_answers_401(prod):
    reply = score(f"{prod.base}/score", None, SAMPLE.read_bytes(), cafile=prod.cafile)
    assert reply.status == 401, f"{prod.base}/score without a key: {reply.status} {reply.text()[:200]}"


@pytest.mark.parametrize("which", [0, 1], ids=["primary", "secondary"])
def test_either_key_scores_like_the_model_over_tls(prod, trained_model, which):
    reply = score(f"{prod.base}/score", prod.spec.keys[which], SAMPLE.read_bytes(), cafile=prod.cafile)
    assert reply.status == 200, f"{prod.base}/score: {reply.status} {reply.error or reply.text()[:300]}"
    rows = json.loads(SAMPLE.read_text())["data"]
    expected = joblib.load(trained_model).predict(np.asarray(rows, dtype=float))
    assert np.allclose(json.loads(reply.body), expected), f"predictions {reply.text()} != {expected.tolist()}"


def test_a_body_over_the_limit_is_refused_413_before_it_is_sent(prod):
    limit_kb = next(int(line.split()[1].rstrip("k;")) for data in prod.spec.inputs.config_maps.values()
                    for text in data.values() for line in text.splitlines()
                    if line.strip().startswith("client_max_body_size"))
    host, port = prod.base.removeprefix("https://").split(":")
    conn = http.client.HTTPSConnection(host, int(port), timeout=30, context=ssl._create_unverified_context())
    conn.putrequest("POST", "/score")
    conn.putheader("Authorization", f"Bearer {prod.spec.keys[0]}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(limit_kb * 1024 + 1))
    conn.endheaders()
    status = conn.getresponse().status
    conn.close()
    assert status == 413, f"a declared body of {limit_kb} KiB + 1 byte got {status}"


def test_a_killed_scorer_is_restarted_and_the_pod_is_ready_again(engine, prod):
    engine.run("kill", "--signal", "KILL", prod.pod.cname("scorer"))
    deadline = time.monotonic() + 30
    while prod.pod.ready and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not prod.pod.ready, "the pod stayed Ready with its scorer killed"
    prod.pod.wait_ready(READY_WITHIN_S)
    assert prod.pod.restarts()["scorer"] >= 1, f"the scorer was not restarted: {prod.pod.describe()}"
    reply = score(f"{prod.base}/score", prod.spec.keys[0], SAMPLE.read_bytes(), cafile=prod.cafile)
    assert reply.status == 200, f"after the restart: {reply.status} {reply.text()[:200]}"
