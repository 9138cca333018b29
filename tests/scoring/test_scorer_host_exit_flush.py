"""The azmlinfsrv scorer (gunicorn) with App Insights on, stopped with SIGTERM after serving
requests (issue 24 item 11: in a pod its exit flush outlasted the grace period). Against an
ingestion endpoint that accepts and never answers, each worker exits scorer_host.EXIT_FLUSH_S
after its last request (its flush given up) and the scorer exits 0; against one that answers,
the telemetry of the requests arrives whole. Events, not speed: what the log says and what arrived."""
from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from mldeploy.scoring import scorer_host

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "diabetes"
GIVEN_UP = "still exiting"


class _Ingestion(http.server.BaseHTTPRequestHandler):
    """App Insights' track endpoint, answering every batch as accepted."""

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.posts.append((self.path, body))
        reply = json.dumps({"itemsReceived": 1, "itemsAccepted": 1, "errors": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _silent_endpoint() -> tuple[int, list[socket.socket]]:
    """Accepts connections and never answers (an endpoint behind a firewall that drops replies)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = [listener]

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return
    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1], held


def _serve_score_and_stop(tmp_path: Path, ingestion_port: int) -> tuple[int, str]:
    if not (EXAMPLE / "outputs" / "sklearn_regression_model.pkl").exists():
        pytest.fail("the example model is not trained: .venv/bin/python examples/diabetes/train.py")
    port = _free_port()
    env = {**os.environ, "MLDEPLOY_SCORING_SERVER": "azmlinfsrv", "MLDEPLOY_SCORER_HOST": "127.0.0.1",
           "AZUREML_MODEL_DIR": str(EXAMPLE / "outputs"), "HOME": str(tmp_path),
           "AML_APP_INSIGHTS_ENABLED": "true", "AML_APP_INSIGHTS_KEY": "00000000-0000-0000-0000-000000000000",
           "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
                                                    f"IngestionEndpoint=http://127.0.0.1:{ingestion_port}/",
           # The SDK's own usage telemetry goes to Microsoft's host, not to the endpoint above.
           "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true"}
    workdir = tmp_path / "cwd"  # empty: the server would serve a stale swagger.json found there
    workdir.mkdir()
    log = tmp_path / "scorer.log"
    with log.open("w") as out:
        scorer = subprocess.Popen([sys.executable, scorer_host.__file__, "--entry_script", str(EXAMPLE / "score.py"),
                                   "--port", str(port), "--worker_count", "1"],
                                  env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    try:
        body = (EXAMPLE / "sample-request.json").read_bytes()
        deadline = time.monotonic() + 120  # the server's start: an event, not a speed
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline or scorer.poll() is not None:
                    pytest.fail(f"the scorer did not start: {log.read_text()[-2000:]}")
                time.sleep(0.3)
        for _ in range(5):
            request = urllib.request.Request(f"http://127.0.0.1:{port}/score", data=body,
                                             headers={"Content-Type": "application/json"})
            assert urllib.request.urlopen(request, timeout=30).status == 200
        scorer.send_signal(signal.SIGTERM)
        status = scorer.wait(timeout=180)
    finally:
        scorer.kill()
    return status, log.read_text()


def test_a_silent_ingestion_endpoint_does_not_hold_the_exit(tmp_path):
    port, held = _silent_endpoint()
    try:
        status, log = _serve_score_and_stop(tmp_path, port)
    finally:
        for s in held:
            s.close()
    assert GIVEN_UP in log, f"the worker's flush should have been given up:\n{log[-3000:]}"
    assert status == 0, f"the scorer exits 0 on SIGTERM, got {status}:\n{log[-3000:]}"


def test_a_reachable_ingestion_endpoint_gets_the_telemetry_whole(tmp_path):
    ingestion = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ingestion)
    ingestion.posts = []
    threading.Thread(target=ingestion.serve_forever, daemon=True).start()
    try:
        status, log = _serve_score_and_stop(tmp_path, ingestion.server_port)
    finally:
        ingestion.shutdown()
    sent = b"".join(body for _, body in ingestion.posts)
    assert status == 0, f"the scorer exits 0 on SIGTERM, got {status}:\n{log[-3000:]}"
    assert b"/score" in sent, f"the requests' telemetry reached App Insights: {len(ingestion.posts)} posts"
