"""Scoring timeout end to end: a run() slower than `scoringTimeoutMs` gets the gateway's 504
(JSON), and the scorer's own, slightly longer limit frees its only worker for the next request."""
from __future__ import annotations

import time

import pytest
import requests

from mldeploy.targets.local.settings import LocalServiceSettings
from tests.runtime.conftest import _script_context, _serve

pytestmark = pytest.mark.slow
TIMEOUT_MS = 1000
# Far longer than the gateway's limit (1 s) and the scorer's (2 s, see plan/timeouts.py):
# only those limits, not the sleep ending, can free the worker within FREED_WITHIN_S.
SLEEP_S = 30
FREED_WITHIN_S = 15
SLOW_SCRIPT = """\
import json
import time


def init():
    pass


def run(raw_data):
    data = json.loads(raw_data)
    time.sleep(data["sleep"])
    return {"slept": data["sleep"]}
"""


@pytest.fixture(scope="module")
def slow_server(scoring_env, tmp_path_factory):
    """One scorer worker behind the gateway, scoringTimeoutMs 1000, no model."""
    context = _script_context(tmp_path_factory, "slow", SLOW_SCRIPT)
    service = LocalServiceSettings.model_validate({
        "target": "local", "image": "slow", "workerCount": 1, "scoringTimeoutMs": TIMEOUT_MS})
    server = _serve("slow", service, context, scoring_env, tmp_path_factory)
    yield server
    server.stop()


def _post(server, seconds: float, timeout: float = 20.0) -> requests.Response:
    ep = server.endpoint()
    return requests.post(ep.scoringUri, json={"sleep": seconds}, timeout=timeout,
                         headers={"Authorization": f"Bearer {ep.primaryKey}"})


def test_fast_request_scores(slow_server):
    r = _post(slow_server, 0)
    assert r.status_code == 200 and r.json() == {"slept": 0}, r.text


def test_slow_request_is_a_gateway_504_with_json_then_the_worker_is_free_again(slow_server):
    # The client's read timeout (20 s) is below the sleep (30 s): an answer at all means
    # something cut the request short; the body says it was the gateway.
    r = _post(slow_server, SLEEP_S)
    assert r.status_code == 504, f"a {SLEEP_S}s run() under scoringTimeoutMs {TIMEOUT_MS} got {r.status_code} {r.text}"
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"error": f"no answer within {TIMEOUT_MS} ms", "status": 504}

    # The only worker is still inside run() until the scorer's own timeout interrupts it;
    # requests queued behind it may get 504 too, never anything else.
    deadline = time.monotonic() + FREED_WITHIN_S
    while True:
        r = _post(slow_server, 0)
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        assert r.status_code == 504, f"while the worker is busy: {r.status_code} {r.text}"
        time.sleep(0.2)
    assert r.status_code == 200 and r.json() == {"slept": 0}, (
        f"the worker was not freed within {FREED_WITHIN_S}s of a timeout: {r.status_code} {r.text}")
