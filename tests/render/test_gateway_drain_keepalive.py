"""The gateway stopped under clients that keep their connections alive (issue 24 item 11: "serve,
the pod and ACI finish in-flight requests ... measured under wrk"; kept-alive clients of `serve`
read resets at SIGTERM). With the real nginx of this machine and the gateway's own command
(render/gateway.py graceful_nginx, the command of every gateway container): SIGTERM 1 s into the
load. What must hold: no connection the gateway kept alive is closed under a request (the
kept-alive race: before the drain, one reset per connection, every run), every answer is a 200,
and the stand-in scorer answered exactly what the clients read. A new connection may still be
reset when nginx closes its listener (the kernel's queue; see tests/harness.py
keepalive_load_while)."""
from __future__ import annotations

import http.server
import os
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from mldeploy.plan.gateway import GatewaySpec, Upstream
from mldeploy.render.gateway import config_dirs, direct_command, render_nginx_conf
from tests.harness import keepalive_load_while
from tests.render.test_gateway_reload import _default_stop_signals, _free_port, _kill_left_nginx
from tests.render.test_gateway_stop_signals import _wait_listening

BODY = b'{"data": [[1, 2, 3]]}'


class _Quick(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # nginx keeps its connections to the scorer alive
    answered = 0
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"ok": 1}'
        self.send_response(200)
        if self.close_connection:
            # A request that said `Connection: close` (the draining gateway's, render/gateway.py _drain):
            # the answer says so, as both scorers' do (granian's hyper, gunicorn's sync worker), and
            # nginx keeps no connection the scorer closes; http.server closes without saying it.
            self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with _Quick.lock:
            _Quick.answered += 1

    def log_message(self, *args):
        pass


@pytest.fixture
def quick_scorer():
    _Quick.answered = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quick)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture
def run_root():
    # Not pytest's tmp_path: nginx started by root runs its workers as `nobody`, which must reach
    # the drain file in the run folder (as runtime/local.py makes sure for `serve`).
    root = Path(tempfile.mkdtemp(prefix="mldeploy-drain-"))
    os.chmod(root, 0o755)
    yield root
    subprocess.run(["rm", "-rf", str(root)], check=False)


@pytest.mark.parametrize("connections", [2, 16])
def test_sigterm_under_kept_alive_clients_closes_no_connection_under_a_request(run_root, quick_scorer, connections):
    spec = GatewaySpec(listen_port=_free_port(), listen_host="127.0.0.1", run_dir=str(run_root / "run"),
                       auth_enabled=False, upstreams=(Upstream("127.0.0.1", quick_scorer.server_port, 1),))
    for folder in config_dirs(spec):
        Path(folder).mkdir(parents=True, exist_ok=True)
    conf = run_root / "nginx.conf"
    conf.write_text(render_nginx_conf(spec))
    gateway = subprocess.Popen(direct_command(str(conf), spec.run_dir), stderr=subprocess.PIPE, text=True,
                               preexec_fn=_default_stop_signals)
    request = (b"POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY))

    def stop() -> int:
        gateway.send_signal(signal.SIGTERM)
        return gateway.wait(timeout=60)

    try:
        _wait_listening(spec.listen_port)
        counts, status = keepalive_load_while(stop, spec.listen_port, request, connections, stop_after_s=1.0)
    finally:
        gateway.kill()
        _kill_left_nginx(Path(spec.pid_file))
    log = gateway.stderr.read()
    print(f"\n{connections} kept-alive connections: {counts}, scorer answered {_Quick.answered}")
    assert counts["answers"] > 0 and status == 0, f"{counts}, exit {status}\n{log}"
    assert counts["reused_errors"] == 0, f"kept-alive connections closed under a request: {counts}\n{log}"
    assert counts["status 200"] == counts["answers"], counts
    assert _Quick.answered == counts["answers"], f"the scorer answered {_Quick.answered}: {counts}"
    assert counts["fresh_errors"] <= connections, counts
