"""render/gateway.py's reloading gateway, with the real nginx of this machine: weights read from
an included file (an AKS canary's traffic ConfigMap) move when the file changes - the way the
kubelet updates a mounted ConfigMap, a new file renamed over the old - with no restart of nginx;
a stop signal stops it gracefully with status 0. nginx comes with `make install`: missing, this fails."""
from __future__ import annotations

import dataclasses
import http.server
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

from mldeploy.plan.gateway import GatewaySpec, Upstream
from mldeploy.render.gateway import config_dirs, reloading_command, render_nginx_conf, render_upstreams

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Named(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = self.server.answer.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _scorer(answer: str) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Named)
    server.answer = answer
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _answers(port: int, n: int) -> set[str]:
    seen = set()
    for _ in range(n):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/score", timeout=5) as reply:
                seen.add(reply.read().decode())
        except OSError as e:
            seen.add(f"error {e}")
    return seen


def _default_stop_signals() -> None:
    for stop in (signal.SIGQUIT, signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, signal.SIG_DFL)


def _kill_left_nginx(pid_file: Path) -> None:
    # Killing the shell leaves its nginx behind: stop the master too (gone after a graceful stop).
    try:
        os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
    except (OSError, ValueError):
        pass


def _until(port: int, want: set[str], deadline_s: float) -> set[str]:
    # A deadline for an event (the poll period plus a reload), not a speed assertion.
    end = time.monotonic() + deadline_s
    while True:
        seen = _answers(port, 10)
        if seen == want or time.monotonic() > end:
            return seen
        time.sleep(0.5)


def test_a_changed_traffic_file_moves_the_split_without_restarting_nginx(tmp_path):
    a, b = _scorer("A"), _scorer("B")
    traffic = tmp_path / "traffic"
    traffic.mkdir()
    watched = traffic / "stable.conf"
    port = _free_port()
    all_to_a = GatewaySpec(listen_port=port, listen_host="127.0.0.1", run_dir=str(tmp_path / "run"),
                           auth_enabled=False, upstreams_file=str(watched),
                           upstreams=(Upstream("127.0.0.1", a.server_port, 1), Upstream("127.0.0.1", b.server_port, 0)))
    all_to_b = dataclasses.replace(all_to_a, upstreams=(Upstream("127.0.0.1", a.server_port, 0),
                                                        Upstream("127.0.0.1", b.server_port, 1)))
    for folder in config_dirs(all_to_a):
        Path(folder).mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx_conf(all_to_a))
    assert render_nginx_conf(all_to_b) == conf.read_text(), "nginx.conf must not depend on the weights"
    watched.write_text(render_upstreams(all_to_a))
    # Default stop signals, as a container runtime starts the command: a shell cannot trap a signal
    # ignored on entry (POSIX `trap`), and a run started in the background by a non-interactive
    # shell (`make test &`, a CI job) inherits SIGQUIT and SIGINT ignored.
    gateway = subprocess.Popen(reloading_command(str(conf), str(watched), all_to_a.run_dir), stderr=subprocess.PIPE, text=True,
                               preexec_fn=_default_stop_signals)
    try:
        assert _until(port, {"A"}, 30) == {"A"}, "weight 1/0: every request to A"
        master = Path(all_to_a.pid_file).read_text().strip()
        # The kubelet's update of a mounted ConfigMap: new content appears by a rename.
        staged = traffic / ".staged"
        staged.write_text(render_upstreams(all_to_b))
        os.replace(staged, watched)
        assert _until(port, {"B"}, 60) == {"B"}, "after the traffic file changed, every request to B"
        assert Path(all_to_a.pid_file).read_text().strip() == master, "nginx was reloaded, not restarted"
        assert gateway.poll() is None, "the gateway keeps running"
    finally:
        gateway.send_signal(signal.SIGQUIT)  # the nginx image's STOPSIGNAL
        try:
            status = gateway.wait(timeout=60)
        finally:
            gateway.kill()
            _kill_left_nginx(Path(all_to_a.pid_file))
            a.shutdown()
            b.shutdown()
    log = gateway.stderr.read()
    assert status == 0, f"a graceful stop exits 0, got {status}: {log}"
    assert "changed: reloading nginx" in log, log
