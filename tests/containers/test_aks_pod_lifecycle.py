"""The prod pod with a scoring script that can be told to take its time (slow_score.py; the
stack otherwise unchanged): the scoring timeout answered 504 by the gateway, and SIGTERM
draining the requests in flight with none failed and each one's model-data record in the sink."""
from __future__ import annotations

import json
import threading
import time

import pytest

from mldeploy.runtime.client import score
from tests.containers.prod import ready_pod
from tests.harness import ROWS



@pytest.fixture
def slow(engine, standins, slow_synth, slow_images, work_dir):
    with ready_pod(engine, slow_synth, slow_images, standins.images, work_dir, "slow") as running:
        yield running


def body(sleep_s: float, ident: str) -> bytes:
    return json.dumps({"data": ROWS, "sleepSeconds": sleep_s, "id": ident}).encode()


def test_a_request_longer_than_the_scoring_timeout_gets_the_gateways_504(slow):
    gateway_ms = int(next(line.split()[1].rstrip("ms;") for data in slow.spec.inputs.config_maps.values()
                          for text in data.values() for line in text.splitlines()
                          if line.strip().startswith("proxy_read_timeout")))
    reply = score(f"{slow.base}/score", slow.spec.keys[0], body(gateway_ms / 1000 + 2, "late"), cafile=slow.cafile)
    assert reply.status == 504, f"a {gateway_ms / 1000 + 2} s request: {reply.status} {reply.text()[:200]}"
    assert json.loads(reply.body)["status"] == 504, f"the 504 must be the gateway's JSON: {reply.text()[:200]}"


def test_sigterm_drains_requests_in_flight_none_failed_and_their_records_reach_the_sink(slow):
    """Requests reach the pod until SIGTERM (after the rendered preStop pause, as from clients
    whose connections kube-proxy had already routed) and take seconds longer: all answered 200,
    and the collector (a sidecar, stopped last) writes every one's record."""
    pod = slow.pod
    # The gateway's pause: its stop (SIGQUIT: drain) comes first; the scorer's pause outlasts it.
    prestop_s = float(slow.container("gateway")["lifecycle"]["preStop"]["exec"]["command"][-1])
    workers = int(slow.env("scorer", "WORKER_COUNT"))
    results: dict[str, int | None] = {}

    def client(ident: str, delay: float, sleep_s: float) -> None:
        time.sleep(delay)
        results[ident] = score(f"{slow.base}/score", slow.spec.keys[0], body(sleep_s, ident), cafile=slow.cafile,
                               timeout=60).status

    # At most `workers` at once (the gateway's cap); each still running when SIGTERM arrives.
    plan = [(f"r{i}", max(0.0, prestop_s - 1.0), 3.0) for i in range(workers)]
    threads = [threading.Thread(target=client, args=p) for p in plan]
    for t in threads:
        t.start()
    stopped = pod.terminate()
    for t in threads:
        t.join()
    failed = {k: v for k, v in results.items() if v != 200}
    assert not failed and len(results) == len(plan), f"failed during SIGTERM: {failed}; stopped: {stopped}"
    assert stopped["model-data"]["after"] >= stopped["scorer"]["after"], f"collector stopped first: {stopped}"
    records = [json.loads(line) for f in slow.blob.rglob("*.jsonl") for line in f.read_text().splitlines()]
    collected = {r["data"]["id"] for r in records}
    assert collected >= set(results), f"records missing for {sorted(set(results) - collected)} ({len(records)} in the sink)"
