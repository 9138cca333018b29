"""Real nginx with mldeploy's gateway config in front of stand-in scorers (plain Python HTTP
servers a test writes): for the gateway rules that need nginx itself, not a scorer."""
from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path
from typing import Iterator

import requests

from mldeploy.plan.gateway import GatewaySpec, Upstream
from mldeploy.render.gateway import config_dirs, render_nginx_conf
from mldeploy.runtime.processes import listen_socket


@contextlib.contextmanager
def running_gateway(run_dir: Path, scorer_ports: list[int], **spec) -> Iterator[int]:
    """nginx serving the GatewaySpec of `scorer_ports` (plus `spec`'s fields) on a free port of
    127.0.0.1, ready (its /healthz answered); yields the port, stops nginx after."""
    port_sock = listen_socket(0)
    port = port_sock.getsockname()[1]
    port_sock.close()
    gateway = GatewaySpec(listen_port=port, run_dir=str(run_dir), auth_enabled=False, listen_host="127.0.0.1",
                          upstreams=tuple(Upstream("127.0.0.1", p) for p in scorer_ports), **spec)
    for folder in config_dirs(gateway):
        (run_dir / folder.replace(str(run_dir), "").lstrip("/")).mkdir(parents=True, exist_ok=True)
    (run_dir / "nginx.conf").write_text(render_nginx_conf(gateway))
    nginx = subprocess.Popen(["nginx", "-p", str(run_dir), "-c", str(run_dir / "nginx.conf"), "-e", "stderr"])
    try:
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield port
    finally:
        nginx.terminate()
        nginx.wait(10)
