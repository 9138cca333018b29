"""The gateway keeps its connections to a scorer only briefly when idle, on real nginx
(render/gateway.py KEEPALIVE_IDLE_MS): behind the gateway a scorer worker keeps its one
connection after a response while nobody waits (scoring/scorer_host.py), so an idle kept
connection holds a worker - another client of that scorer (a canary's peer gateway, a second
nginx worker) would wait behind it until nginx let it go (nginx's default: 60 s). A stand-in
scorer (HTTP/1.1, keeps connections) records when the gateway closes them. No timing is
asserted beyond "closed while the test waits" (10 s; the limit is 10 ms)."""
from __future__ import annotations

import http.server
import shutil
import threading
import time

import pytest
import requests

from tests.runtime.stand_in_gateway import running_gateway

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed")


def _keeping_scorer(events: list[str]) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keeps the connection after each answer

        def setup(self):
            super().setup()
            events.append("open")

        def finish(self):
            super().finish()
            events.append("closed")

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            events.append("request")
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_gateway_reuses_a_scorer_connection_and_closes_it_soon_when_idle(tmp_path):
    events: list[str] = []
    scorer = _keeping_scorer(events)
    try:
        with running_gateway(tmp_path, [scorer.server_port]) as port:
            with requests.Session() as client:  # one client connection: its requests follow each other
                answers = [client.post(f"http://127.0.0.1:{port}/score", json={"data": 1}, timeout=30).status_code
                           for _ in range(20)]
            deadline = time.monotonic() + 10
            while events.count("closed") < events.count("open") and time.monotonic() < deadline:
                time.sleep(0.05)
            seen = list(events)  # before nginx stops (which closes what it kept)
    finally:
        scorer.shutdown()
    assert answers == [200] * 20, answers
    assert seen.count("request") == 20, seen
    # Requests back to back share connections (mostly one; a slow moment on a busy machine may
    # let one idle past the limit), and every connection is closed once idle.
    assert seen.count("open") < 20, f"a connection per request: {seen.count('open')} for 20"
    assert seen.count("closed") == seen.count("open"), f"an idle connection was kept open: {seen}"


SLOW_SCRIPT = """import os, time

def init():
    pass

def run(raw_data):  # undecorated: the body as text
    if "slow" in raw_data:
        time.sleep(8)
    return {"pid": os.getpid()}
"""


@pytest.mark.slow
def test_through_the_gateway_no_request_waits_behind_a_busy_worker_with_kept_connections(tmp_path):
    """Real nginx + granian (local target, 2 workers): after requests at once have left nginx
    with a kept connection to each worker, a slow request keeps one worker busy; the quick
    requests sent meanwhile are all answered by the other worker before the slow one ends -
    none waits behind it on a kept connection. Proved by order (the slow request is still
    running when they are done), not by a duration."""
    import concurrent.futures

    from mldeploy.targets.local.settings import LocalServiceSettings
    from mldeploy.config.stack import ImageSettings
    from mldeploy.plan.serve import plan_serve
    from mldeploy.render.build_context import render_build_context
    from mldeploy.runtime.env import ensure_env
    from mldeploy.runtime.local import LocalServer
    from tests.runtime.conftest import DIABETES

    (tmp_path / "slow").mkdir()
    (tmp_path / "slow" / "score.py").write_text(SLOW_SCRIPT)
    (tmp_path / "env.yml").write_text((DIABETES / "myenv.yml").read_text())
    image = ImageSettings.model_validate({"entryScript": "slow/score.py", "condaFile": "env.yml", "models": ["none"]},
                                         context={"root": tmp_path})
    context = render_build_context("slow", image, [], tmp_path)
    env = ensure_env("conda", (tmp_path / "env.yml").read_text(), progress=lambda m: None, scoring_server="mldeploy")
    service = LocalServiceSettings.model_validate({"target": "local", "image": "slow", "workerCount": 2, "cpuCores": 2})
    server = LocalServer(plan_serve("slow", service, production=False), context, env, tmp_path / "run", port=0)
    endpoint = server.start(timeout=180)
    headers = {"Authorization": f"Bearer {endpoint.primaryKey}"}

    def score(data):
        return requests.post(endpoint.scoringUri, json={"data": data}, headers=headers, timeout=60).json()["pid"]

    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(score, [1] * 8))  # nginx now keeps connections to both workers
            slow = pool.submit(score, "slow")
            time.sleep(1)  # the slow request has reached a worker
            quick = [score(1) for _ in range(10)]
            slow_running = not slow.done()
            slow_pid = slow.result()
    finally:
        server.stop()
    assert slow_running, "the quick requests waited until the slow one ended"
    assert slow_pid not in quick and len(set(quick)) == 1, (slow_pid, quick)
