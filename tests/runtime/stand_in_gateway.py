"""Real nginx with mldeploy's gateway config in front of stand-in scorers (plain Python HTTP
servers a test writes): for the gateway rules that need nginx itself, not a scorer."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from mldeploy.plan.gateway import GatewaySpec, Upstream
from mldeploy.runtime.local import write_gateway_files
from mldeploy.runtime.processes import Child, find_nginx, free_port, wait_until_ok


@contextlib.contextmanager
def running_gateway(run_dir: Path, upstreams: list[int | Upstream], **spec) -> Iterator[int]:
    """nginx serving the GatewaySpec of `upstreams` (a stand-in's port on 127.0.0.1, or an
    Upstream with its weight) plus `spec`'s fields on a free port of 127.0.0.1, ready (its
    /healthz answered 200, over TLS when `spec` has a certificate); yields the port, stops nginx
    after. Its log: `run_dir`/gateway.log."""
    gateway = GatewaySpec(listen_port=free_port(), run_dir=str(run_dir), auth_enabled=False, listen_host="127.0.0.1",
                          upstreams=tuple(u if isinstance(u, Upstream) else Upstream("127.0.0.1", u)
                                          for u in upstreams), **spec)
    write_gateway_files(gateway, keys=None)
    nginx = Child("gateway", [find_nginx(), "-p", str(run_dir), "-c", str(run_dir / "nginx.conf"), "-e", "stderr"],
                  env={}, cwd=run_dir, log=run_dir / "gateway.log")
    nginx.start()
    try:
        scheme = "https" if gateway.tls_enabled else "http"
        wait_until_ok(nginx, f"{scheme}://127.0.0.1:{gateway.listen_port}/healthz", "nginx", 15)
        yield gateway.listen_port
    finally:
        nginx.stop()
