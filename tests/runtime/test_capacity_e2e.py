"""Capacity end to end (AKS's replicaMaxConcurrentRequests): a request beyond the gateway's
per-scorer cap is a 503 JSON at once instead of a queue, a dead scorer stays a 502, and
blue/green upstreams keep their weights with a cap on each.

No timing: a held request stays in run() until the test creates a release file, so "the second
request was answered while the first was still running" holds by construction."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from mldeploy.plan.gateway import Upstream
from mldeploy.runtime.local import LocalServer
from mldeploy.targets.local.settings import LocalServiceSettings
from tests.runtime.conftest import _script_context
from tests.runtime.plans import plan_of
from tests.runtime.holding import HOLD_SCRIPT, WAIT_S, wait_for
from tests.runtime.stand_in_gateway import running_gateway

pytestmark = pytest.mark.slow
CAPACITY_BODY = {"error": "the service is at capacity, retry later", "status": 503}
UNREACHABLE_BODY = {"error": "the scorer is not reachable", "status": 502}


# -- the local target: LocalServer, one worker, cap 1 ---------------------------------------

@pytest.fixture(scope="module")
def capped_server(scoring_env, tmp_path_factory):
    context = _script_context(tmp_path_factory, "hold", HOLD_SCRIPT)
    service = LocalServiceSettings.model_validate({"target": "local", "image": "hold", "workerCount": 1})
    server = LocalServer(plan_of("hold", service), context, scoring_env,
                         tmp_path_factory.mktemp("hold"), port=0, max_concurrent=1)
    server.start(timeout=120)
    yield server
    server.stop()


def _post(server, body: dict) -> requests.Response:
    ep = server.endpoint()
    return requests.post(ep.scoringUri, json=body, timeout=WAIT_S, headers={"Authorization": f"Bearer {ep.primaryKey}"})


def test_beyond_the_cap_is_503_json_at_once_and_capacity_comes_back(capped_server, tmp_path):
    started, release = tmp_path / "started", tmp_path / "release"
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(_post, capped_server, {"started": str(started), "release": str(release)})
        try:
            wait_for(lambda: started.exists() or first.done(), "the first request reaching run()")
            assert not first.done(), f"the held request ended early: {first.result().text}"
            # Without the cap this request would wait behind the held one (which never ends
            # unreleased) and the client would time out instead of getting an answer.
            second = _post(capped_server, {})
            assert not first.done()
        finally:
            release.touch()
        done = first.result(timeout=WAIT_S)
    assert second.status_code == 503, f"{second.status_code} {second.text}"
    assert second.json() == CAPACITY_BODY
    assert second.headers["Content-Type"].startswith("application/json")
    assert second.headers["Retry-After"] == "1"
    assert done.status_code == 200 and done.json() == {"ok": True}, done.text
    after = _post(capped_server, {})
    assert after.status_code == 200 and after.json() == {"ok": True}, after.text


def test_a_dead_scorer_is_a_502_not_a_capacity_503(capped_server):
    capped_server.scorer.stop()
    for _ in range(3):  # every time: a failed server is never set aside as "busy"
        r = _post(capped_server, {})
        assert r.status_code == 502 and r.json() == UNREACHABLE_BODY, f"{r.status_code} {r.text}"
    capped_server.check()  # restarts it
    wait_for(lambda: _post(capped_server, {}).status_code == 200, "the restarted scorer answering")


def test_local_services_have_no_cap_unless_asked_and_aks_services_keep_theirs(tmp_path):
    from mldeploy.targets.aks.settings import AksServiceSettings

    local = LocalServiceSettings.model_validate({"target": "local", "image": "x"})
    aks = AksServiceSettings.model_validate({"target": "aks", "cluster": "c", "image": "x",
                                             "replicaMaxConcurrentRequests": 3})
    # Constructing starts nothing: context and env are only used by start().
    assert LocalServer(plan_of("a", local), None, None, tmp_path, port=0).max_concurrent is None
    assert LocalServer(plan_of("a", local), None, None, tmp_path, port=0, max_concurrent=2).max_concurrent == 2
    assert LocalServer(plan_of("a", aks), None, None, tmp_path, port=0).max_concurrent == 3


# -- blue/green: two weighted upstream servers, a cap of 1 on each --------------------------

class _Backend:
    """A scorer stand-in on loopback: answers its name; a `hold` body waits for `release`."""

    def __init__(self, name: str):
        self.name, self.started, self.release = name, threading.Semaphore(0), threading.Event()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if body == b"hold":
                    backend.started.release()
                    backend.release.wait(WAIT_S)
                reply = backend.name.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def blue_green(tmp_path):
    blue, green = _Backend("blue"), _Backend("green")
    try:
        with running_gateway(tmp_path, [Upstream("127.0.0.1", blue.port, 90), Upstream("127.0.0.1", green.port, 10)],
                             max_conns=1) as port:
            yield f"http://127.0.0.1:{port}/score", blue, green
    finally:
        blue.close()
        green.close()


def test_weights_hold_below_the_cap(blue_green):
    uri, _, _ = blue_green
    answers = [requests.post(uri, data=b"{}", timeout=WAIT_S).text for _ in range(20)]
    # nginx's smooth weighted round robin with one worker: exactly 18 of 20 to the 90 % server.
    assert (answers.count("blue"), answers.count("green")) == (18, 2), answers


def test_every_server_at_its_cap_is_503_and_a_dead_one_stays_502(blue_green):
    uri, blue, green = blue_green
    with ThreadPoolExecutor(3) as pool:
        held = [pool.submit(requests.post, uri, data=b"hold", timeout=WAIT_S)]
        wait_for(lambda: blue.started.acquire(timeout=0) or green.started.acquire(timeout=0), "a first held request")
        held.append(pool.submit(requests.post, uri, data=b"hold", timeout=WAIT_S))
        # The first went by weight, the second over the cap to the other server: both are busy.
        wait_for(lambda: blue.started.acquire(timeout=0) or green.started.acquire(timeout=0), "a second held request")
        try:
            full = requests.post(uri, data=b"{}", timeout=WAIT_S)
        finally:
            blue.release.set()
            green.release.set()
        assert sorted(f.result(timeout=WAIT_S).text for f in held) == ["blue", "green"]
    assert full.status_code == 503 and full.json() == CAPACITY_BODY, f"{full.status_code} {full.text}"
    assert full.headers["Retry-After"] == "1"

    # Green dies while blue is at its cap: green's failures are failures (502), every time -
    # with nginx's default max_fails a set-aside green would look like "at capacity".
    blue.release.clear()
    green.close()
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(requests.post, uri, data=b"hold", timeout=WAIT_S)
        wait_for(lambda: blue.started.acquire(timeout=0), "blue holding a request")
        try:
            refused = [requests.post(uri, data=b"{}", timeout=WAIT_S) for _ in range(3)]
        finally:
            blue.release.set()
        assert busy.result(timeout=WAIT_S).text == "blue"
    assert [r.status_code for r in refused] == [502, 502, 502], [r.text for r in refused]
    assert refused[-1].json() == UNREACHABLE_BODY
