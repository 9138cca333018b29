"""The ingress of a rehearsed traffic split: nginx (from the one gateway renderer) on 127.0.0.1
sending each request to one of several variants' gateways by their weights - a 0 % variant is
`down` - and checking the keys when it is given them. `serve` puts it in front of a split's
LocalServers (containerapp revisions, an AKS canary: mldeploy/targets/containerapp/local.py) and
`serve --containers` in front of a container app's revision pods.

    ingress = SplitIngress(run_dir / "ingress", run_dir / "ingress.log", port=0, max_body_mb=100,
                           scoring_timeout_ms=60_000)
    port = ingress.start((Upstream("127.0.0.1", 8001, weight=90), Upstream("127.0.0.1", 8002, weight=10)))
    ingress.reweight((Upstream("127.0.0.1", 8001, weight=0), Upstream("127.0.0.1", 8002, weight=100)))
    ingress.check()   # restarts nginx if it exited; a line saying so, or None
    ingress.stop(timeout=65)
"""
from __future__ import annotations

import shutil
from pathlib import Path

from mldeploy.contract import KEYS_MAP_NAME, LIVENESS_PATH
from mldeploy.plan.gateway import HOP_SOCKET, GatewaySpec, Upstream
from mldeploy.runtime.local import gateway_child, write_gateway_files
from mldeploy.runtime.processes import Child, find_nginx, listen_socket, socket_dir, wait_until_ok
from mldeploy.runtime.swap import reload_gateway

INGRESS_MARGIN_MS = 2_000  # the ingress waits longer than a variant's gateway: its 504 body passes


class SplitIngress:
    """nginx splitting between upstreams by weight; `keys` (primary, secondary) checked here, or
    None when the variants' own gateways check them (the Authorization header passed on to them)."""

    def __init__(self, run_dir: Path, log: Path, *, port: int, max_body_mb: float, scoring_timeout_ms: int,
                 keys: tuple[str, str] | None = None):
        self.run_dir, self.log, self.port, self.keys = run_dir, log, port, keys
        self.max_body_mb, self.scoring_timeout_ms = max_body_mb, scoring_timeout_ms
        self.child: Child | None = None
        self._sock = None  # the listening socket: kept for a restart, closed at stop
        # Its own hop socket's folder (chunked bodies): short, not in run_dir (processes.socket_dir).
        self._socket_dir: Path | None = None

    def spec(self, upstreams: tuple[Upstream, ...], hop_socket: str | None = None) -> GatewaySpec:
        return GatewaySpec(
            listen_port=self.port, listen_host="127.0.0.1", run_dir=str(self.run_dir), upstreams=upstreams,
            hop_socket_file=hop_socket,
            auth_enabled=self.keys is not None,
            keys_file=str(self.run_dir / KEYS_MAP_NAME) if self.keys else None,
            max_body_mb=self.max_body_mb, scoring_timeout_ms=self.scoring_timeout_ms + INGRESS_MARGIN_MS,
            passes_authorization=self.keys is None)

    def start(self, upstreams: tuple[Upstream, ...], timeout: float = 15) -> int:
        """Listen (port 0: any free one), start nginx, wait until it answers; returns the port."""
        sock = self._sock = listen_socket(self.port)
        self.port = sock.getsockname()[1]
        self._socket_dir = socket_dir()
        spec = self.spec(upstreams, str(self._socket_dir / HOP_SOCKET))
        write_gateway_files(spec, self.keys)
        self.child = gateway_child(find_nginx(), self.run_dir, sock, self.log, self._socket_dir / HOP_SOCKET)
        self.child.start()
        wait_until_ok(self.child, f"http://127.0.0.1:{self.port}{LIVENESS_PATH}", "the ingress (nginx)", timeout)
        return self.port

    def reweight(self, upstreams: tuple[Upstream, ...]) -> None:
        """New weights for the running nginx (`serve --reload` of a traffic move): its nginx.conf written
        again, then its graceful reload - new workers split by the new weights, the old ones finish the
        requests they hold - returning once the old workers have gone (swap.py reload_gateway)."""
        write_gateway_files(self.spec(upstreams, str(self._socket_dir / HOP_SOCKET)), self.keys)
        reload_gateway(self.child, self.scoring_timeout_ms + INGRESS_MARGIN_MS)

    def check(self) -> str | None:
        """Restart nginx if it exited: a line saying so, else None."""
        if self.child is None or self.child.exit_code() is None:
            return None
        code = self.child.exit_code()
        self.child.stop(timeout=2)
        self.child.start()
        return f"the ingress exited (code {code}); restarted it"

    def stop(self, timeout: float) -> None:
        """nginx's graceful stop (requests in flight finish), then the socket closed."""
        if self.child is not None:
            self.child.stop(timeout=timeout)
            self.child = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None
