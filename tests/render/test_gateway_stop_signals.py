"""render/gateway.py's gateway commands, with the real nginx of this machine: whatever stop signal
the platform sends - SIGQUIT (the nginx image's STOPSIGNAL), SIGTERM (Container Apps, and
whatever ACI sends: undocumented) or SIGINT - a request in flight gets its whole answer and the
command exits 0 (issue 24 item 11). nginx alone takes SIGTERM as a fast stop that drops it.
The generated shell passes shellcheck. nginx and shellcheck come with `make install`."""
from __future__ import annotations

import http.client
import http.server
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from mldeploy.plan.gateway import GatewaySpec, Upstream
from mldeploy.render.gateway import (config_dirs, container_command, direct_command, reloading_command,
                                     render_nginx_conf, render_upstreams)
from tests.render.test_gateway_reload import _default_stop_signals, _free_port, _kill_left_nginx

SLOW_S = 2.0  # the scorer's answer time: the stop signal arrives while it is in flight


class _Slow(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(SLOW_S)
        body = b'{"slow": "done"}'
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # nginx's fast stop went away without the answer: what the SIGTERM test shows

    def log_message(self, *args):
        pass


def _commands(spec: GatewaySpec, conf: Path, watched: Path) -> dict[str, list[str]]:
    return {"direct": direct_command(str(conf), spec.run_dir),
            "reloading": reloading_command(str(conf), str(watched), spec.run_dir)}


def _gateway(tmp_path: Path, upstream_port: int) -> tuple[GatewaySpec, Path, Path]:
    watched = tmp_path / "stable.conf"
    spec = GatewaySpec(listen_port=_free_port(), listen_host="127.0.0.1", run_dir=str(tmp_path / "run"),
                       auth_enabled=False, upstreams_file=str(watched),
                       upstreams=(Upstream("127.0.0.1", upstream_port, 1),))
    for folder in config_dirs(spec):
        Path(folder).mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx_conf(spec))
    watched.write_text(render_upstreams(spec))
    return spec, conf, watched


def _wait_listening(port: int, deadline_s: float = 30) -> None:
    # A deadline for an event (nginx up), not a speed assertion.
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nginx did not listen on {port}")


def _stop_during_a_request(command: list[str], spec: GatewaySpec, stop: signal.Signals) -> tuple[str, int, str]:
    gateway = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, preexec_fn=_default_stop_signals)
    answer: dict[str, str] = {}

    def request() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", spec.listen_port, timeout=30)
        try:
            conn.request("POST", "/score", body=b"{}", headers={"Content-Type": "application/json"})
            reply = conn.getresponse()
            answer["got"] = f"{reply.status} {reply.read().decode()}"
        except (OSError, http.client.HTTPException) as e:
            answer["got"] = f"error {type(e).__name__}: {e}"
        finally:
            conn.close()

    try:
        _wait_listening(spec.listen_port)
        client = threading.Thread(target=request)
        client.start()
        time.sleep(SLOW_S / 3)  # the request is at the scorer now
        gateway.send_signal(stop)
        client.join(timeout=60)
        status = gateway.wait(timeout=60)
    finally:
        gateway.kill()
        _kill_left_nginx(Path(spec.pid_file))
    return answer.get("got", "no answer"), status, gateway.stderr.read()


@pytest.fixture
def slow_scorer():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGQUIT, signal.SIGINT], ids=lambda s: s.name)
@pytest.mark.parametrize("kind", ["direct", "reloading"])
def test_every_stop_signal_lets_the_request_in_flight_finish(tmp_path, slow_scorer, kind, stop):
    spec, conf, watched = _gateway(tmp_path, slow_scorer.server_port)
    got, status, log = _stop_during_a_request(_commands(spec, conf, watched)[kind], spec, stop)
    assert got.startswith("200 ") and '"slow": "done"' in got, f"{kind} gateway, {stop.name} mid-request: {got}\n{log}"
    assert status == 0, f"{kind} gateway, {stop.name}: a graceful stop exits 0, got {status}: {log}"


def test_nginx_alone_drops_the_request_on_sigterm(tmp_path, slow_scorer):
    """The hazard the wrapper exists for, shown on this machine's nginx (a fast stop)."""
    spec, conf, _ = _gateway(tmp_path, slow_scorer.server_port)
    got, _, log = _stop_during_a_request(["nginx", "-c", str(conf), "-e", "stderr"], spec, signal.SIGTERM)
    assert not got.startswith("200 "), f"nginx's SIGTERM is a fast stop; the request got {got}\n{log}"


def test_the_generated_gateway_shell_passes_shellcheck(tmp_path):
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not installed (Debian package shellcheck; `make install`)")
    spec, conf, watched = _gateway(tmp_path, 9)
    scripts = {**_commands(spec, conf, watched), "container": container_command(spec)}
    for kind, command in scripts.items():
        assert command[:2] == ["/bin/sh", "-c"], f"{kind}: {command[:2]}"
        run = subprocess.run([shellcheck, "--shell=sh", "-"], input=command[2], capture_output=True, text=True)
        assert run.returncode == 0, f"{kind} gateway command:\n{command[2]}\n{run.stdout}{run.stderr}"
