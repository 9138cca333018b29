"""One v2 online endpoint served on this machine: a scorer per deployment (its image's build
context, its own worker count and request timeout) behind one nginx that splits, mirrors, pins,
authenticates and limits as the endpoint does (the one gateway renderer, render/gateway.py, from
plan/gateway.py's endpoint_gateway). Everything is decided in its plan (plan/serve.py).

    server = LocalEndpoint(plan_serve_endpoint("diabetes", service), contexts, envs, run_dir, port=0)
    endpoint = server.start()      # every deployment ready; endpoint.json written for `mldeploy test`
    server.check()                 # restarts a child that died
    server.stop()
"""
from __future__ import annotations

from pathlib import Path

from mldeploy.plan.gateway import GatewaySpec, Upstream
from mldeploy.plan.serve import EndpointServePlan
from mldeploy.render.build_context import BuildContext
from mldeploy.runtime.env import ScoringEnv
from mldeploy.contract import LIVENESS_PATH, SCORE_PATH, SWAGGER_PATH
from mldeploy.runtime.local import (ENDPOINT_FILE, Endpoint, check_nginx_path, gateway_child, new_key,
                                    publish_endpoint, refuse_if_running, scorer_child, withdraw_endpoint,
                                    write_gateway_files)
from mldeploy.runtime.processes import Child, find_nginx, listen_socket, start_and_wait
from mldeploy.scoring.scorer_host import LOGS_COMMAND_ENV


class LocalEndpoint:
    """Every deployment's scorer and the endpoint's gateway, supervised."""

    def __init__(self, plan: EndpointServePlan, contexts: dict[str, BuildContext], envs: dict[str, ScoringEnv],
                 run_dir: Path, *, port: int, keys: tuple[str, str] | None = None):
        self.plan, self.name, self.contexts, self.envs = plan, plan.name, contexts, envs
        self.run_dir = run_dir.resolve()
        self.port = port
        # Locally every auth mode is served with keys: tokens (aml_token, aad_token) need Azure.
        self.keys = keys or (new_key(), new_key())
        self.scorers: dict[str, Child] = {}
        self.scorer_ports: dict[str, int] = {}
        self.gateway: Child | None = None
        self._sockets: list = []

    def spec(self) -> GatewaySpec:
        return self.plan.gateway_at(run_dir=str(self.run_dir / "gateway"), listen_port=self.port,
                                    scorers={n: Upstream("127.0.0.1", port) for n, port in self.scorer_ports.items()})

    def start(self, timeout: float = 120.0) -> Endpoint:
        nginx = find_nginx()
        check_nginx_path(self.run_dir)
        refuse_if_running(self.run_dir / ENDPOINT_FILE, f"endpoint {self.name!r}")
        gateway_sock = listen_socket(self.port)
        self._sockets = [gateway_sock]
        self.port = gateway_sock.getsockname()[1]
        self.run_dir.mkdir(parents=True, exist_ok=True)
        logs = self.plan.logs_command
        for dep in self.plan.deployments:
            context = self.contexts[dep.image]
            dep_dir = self.run_dir / dep.name
            context.write(dep_dir / "context")
            sock = listen_socket(0)
            self._sockets.append(sock)
            self.scorer_ports[dep.name] = sock.getsockname()[1]
            self.scorers[dep.name] = scorer_child(
                context, self.envs[dep.image], dep_dir / "context", dep_dir, sock=sock,
                workers=dep.workers, scoring_timeout_ms=dep.request_timeout_ms,
                extra_env={**dict(dep.environment),
                           **({LOGS_COMMAND_ENV: f"{logs} --deployment {dep.name}"} if logs else {})})
        spec = self.spec()
        gw_dir = write_gateway_files(spec, self.keys)
        self.gateway = gateway_child(nginx, gw_dir, gateway_sock, self.run_dir / "gateway.log")
        scorers = [(child, f"http://127.0.0.1:{self.scorer_ports[dep]}/", f"the scorer of deployment {dep!r}")
                   for dep, child in self.scorers.items()]
        start_and_wait(scorers, self.gateway, f"http://127.0.0.1:{self.port}{LIVENESS_PATH}", timeout, self.stop)
        endpoint = self.endpoint()
        publish_endpoint(self.run_dir, endpoint)
        return endpoint

    def endpoint(self) -> Endpoint:
        base = f"http://127.0.0.1:{self.port}"
        return Endpoint(base + SCORE_PATH, base + SWAGGER_PATH, self.keys[0], self.keys[1])

    def check(self) -> list[str]:
        """Restart any child that exited."""
        events = []
        for child in [*self.scorers.values(), self.gateway]:
            if child is not None:
                child.cap_log()
            if child is None or child.exit_code() is None:
                continue
            code = child.exit_code()
            child.stop(timeout=2)
            child.restarts += 1
            child.start()
            events.append(f"{self.name}: the {child.name} exited (code {code}); restarted it (restart {child.restarts})")
        return events

    def stop(self) -> None:
        for child in [self.gateway, *self.scorers.values()]:
            if child is not None:
                child.stop()
        for sock in self._sockets:
            sock.close()
        self._sockets = []
        withdraw_endpoint(self.run_dir)

