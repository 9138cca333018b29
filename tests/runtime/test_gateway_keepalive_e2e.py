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
import subprocess
import threading
import time

import pytest
import requests

from mldeploy.plan.gateway import GatewaySpec, Upstream
from mldeploy.render.gateway import config_dirs, render_nginx_conf
from mldeploy.runtime.processes import listen_socket

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
    port_sock = listen_socket(0)
    port = port_sock.getsockname()[1]
    port_sock.close()
    spec = GatewaySpec(listen_port=port, run_dir=str(tmp_path), auth_enabled=False, listen_host="127.0.0.1",
                       upstreams=(Upstream("127.0.0.1", scorer.server_port),))
    for folder in config_dirs(spec):
        (tmp_path / folder.replace(str(tmp_path), "").lstrip("/")).mkdir(parents=True, exist_ok=True)
    (tmp_path / "nginx.conf").write_text(render_nginx_conf(spec))
    nginx = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", "stderr"])
    try:
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        with requests.Session() as client:  # one client connection: its requests follow each other
            answers = [client.post(f"http://127.0.0.1:{port}/score", json={"data": 1}, timeout=30).status_code
                       for _ in range(20)]
        deadline = time.monotonic() + 10
        while events.count("closed") < events.count("open") and time.monotonic() < deadline:
            time.sleep(0.05)
        seen = list(events)  # before nginx stops (which closes what it kept)
    finally:
        nginx.terminate()
        nginx.wait(10)
        scorer.shutdown()
    assert answers == [200] * 20, answers
    assert seen.count("request") == 20, seen
    # Requests back to back share connections (mostly one; a slow moment on a busy machine may
    # let one idle past the limit), and every connection is closed once idle.
    assert seen.count("open") < 20, f"a connection per request: {seen.count('open')} for 20"
    assert seen.count("closed") == seen.count("open"), f"an idle connection was kept open: {seen}"
