"""What `mldeploy serve` runs for one service on this machine, decided from its settings before
anything starts: auth, the one TLS rule's answer, the scorer's workers and timeout, the cap on
requests in flight and the gateway's limits (`ServePlan`); for a v2 online endpoint, every
deployment's scorer and the front door's routing (`EndpointServePlan`). The local runtime
(runtime/local.py, endpoint_local.py) takes these plans and never reads settings; where the
gateway listens and which scorers it reaches are known only once the processes' sockets exist,
so the runtime places the plan's gateway there (`gateway_at`)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from mldeploy.config.service import ServiceSettings
from mldeploy.contract import GATEWAY_PORT, KEYS_MAP_NAME
from mldeploy.plan.gateway import (LOCAL_ERROR_ANSWERS_LOG, GatewaySpec, TlsFiles, Upstream, endpoint_gateway,
                                   service_gateway)
from mldeploy.plan.endpoint import deployment_workers
from mldeploy.plan.scorer import UNBATCHED, WorkerLoad, scorer_workers, user_env
from mldeploy.plan.tls import serves_tls

# Where the plan's gateway is before the runtime places it (gateway_at replaces every path and
# every scorer address).
_UNPLACED = "/unplaced"
_UNPLACED_SCORER = Upstream("127.0.0.1", 1)


@dataclass(frozen=True)
class PemPair:
    """A certificate and key from the settings, as Secret values (text never in a repr): a
    `secure:` value read offline is only a placeholder (Pulumi decrypts it), so the runtime
    checks it is PEM before serving it."""

    certificate: Any
    key: Any


@dataclass(frozen=True)
class ServePlan:
    """One service as `serve` runs it: a scorer and a gateway on 127.0.0.1."""

    name: str
    auth_enabled: bool
    tls_on: bool  # plan/tls.py's answer, with the stack's `production`
    tls: PemPair | None  # the settings' certificate and key, when they give one
    workers: int
    scoring_timeout_ms: int
    # Requests in flight beyond which the gateway answers 503 (AKS: replicaMaxConcurrentRequests).
    max_concurrent: int | None
    port: int  # the gateway's port when `serve --port` does not say
    gateway: GatewaySpec  # auth, limits, CORS and workers from the settings, not yet placed
    images: tuple[str, ...] = ()  # the image its scorer serves (one), as EndpointServePlan.images
    environment: tuple[tuple[str, str], ...] = ()  # the stack's environmentVariables (image, then service)

    def gateway_at(self, *, run_dir: str, listen_port: int, upstream: Upstream, tls: TlsFiles | None,
                   max_conns: int | None, hop_socket: str) -> GatewaySpec:
        """The plan's gateway placed: its folder, its port on 127.0.0.1, the scorer it reaches,
        the TLS files nginx reads (None: plain HTTP), the cap on requests per scorer and its own
        socket for chunked bodies (a short path: GatewaySpec.hop_socket)."""
        return replace(self.gateway, run_dir=run_dir, listen_port=listen_port, upstreams=(upstream,),
                       hop_socket_file=hop_socket,
                       keys_file=f"{run_dir}/{KEYS_MAP_NAME}" if self.auth_enabled else None,
                       tls_cert_file=tls.cert if tls else None, tls_key_file=tls.key if tls else None,
                       tls_reload=tls.reload if tls else False, max_conns=max_conns)


def plan_serve(name: str, service: ServiceSettings, *, production: bool, port: int = GATEWAY_PORT,
               max_concurrent: int | None = None, load: WorkerLoad = UNBATCHED,
               environment: tuple[tuple[str, str], ...] = ()) -> ServePlan:
    """The serve plan of service `name`; `port` and `max_concurrent` are its target's (the table's
    serve hook gives them: a local service's `port`, an AKS service's replicaMaxConcurrentRequests);
    `load`: how its image's scorer workers take requests (plan/batching.py service_load)."""
    return ServePlan(
        name=name,
        auth_enabled=service.auth_enabled,
        tls_on=serves_tls(service, production),
        tls=PemPair(service.tls.certificate, service.tls.key) if service.tls is not None else None,
        workers=scorer_workers(service, load),
        scoring_timeout_ms=service.scoring_timeout_ms,
        max_concurrent=max_concurrent,
        port=port,
        gateway=service_gateway(service, run_dir=_UNPLACED, listen_host="127.0.0.1", load=load,
                                error_answers_log=LOCAL_ERROR_ANSWERS_LOG),
        images=(service.image,),
        environment=environment,
    )


@dataclass(frozen=True)
class DeploymentServe:
    """One deployment of a local endpoint: its image's scorer, with its own workers, timeout and
    environment."""

    name: str
    image: str
    workers: int
    request_timeout_ms: int
    environment: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class EndpointServePlan:
    """A v2 online endpoint as `serve` rehearses it: a scorer per deployment behind one gateway
    that splits, mirrors, pins and answers as the endpoint's target does (plan/front_door.py)."""

    name: str
    deployments: tuple[DeploymentServe, ...]
    images: tuple[str, ...]  # each image the deployments serve, once
    logs_command: str  # + ` --deployment D`: named in a deployment's model-error bodies
    gateway: GatewaySpec  # the front door's routing, not yet placed

    def gateway_at(self, *, run_dir: str, listen_port: int, scorers: dict[str, Upstream]) -> GatewaySpec:
        """The front door placed: its folder, its port on 127.0.0.1, each deployment's scorer."""
        routing = self.gateway.endpoint
        routes = tuple(replace(r, upstream=scorers[r.name]) for r in routing.routes)
        return replace(self.gateway, run_dir=run_dir, listen_port=listen_port, keys_file=f"{run_dir}/{KEYS_MAP_NAME}",
                       endpoint=replace(routing, routes=routes))


def plan_serve_endpoint(name: str, service: Any, *, logs_command: str = "",
                        loads: Mapping[str, WorkerLoad] | None = None,
                        image_env: Mapping[str, Mapping[str, str]] | None = None) -> EndpointServePlan:
    """The serve plan of online endpoint `name`. Locally every auth mode is served with keys
    (tokens need Azure) and each deployment is one instance; `loads`: each image's WorkerLoad;
    `image_env`: each image's `environmentVariables`, under a deployment's own."""
    loads = loads or {}
    deployments = tuple(DeploymentServe(n, d.image, deployment_workers(d, loads.get(d.image, UNBATCHED)),
                                        d.request_timeout_ms,
                                        user_env((image_env or {}).get(d.image, {}), d.environment_variables))
                        for n, d in sorted(service.deployments.items()))
    gateway = endpoint_gateway(service, run_dir=_UNPLACED, listen_port=0, logs_command=logs_command or None,
                               scorers={d.name: _UNPLACED_SCORER for d in deployments})
    return EndpointServePlan(name=name, deployments=deployments, images=tuple(sorted({d.image for d in deployments})),
                             logs_command=logs_command, gateway=gateway)
