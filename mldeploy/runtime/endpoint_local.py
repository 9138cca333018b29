"""One v2 online endpoint served on this machine: a scorer per deployment (its image's build
context, its own worker count and request timeout) behind one nginx that splits, mirrors, pins,
authenticates and limits as the endpoint does (the one gateway renderer, render/gateway.py, from
plan/gateway.py's endpoint_gateway). Everything is decided in its plan (plan/serve.py).

    server = LocalEndpoint(plan_serve_endpoint("diabetes", service), contexts, envs, run_dir, port=0)
    endpoint = server.start()      # every deployment ready; endpoint.json written for `mldeploy test`
    server.check()                 # restarts a child that died
    server.swap_images({"diabetes": (context, env)}, timeout=120)  # `serve --reload` (swap.py)
    server.stop()
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Mapping

from mldeploy.plan.gateway import GatewaySpec, Upstream
from mldeploy.plan.serve import EndpointServePlan
from mldeploy.render.build_context import BuildContext
from mldeploy.runtime.env import ScoringEnv
from mldeploy.contract import LIVENESS_PATH, SCORE_PATH, SWAGGER_PATH
from mldeploy.runtime.local import (ENDPOINT_FILE, Endpoint, check_nginx_path, gateway_child, mark_stopping,
                                    new_key, publish_endpoint, refuse_if_running, reload_gateway, scorer_child,
                                    withdraw_endpoint, write_gateway_files)
from mldeploy.runtime.processes import Child, find_nginx, listen_socket, socket_dir, start_and_wait
from mldeploy.runtime.swap import GatewaySwap, ScorerSocket, swap_one_way
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
        # Where the gateway reaches each deployment's scorer, and which scorer serves it now: a symbolic
        # link to that scorer's socket (as LocalServer's scorer.sock), switched by swap_images (swap.py).
        self._places: dict[str, ScorerSocket] = {}
        self.gateway: Child | None = None
        self._sockets: list = []
        self._socket_dir: Path | None = None

    @property
    def scorers(self) -> dict[str, Child]:
        """Each deployment's scorer serving now."""
        return {name: place.child for name, place in self._places.items() if place.child is not None}

    @property
    def scorer_sockets(self) -> dict[str, Path]:
        """The socket link the gateway reaches each deployment's scorer through."""
        return {name: place.link for name, place in self._places.items()}

    def spec(self) -> GatewaySpec:
        return self.plan.gateway_at(run_dir=str(self.run_dir / "gateway"), listen_port=self.port,
                                    scorers={n: Upstream("127.0.0.1", unix_socket=str(link))
                                             for n, link in self.scorer_sockets.items()})

    def start(self, timeout: float = 120.0) -> Endpoint:
        nginx = find_nginx()
        check_nginx_path(self.run_dir)
        refuse_if_running(self.run_dir / ENDPOINT_FILE, f"endpoint {self.name!r}")
        try:
            self._prepare(nginx)
        except BaseException:
            # A failure before any process runs (a context that cannot be written, a socket that cannot
            # be bound): the sockets and their folder go with it, as after a start that fails later.
            self.stop()
            raise
        scorers = [(child, self.scorer_sockets[dep], f"the scorer of deployment {dep!r}")
                   for dep, child in self.scorers.items()]
        start_and_wait(scorers, self.gateway, f"http://127.0.0.1:{self.port}{LIVENESS_PATH}", timeout, self.stop)
        endpoint = self.endpoint()
        publish_endpoint(self.run_dir, endpoint)
        return endpoint

    def _prepare(self, nginx: str) -> None:
        """Everything before the processes start: the sockets, the deployments' build contexts and
        scorer children, the gateway's files and child."""
        gateway_sock = listen_socket(self.port)
        self._sockets = [gateway_sock]
        self.port = gateway_sock.getsockname()[1]
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # Unix sockets in a short folder of their own (processes.socket_dir: nginx's workers reach it).
        self._socket_dir = socket_dir()
        for index, dep in enumerate(self.plan.deployments):
            # Named by the deployment's place, not its name (up to 32 characters): a socket path is short.
            place = self._places[dep.name] = ScorerSocket(self._socket_dir, f"{index}.sock", f"{index}-",
                                                          self.run_dir / dep.name)
            context = self.contexts[dep.image]
            context.write(place.context_dir)
            sock = place.listen()
            self._sockets.append(sock)
            place.child = self._scorer_child(dep, context, self.envs[dep.image], place.context_dir, sock)
        spec = self.spec()
        gw_dir = write_gateway_files(spec, self.keys)
        self.gateway = gateway_child(nginx, gw_dir, gateway_sock, self.run_dir / "gateway.log")

    def _scorer_child(self, dep, context: BuildContext, env: ScoringEnv, context_dir: Path, sock) -> Child:
        logs = self.plan.logs_command
        # As Azure ML v2 runs a deployment: AML_APP_ROOT and the working folder are the scoring script's
        # folder, the models beside the code (runtime/local.py v2_deployment_env, with its sources).
        return scorer_child(context, env, context_dir, self.run_dir / dep.name, sock=sock, workers=dep.workers,
                            scoring_timeout_ms=dep.request_timeout_ms, v2_deployment=True,
                            extra_env={**dict(dep.environment),
                                       **({LOGS_COMMAND_ENV: f"{logs} --deployment {dep.name}"} if logs else {})})

    def swap_images(self, changes: Mapping[str, tuple[BuildContext, ScoringEnv]], timeout: float) -> float:
        """`serve --reload`: every deployment serving an image of `changes` (image -> (its new build
        context, environment)) gets a scorer of it, started beside its running one; once all of them
        have finished init(), all are switched to together, one way (swap.py swap_one_way, as
        LocalServer.swap_images). Keys, port, split and config stay. StartError naming the deployment
        whose new scorer failed: every new scorer is stopped, nothing is switched, the old ones serve
        on. Returns the seconds until all were ready."""
        return swap_one_way([lambda: self.next_scorers(changes)], timeout)

    def next_scorers(self, changes: Mapping[str, tuple[BuildContext, ScoringEnv]]) -> GatewaySwap:
        """A reload's new scorers, one for each deployment serving an image of `changes`, started
        behind the endpoint's gateway (swap.py)."""
        def adopt() -> None:
            for image, (context, env) in changes.items():
                self.contexts[image], self.envs[image] = context, env

        timeout_ms = max(d.request_timeout_ms for d in self.plan.deployments)
        swap = GatewaySwap(self.run_dir / "gateway", lambda: reload_gateway(self.gateway, timeout_ms), adopt)
        for dep in (d for d in self.plan.deployments if d.image in changes):
            context, env = changes[dep.image]
            swap.start(self._places[dep.name], context,
                       lambda context_dir, sock, dep=dep, context=context, env=env:
                       self._scorer_child(dep, context, env, context_dir, sock),
                       f"the new scorer of deployment {dep.name!r}")
        return swap

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
        mark_stopping(self.run_dir)
        for child in [self.gateway, *self.scorers.values()]:
            if child is not None:
                child.stop()
        for sock in self._sockets:
            sock.close()
        self._sockets = []
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None
        withdraw_endpoint(self.run_dir)

