"""`serve` of a containerapp service: its traffic split rehearsed on this machine.

As on Container Apps, each labelled revision is a replica of its own - the scorer of that
revision's image behind its own gateway - and an ingress in front splits the requests between
the revisions by their `trafficPercent`. The ingress is nginx from the one gateway renderer with
weighted upstreams (a 0 % revision is `down`). One difference, said plainly: here the ingress
checks the keys (one pair, as the app's secrets are one set for every revision) and the revisions'
gateways do not, because the renderer never passes a key on past the nginx that checked it; on
Azure each revision's gateway checks them. The client sees the same answers either way.

    runner = LocalRevisions("diabetes-aca", service, contexts, envs, run_dir, port=0)
    endpoint = runner.start()     # every revision ready, then the ingress
    runner.check()                # restarts a child that died
    runner.stop()
"""
from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

from mldeploy.contract import KEYS_MAP_NAME, LIVENESS_PATH, SCORE_PATH, SWAGGER_PATH
from mldeploy.plan.gateway import HOP_SOCKET, GatewaySpec, Upstream
from mldeploy.render.build_context import BuildContext
from mldeploy.render.gateway import config_dirs, render_keys_map, render_nginx_conf
from mldeploy.runtime.env import ScoringEnv
from mldeploy.runtime.local import Endpoint, LocalServer, gateway_child, new_key, write_private
from mldeploy.runtime.processes import Child, find_nginx, listen_socket, socket_dir, wait_until_ok
from mldeploy.targets.local.settings import LocalServiceSettings
from mldeploy.targets.containerapp.config import ContainerAppServiceSettings
from mldeploy.targets.containerapp.plan import scorer_workers

INGRESS_MARGIN_MS = 2_000  # the ingress waits longer than a revision's gateway: its 504 body passes


def revision_images(service: ContainerAppServiceSettings) -> dict[str, tuple[str, int]]:
    """label -> (image, traffic percent): the `revisions`, else one revision of `image` at 100 %."""
    if service.revisions is None:
        return {"live": (service.image, 100)}
    return {label: (rev.image, rev.traffic_percent) for label, rev in sorted(service.revisions.items())}


def revision_settings(service: ContainerAppServiceSettings, image: str) -> LocalServiceSettings:
    """One revision as a local service: the service's gateway knobs and its scorer's workers and
    timeout, the revision's image; no key check (the ingress's) and no App Insights (no Azure)."""
    shared = {field: getattr(service, field) for field in ("cors", "scoring_timeout_ms", "max_request_body_mb",
                                                            "sample_request", "cpu_cores", "memory_gb")}
    return LocalServiceSettings.model_construct(
        target="local", image=image, auth_enabled=False, keys=None, tls=None, app_insights_enabled=False,
        worker_count=scorer_workers(service), port=0, **shared)


# A local rehearsal is never a production stack: its ingress and the variants' gateways speak HTTP.
_REHEARSAL = SimpleNamespace(production=False, images={})  # images: the revisions' scorers run unbatched limits


def _serve_plan(name: str, variant):
    """A variant's serve plan from its target's row (an AKS variant keeps its replicaMaxConcurrentRequests)."""
    from mldeploy.targets import target_of

    return target_of(variant).serve_plan(name, variant, _REHEARSAL, "")


class LocalRevisions:
    """Every revision's scorer + gateway (LocalServer) and the ingress splitting between them."""

    def __init__(self, name: str, service: ContainerAppServiceSettings, contexts: dict[str, BuildContext],
                 envs: dict[str, ScoringEnv], run_dir: Path, *, port: int, logs_command: str | None = None):
        self.name, self.service, self.run_dir, self.port = name, service, run_dir.resolve(), port
        keys = (new_key(), new_key()) if service.auth_enabled else None
        self.shares = self.variants(service)
        self.revisions = {
            label: LocalServer(_serve_plan(f"{name}--{label}", self.variant_settings(service, image)), contexts[image],
                               envs[image], self.run_dir / label, port=0, keys=keys, logs_command=logs_command)
            for label, (image, _) in self.shares.items()}
        self.keys = keys
        self.ingress: Child | None = None
        self._sock = None  # the ingress's listening socket: kept for a restart, closed at stop
        # The ingress's own hop socket's folder (chunked bodies): short, not in run_dir (socket_dir).
        self._socket_dir: Path | None = None

    # Which variants and how each one is served: a subclass for another target's split (the AKS
    # canary, mldeploy/targets/aks/local.py) overrides these two and keeps the rest.
    variants = staticmethod(revision_images)
    variant_settings = staticmethod(revision_settings)

    def spec(self, hop_socket: str) -> GatewaySpec:
        """The ingress: the revisions' gateways as weighted upstreams; the keys checked here;
        `hop_socket`: its own socket for chunked bodies (a short path)."""
        return GatewaySpec(
            listen_port=self.port, listen_host="127.0.0.1", run_dir=str(self.run_dir / "ingress"),
            hop_socket_file=hop_socket,
            upstreams=tuple(Upstream("127.0.0.1", self.revisions[label].port, weight=percent)
                            for label, (_, percent) in self.shares.items()),
            auth_enabled=self.keys is not None,
            keys_file=str(self.run_dir / "ingress" / KEYS_MAP_NAME) if self.keys else None,
            max_body_mb=self.service.max_request_body_mb or 100.0,
            scoring_timeout_ms=self.service.scoring_timeout_ms + INGRESS_MARGIN_MS)

    def start(self, timeout: float = 120.0) -> Endpoint:
        try:
            for server in self.revisions.values():
                server.start(timeout=timeout)
            sock = self._sock = listen_socket(self.port)
            self.port = sock.getsockname()[1]
            self._socket_dir = socket_dir()
            spec = self.spec(str(self._socket_dir / HOP_SOCKET))
            for folder in config_dirs(spec):
                Path(folder).mkdir(parents=True, exist_ok=True)
            ingress_dir = self.run_dir / "ingress"
            (ingress_dir / "nginx.conf").write_text(render_nginx_conf(spec))
            if self.keys:
                write_private(ingress_dir / KEYS_MAP_NAME, render_keys_map(*self.keys))
            self.ingress = gateway_child(find_nginx(), ingress_dir, sock, self.run_dir / "ingress.log",
                                         self._socket_dir / HOP_SOCKET)
            self.ingress.start()
            wait_until_ok(self.ingress, f"http://127.0.0.1:{self.port}{LIVENESS_PATH}", "the ingress (nginx)", 15)
        except BaseException:
            self.stop()
            raise
        return self.endpoint()

    def endpoint(self) -> Endpoint:
        base = f"http://127.0.0.1:{self.port}"
        return Endpoint(base + SCORE_PATH, base + SWAGGER_PATH, self.keys[0] if self.keys else None,
                        self.keys[1] if self.keys else None, None)

    def check(self) -> list[str]:
        events = [e for server in self.revisions.values() for e in server.check()]
        if self.ingress is not None and self.ingress.exit_code() is not None:
            code = self.ingress.exit_code()
            self.ingress.stop(timeout=2)
            self.ingress.start()
            events.append(f"{self.name}: the ingress exited (code {code}); restarted it")
        return events

    def stop(self) -> None:
        """The ingress first (requests in flight finish), then every revision."""
        if self.ingress is not None:
            self.ingress.stop(timeout=self.service.scoring_timeout_ms / 1000 + 5)
            self.ingress = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None
        for server in self.revisions.values():
            server.stop()
