"""The local gateway's errors-only access log (GatewaySpec.error_answers_log): an answer of 400 and
above leaves one line led by its time (so `mldeploy logs` merges it in order), a 2xx none, and the
readiness probe's 502s while a scorer starts none. Runs the real nginx, in front of a stand-in scorer
that answers 200."""
from __future__ import annotations

import http.client
import http.server
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from mldeploy.contract import READINESS_PATH, SCORE_PATH
from mldeploy.plan.gateway import GatewaySpec, Upstream
from mldeploy.render.gateway import config_dirs, direct_command, render_nginx_conf
from mldeploy.runtime.logs import _stamp
from tests.render.test_gateway_reload import _default_stop_signals, _free_port, _kill_left_nginx
from tests.render.test_gateway_stop_signals import _wait_listening


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"[]")

    def log_message(self, *args):
        pass


def _status(port: int, method: str, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=b"{}" if method == "POST" else None, headers={"Content-Type": "application/json"})
        return conn.getresponse().status
    finally:
        conn.close()


def _serve(spec: GatewaySpec, tmp_path: Path, requests: list[tuple[str, str]]) -> tuple[list[int], str]:
    for folder in config_dirs(spec):
        Path(folder).mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx_conf(spec))
    log = tmp_path / "gateway.log"
    with log.open("w") as out:
        gateway = subprocess.Popen(direct_command(str(conf), spec.run_dir), stderr=out, stdout=out,
                                   preexec_fn=_default_stop_signals)
        try:
            _wait_listening(spec.listen_port)
            statuses = [_status(spec.listen_port, method, path) for method, path in requests]
        finally:
            gateway.terminate()
            gateway.wait(timeout=60)
            _kill_left_nginx(Path(spec.pid_file))
            shutil.rmtree(Path(spec.run_dir).parent, ignore_errors=True)
    return statuses, log.read_text()


def _spec(tmp_path: Path, upstream: Upstream, error_answers_log: str | None) -> GatewaySpec:
    # nginx's worker user reads the drain file's folder, as in `serve`'s run folder: pytest's tmp_path
    # sits under a folder only root can enter.
    run_dir = Path(tempfile.mkdtemp(prefix="mldeploy-answers-"))
    run_dir.chmod(0o755)
    return GatewaySpec(listen_port=_free_port(), listen_host="127.0.0.1", run_dir=str(run_dir / "run"),
                       auth_enabled=False, upstreams=(upstream,), error_answers_log=error_answers_log)


def test_errors_are_logged_with_their_time_and_successes_and_starting_probes_are_not(tmp_path):
    # First no scorer (the probes' 502s of a start, a scoring request's 502), then one that answers 200.
    down = Upstream("127.0.0.1", _free_port(), 1)
    statuses, log = _serve(_spec(tmp_path, down, "/dev/stderr"), tmp_path,
                           [("GET", READINESS_PATH)] * 3 + [("POST", SCORE_PATH), ("GET", "/nothing?key=s3cret")])
    assert statuses[:3] == [502] * 3 and statuses[3] in (502, 503) and statuses[4] == 404, statuses
    answers = [line for line in log.splitlines() if " [answer] " in line]
    assert [line.split(" [answer] ")[1].split(" 127.0.0.1")[0] for line in answers] == \
        [f'{statuses[3]} "POST {SCORE_PATH}"', '404 "GET /nothing"'], log
    assert all(_stamp(line) for line in answers), answers  # time first: runtime/logs.py orders by it
    assert not any("s3cret" in line for line in answers)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        up = Upstream("127.0.0.1", server.server_address[1], 1)
        statuses, log = _serve(_spec(tmp_path, up, "/dev/stderr"), tmp_path, [("POST", SCORE_PATH)] * 3)
    finally:
        server.shutdown()
    assert statuses == [200] * 3 and " [answer] " not in log, (statuses, log)


def test_without_it_the_gateway_logs_no_answer(tmp_path):
    statuses, log = _serve(_spec(tmp_path, Upstream("127.0.0.1", _free_port(), 1), None), tmp_path,
                           [("GET", "/nothing")])
    assert statuses == [404] and " [answer] " not in log and '404 "GET /nothing"' not in log, log
