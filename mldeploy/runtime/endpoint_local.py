"""One v2 online endpoint served on this machine: a scorer per deployment (its image's build
context, its own worker count and request timeout) behind one nginx that splits, mirrors, pins,
authenticates and limits as the endpoint does (the one gateway renderer, render/gateway.py, from
plan/gateway.py's endpoint_gateway). Everything is decided in its plan (plan/serve.py).

    server = LocalEndpoint(plan_serve_endpoint("diabetes", service), contexts, envs, run_dir, port=0)
    endpoint = server.start()      # every deployment ready; endpoint.json written for `mldeploy test`
    server.check()                 # restarts a child that died
    server.swap_image("diabetes", context, env, timeout=120)  # `serve --reload`: its deployments' new scorers
    server.stop()
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from mldeploy.plan.gateway import GatewaySpec, Upstream
from mldeploy.plan.serve import EndpointServePlan
from mldeploy.render.build_context import BuildContext
from mldeploy.runtime.env import ScoringEnv
from mldeploy.contract import LIVENESS_PATH, SCORE_PATH, SWAGGER_PATH
from mldeploy.render.gateway import DRAIN_SECONDS, drain_file
from mldeploy.runtime.local import (ENDPOINT_FILE, Endpoint, check_nginx_path, gateway_child, mark_stopping,
                                    new_key, point_socket_link, publish_endpoint, refuse_if_running, reload_gateway,
                                    scorer_child, withdraw_endpoint, write_gateway_files)
from mldeploy.runtime.processes import (Child, find_nginx, listen_socket, listen_unix_socket, socket_dir,
                                        start_and_wait, unix_http_status, wait_until_ok)
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
        # Where the gateway reaches each deployment's scorer: a symbolic link to the socket of the
        # scorer serving it now (as LocalServer's scorer.sock), switched by swap_image.
        self.scorer_sockets: dict[str, Path] = {}
        self.gateway: Child | None = None
        self._sockets: list = []
        self._socket_dir: Path | None = None
        self._serving: dict[str, Path] = {}  # the socket each link leads to now
        self._context_dirs = {dep.name: self.run_dir / dep.name / "context" for dep in plan.deployments}
        self._generation = 0  # scorers started by swap_image (`serve --reload`)

    def spec(self) -> GatewaySpec:
        return self.plan.gateway_at(run_dir=str(self.run_dir / "gateway"), listen_port=self.port,
                                    scorers={n: Upstream("127.0.0.1", unix_socket=str(link))
                                             for n, link in self.scorer_sockets.items()})

    def _scorer_socket_path(self, dep_name: str, generation: int) -> Path:
        # Named by the deployment's place, not its name (up to 32 characters): a socket path is short.
        index = [d.name for d in self.plan.deployments].index(dep_name)
        return self._socket_dir / f"{index}-{generation}.sock"

    def start(self, timeout: float = 120.0) -> Endpoint:
        nginx = find_nginx()
        check_nginx_path(self.run_dir)
        refuse_if_running(self.run_dir / ENDPOINT_FILE, f"endpoint {self.name!r}")
        gateway_sock = listen_socket(self.port)
        self._sockets = [gateway_sock]
        self.port = gateway_sock.getsockname()[1]
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # Unix sockets in a short folder of their own (processes.socket_dir: nginx's workers reach it).
        self._socket_dir = socket_dir()
        for index, dep in enumerate(self.plan.deployments):
            context = self.contexts[dep.image]
            context.write(self._context_dirs[dep.name])
            target = self._scorer_socket_path(dep.name, 0)
            sock = listen_unix_socket(target)
            self._sockets.append(sock)
            self.scorer_sockets[dep.name] = self._socket_dir / f"{index}.sock"
            point_socket_link(self.scorer_sockets[dep.name], target)
            self._serving[dep.name] = target
            self.scorers[dep.name] = self._scorer_child(dep, context, self.envs[dep.image], self._context_dirs[dep.name],
                                                        sock)
        spec = self.spec()
        gw_dir = write_gateway_files(spec, self.keys)
        self.gateway = gateway_child(nginx, gw_dir, gateway_sock, self.run_dir / "gateway.log")
        scorers = [(child, self.scorer_sockets[dep], f"the scorer of deployment {dep!r}")
                   for dep, child in self.scorers.items()]
        start_and_wait(scorers, self.gateway, f"http://127.0.0.1:{self.port}{LIVENESS_PATH}", timeout, self.stop)
        endpoint = self.endpoint()
        publish_endpoint(self.run_dir, endpoint)
        return endpoint

    def _scorer_child(self, dep, context: BuildContext, env: ScoringEnv, context_dir: Path, sock) -> Child:
        logs = self.plan.logs_command
        # As Azure ML v2 runs a deployment: AML_APP_ROOT and the working folder are the scoring script's
        # folder, the models beside the code (runtime/local.py v2_deployment_env, with its sources).
        return scorer_child(context, env, context_dir, self.run_dir / dep.name, sock=sock, workers=dep.workers,
                            scoring_timeout_ms=dep.request_timeout_ms, v2_deployment=True,
                            extra_env={**dict(dep.environment),
                                       **({LOGS_COMMAND_ENV: f"{logs} --deployment {dep.name}"} if logs else {})})

    def swap_image(self, image: str, context: BuildContext, env: ScoringEnv, timeout: float) -> float:
        """`serve --reload`: every deployment serving `image` gets a scorer of `context`, started
        beside its running one, as LocalServer.swap_image does it: the gateway drains meanwhile (its
        answers and the requests it passes on say `Connection: close`); once all of them have
        finished init() and at least DRAIN_SECONDS have passed - no nginx worker keeps an idle
        connection to an old scorer then - each deployment's socket link is switched to its new
        scorer, so every request from then on connects to the new code. Then nginx re-reads its
        unchanged config (reload_gateway waits for the old workers: the requests they hold are the
        old scorers' last), and the old scorers stop. Keys, port, split and config stay. StartError:
        the new scorers are stopped, the old ones serve on. Returns the seconds until all were ready."""
        started = time.monotonic()
        self._generation += 1
        new: dict[str, tuple[Child, Path, Path]] = {}  # deployment -> (scorer, its socket, its context)
        drain = Path(drain_file(str(self.run_dir / "gateway")))
        try:
            for dep in (d for d in self.plan.deployments if d.image == image):
                context_dir = self.run_dir / dep.name / f"context.{self._generation}"
                context.write(context_dir)
                sock_path = self._scorer_socket_path(dep.name, self._generation)
                child = self._scorer_child(dep, context, env, context_dir, listen_unix_socket(sock_path))
                new[dep.name] = (child, sock_path, context_dir)
                child.start()
            drain.touch()  # as before any stop of the gateway (render/gateway.py _drain)
            drained_from = time.monotonic()
            for name, (child, sock_path, _) in new.items():
                wait_until_ok(child, str(sock_path), f"the new scorer of deployment {name!r}", timeout,
                              status=lambda path=sock_path: unix_http_status(path, timeout=1.0))
        except BaseException:
            for child, sock_path, context_dir in new.values():
                child.stop()
                sock_path.unlink(missing_ok=True)
                shutil.rmtree(context_dir, ignore_errors=True)
            drain.unlink(missing_ok=True)
            raise
        ready_s = time.monotonic() - started
        time.sleep(max(0.0, drained_from + DRAIN_SECONDS - time.monotonic()))
        for name, (_, sock_path, _) in new.items():
            point_socket_link(self.scorer_sockets[name], sock_path)
        reload_gateway(self.gateway, max(d.request_timeout_ms for d in self.plan.deployments))
        drain.unlink(missing_ok=True)
        old = [(self.scorers[name], self._serving[name], self._context_dirs[name]) for name in new]
        for name, (child, sock_path, context_dir) in new.items():
            self.scorers[name], self._serving[name], self._context_dirs[name] = child, sock_path, context_dir
        for child, sock_path, context_dir in old:
            child.stop()
            sock_path.unlink(missing_ok=True)  # gunicorn and granian remove it; a killed one may not
            shutil.rmtree(context_dir, ignore_errors=True)
        self.contexts[image], self.envs[image] = context, env
        return ready_s

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

