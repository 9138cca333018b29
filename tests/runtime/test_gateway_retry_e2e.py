"""The gateway's retry rule on real nginx (render/gateway.py, `proxy_next_upstream`): a request
that reached a scorer and timed out is not passed to another one - run() would run twice.
Two stand-in scorers (plain Python HTTP servers that count what they get), one too slow for the
gateway's timeout. Counts only, no timing is asserted."""
from __future__ import annotations

import http.server
import shutil
import threading
import time

import pytest
import requests

from tests.runtime.stand_in_gateway import running_gateway

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed")


def _scorer(delay_s: float, hits: list[str], name: str) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # a @rawhttp run() answers GET /score too
            hits.append(name)
            time.sleep(delay_s)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # the slow one writes to a connection the gateway already gave up on

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_request_that_timed_out_at_one_scorer_is_not_run_at_another(tmp_path):
    hits: list[str] = []
    slow, fast = _scorer(3.0, hits, "slow"), _scorer(0.0, hits, "fast")
    try:
        with running_gateway(tmp_path, [slow.server_port, fast.server_port], scoring_timeout_ms=500) as port:
            answers = [requests.get(f"http://127.0.0.1:{port}/score", timeout=30).status_code for _ in range(4)]
    finally:
        slow.shutdown()
        fast.shutdown()
    assert len(hits) == len(answers), f"{len(answers)} requests reached scorers {len(hits)} times: {hits}"
    assert 504 in answers and set(answers) <= {200, 504}, f"the slow scorer's request is the gateway's 504: {answers}"
