"""The gateway's access log in containers (stdout, a pipe): written in blocks of at most PIPE_BUF
instead of a write() per request (each write wakes the pipe's reader), and still live - a line
arrives while nginx runs (the flush), whole, with two workers writing to one pipe. Runs the real nginx."""
from __future__ import annotations

import http.client
import os
import re
import select
import subprocess
import time
from pathlib import Path

from mldeploy.targets.local.settings import LocalServiceSettings
from mldeploy.plan.gateway import GatewaySpec, Upstream, container_gateway
from mldeploy.render.gateway import ACCESS_LOG_BUFFER, config_dirs, direct_command, render_nginx_conf
from tests.render.test_gateway_reload import _default_stop_signals, _free_port, _kill_left_nginx
from tests.render.test_gateway_stop_signals import _wait_listening

LINE = re.compile(r'^127\.0\.0\.1 - - \[[^]]+\] "GET /nope-\d+ HTTP/1\.1" 404 \d+ "-" "[^"]*"$')
PIPE_BUF = 4096  # Linux, pipe(7): writes up to this size are atomic


def test_containers_log_in_blocks_no_larger_than_an_atomic_pipe_write():
    conf = render_nginx_conf(container_gateway(LocalServiceSettings.model_validate({"target": "local", "image": "diabetes"}), listen_port=80))
    assert f"access_log /dev/stdout combined buffer={ACCESS_LOG_BUFFER} flush=100ms;" in conf, conf
    assert int(ACCESS_LOG_BUFFER.rstrip("k")) * 1024 <= PIPE_BUF
    local = GatewaySpec(listen_port=8890, upstreams=(Upstream("127.0.0.1", 5001),), run_dir="/tmp/x", auth_enabled=False)
    assert "  access_log off;" in render_nginx_conf(local)


def test_buffered_lines_arrive_while_nginx_runs_each_whole(tmp_path):
    spec = GatewaySpec(listen_port=_free_port(), listen_host="127.0.0.1", run_dir=str(tmp_path / "run"),
                       auth_enabled=False, upstreams=(Upstream("127.0.0.1", _free_port()),),
                       access_log="/dev/stdout", worker_processes=2)
    for folder in config_dirs(spec):
        Path(folder).mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx_conf(spec))
    requests = 300  # ~60 KB of lines: many blocks, from both workers
    gateway = subprocess.Popen(direct_command(str(conf), spec.run_dir), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, preexec_fn=_default_stop_signals)
    received = b""
    try:
        _wait_listening(spec.listen_port)
        for i in range(requests):
            # A new connection each: nginx spreads them over its two workers.
            conn = http.client.HTTPConnection("127.0.0.1", spec.listen_port, timeout=30)
            conn.request("GET", f"/nope-{i}", headers={"Connection": "close"})
            assert conn.getresponse().status == 404
            conn.close()
        # A deadline for an event (the flush), not a speed assertion: nginx still runs meanwhile.
        end = time.monotonic() + 30
        while received.count(b"\n") < requests and time.monotonic() < end:
            if select.select([gateway.stdout], [], [], 0.5)[0]:
                received += os.read(gateway.stdout.fileno(), 65536)
        assert gateway.poll() is None, "nginx stopped"
    finally:
        gateway.terminate()
        gateway.wait(timeout=60)
        _kill_left_nginx(Path(spec.pid_file))
    lines = received.decode().splitlines()
    assert len(lines) == requests, f"{len(lines)} of {requests} lines while nginx ran"
    assert [line for line in lines if not LINE.match(line)] == []
    assert sorted(int(re.search(r"/nope-(\d+)", line).group(1)) for line in lines) == list(range(requests))
