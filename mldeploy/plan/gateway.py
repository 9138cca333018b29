"""The gateway of one service, decided from its settings: auth, body and time limits, CORS,
nginx worker processes, TLS files, where it listens and which scorers it reaches. Every target
(local, ACI, AKS), `mldeploy serve` and the local rehearsal of a v2 online endpoint build their
GatewaySpec here, with everything given up front; the one renderer (render/gateway.py) only
turns a GatewaySpec into nginx.conf."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mldeploy.config.service import ServiceSettings
from mldeploy.plan.front_door import FrontDoor
from mldeploy.plan.memory import body_limit_mb
from mldeploy.plan.scorer import UNBATCHED, WorkerLoad
from mldeploy.contract import (CONTAINER_CONFIG_DIR, CONTAINER_RUN_DIR, CONTAINER_TLS_DIR, GATEWAY_PORT, HOST_RE,
                               KEYS_MAP_NAME, ORIGIN_RE, SCORER_PORT, TLS_CERT_NAME, TLS_KEY_NAME, UNIX_SOCKET_PATH_MAX,
                               UNIX_SOCKET_RE)


@dataclass(frozen=True)
class Upstream:
    """One scorer behind the gateway; `weight` is its share of the traffic. `unix_socket`: the
    scorer listens on that Unix socket instead of host:port (same machine: no TCP connection
    set up and torn down per request, as the scorer closes every connection)."""

    host: str
    port: int = SCORER_PORT
    weight: int = 1
    unix_socket: str | None = None

    @property
    def address(self) -> str:
        return f"unix:{self.unix_socket}" if self.unix_socket else f"{self.host}:{self.port}"


HOP_SOCKET = "gateway.sock"  # the gateway's own socket's file name (GatewaySpec.hop_socket)


# The local gateway's errors-only access log: nginx's stderr, which `serve` writes to gateway.log
# (runtime/local.py). nginx's master opens it (/dev/stderr: the file its stderr is).
LOCAL_ERROR_ANSWERS_LOG = "/dev/stderr"


@dataclass(frozen=True)
class GatewaySpec:
    """Everything nginx.conf depends on. Frozen: built once per service (plan/gateway.py), then rendered."""

    listen_port: int
    upstreams: tuple[Upstream, ...]
    run_dir: str
    auth_enabled: bool = True
    keys_file: str | None = None
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    max_body_mb: float = 100.0
    scoring_timeout_ms: int = 60_000
    cors_origins: tuple[str, ...] = ()
    worker_processes: int = 1
    listen_host: str = "0.0.0.0"
    access_log: str | None = None  # a path, "/dev/stdout" in containers; None: off
    # With no access_log: the answers of 400 and above are logged here, one line each led by the
    # time (render/gateway.py ERROR_ANSWERS_FORMAT), so `mldeploy logs` shows a refused key or a 502
    # on the local target while a 200 costs no write. None: off.
    error_answers_log: str | None = None
    keepalive_connections: int = 32
    readiness_timeout_ms: int = 2_000
    # Requests one upstream server takes at once; one more gets 503 (None: no cap, they queue).
    max_conns: int | None = None
    # Read the certificate at each TLS handshake instead of once at start: a certificate renewed
    # in place (cert-manager rewrites its Secret, the kubelet updates the mounted files) is
    # served without restarting nginx.
    tls_reload: bool = False
    # An ingress in front of gateways that check the keys themselves (`serve --containers` of a
    # container app's revisions): the Authorization header goes on to them, as Azure's ingress
    # passes it. Otherwise the key stays at the nginx that checked it.
    passes_authorization: bool = False
    # Set for the local rehearsal of a v2 online endpoint: its deployments' routing replaces
    # `upstreams` (which stays empty).
    endpoint: "EndpointRouting | None" = None
    # The upstream servers (addresses and weights) live in this file, which nginx.conf includes,
    # instead of nginx.conf itself: a weight change rewrites only that file (an AKS canary's
    # traffic ConfigMap) and a reload picks it up; nginx.conf does not depend on the weights.
    upstreams_file: str | None = None
    # The gateway's own socket for chunked bodies (render/gateway.py); None: HOP_SOCKET in run_dir
    # (a container's short /tmp/nginx). The local runners give a short path of their own
    # (runtime/processes.py socket_dir): a project's run folder may be too deep for a socket.
    hop_socket_file: str | None = None

    @property
    def hop_socket(self) -> str | None:
        """Where nginx listens for its own hop (a service's gateway; an endpoint's has none)."""
        if self.endpoint is not None:
            return None
        return self.hop_socket_file or f"{self.run_dir}/{HOP_SOCKET}"

    @property
    def pid_file(self) -> str:
        return f"{self.run_dir}/nginx.pid"

    @property
    def temp_dir(self) -> str:
        return f"{self.run_dir}/tmp"

    @property
    def tls_enabled(self) -> bool:
        return self.tls_cert_file is not None

    def __post_init__(self) -> None:
        if self.endpoint is not None:
            if self.upstreams:
                raise ValueError("an endpoint's gateway reaches its deployments' scorers, not `upstreams`")
            _check_upstreams(tuple(r.upstream for r in self.endpoint.routes))
        elif not self.upstreams:
            raise ValueError("a gateway needs at least one upstream scorer")
        else:
            _check_upstreams(self.upstreams)
            if not any(u.weight for u in self.upstreams):
                raise ValueError("at least one upstream needs a weight above 0")
        if self.upstreams_file is not None and not UNIX_SOCKET_RE.match(self.upstreams_file):
            raise ValueError(f"invalid upstreams file {self.upstreams_file!r}: an absolute path without spaces, ';' or braces")
        hop = self.hop_socket
        if hop is not None and (len(hop) > UNIX_SOCKET_PATH_MAX or not UNIX_SOCKET_RE.match(hop)):
            # nginx would refuse to start ("too long path in the unix domain socket").
            raise ValueError(f"the gateway's own socket path {hop!r} has {len(hop)} characters: a Unix socket path "
                             f"holds at most {UNIX_SOCKET_PATH_MAX} (give hop_socket_file a shorter one)")
        if self.auth_enabled and not self.keys_file:
            raise ValueError("auth is enabled but no keys_file is given")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("TLS needs both a certificate file and a key file")
        for origin in self.cors_origins:
            if not ORIGIN_RE.match(origin):
                raise ValueError(f"invalid CORS origin {origin!r}: use scheme://host[:port] or '*'")
        if self.worker_processes < 1:
            raise ValueError("worker_processes must be >= 1")
        if self.max_conns is not None and self.max_conns < 1:
            raise ValueError("max_conns must be >= 1 (or None: no cap)")


def _check_upstreams(upstreams: tuple[Upstream, ...]) -> None:
    # Written into nginx.conf: only what nginx reads as one server address.
    for u in upstreams:
        if not HOST_RE.match(u.host) or not 0 < u.port < 65536 or not 0 <= u.weight <= 1000:
            raise ValueError(f"invalid upstream {u}")
        if u.unix_socket is not None and not UNIX_SOCKET_RE.match(u.unix_socket):
            raise ValueError(f"invalid upstream socket path {u.unix_socket!r}: an absolute path without spaces, ';' or braces")


# Written into nginx.conf (location names, a `return` string): deployment names' and CLI words' alphabet only.
ROUTE_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
_LOGS_COMMAND_RE = re.compile(r"^[A-Za-z0-9 ._-]*$")


@dataclass(frozen=True)
class EndpointRoute:
    """One deployment behind a local endpoint's front door: its scorer, its share of the live
    traffic (or of the mirror), its timeout and how many requests it admits at once."""

    name: str
    upstream: Upstream
    traffic_percent: int
    mirror_percent: int
    request_timeout_ms: int
    admitted: int  # requests at once; one more gets the front door's capacity status
    logs_command: str = ""  # named in its model-error body (`mldeploy logs ... --deployment <name>`)

    def __post_init__(self) -> None:
        if not ROUTE_NAME_RE.match(self.name) or not _LOGS_COMMAND_RE.match(self.logs_command) or self.admitted < 1:
            raise ValueError(f"invalid deployment route {self}")


@dataclass(frozen=True)
class EndpointRouting:
    """How a local endpoint routes /score: split, mirror and pin per its deployments, and answers
    as its target's front door does (plan/front_door.py). The traffic rules (sum 100, one mirror)
    are the endpoint family's check_endpoint (mldeploy/targets/online_endpoint/plan.py), run when
    the stack is loaded."""

    routes: tuple[EndpointRoute, ...]
    front_door: FrontDoor

    @property
    def live(self) -> tuple[EndpointRoute, ...]:
        return tuple(r for r in self.routes if r.traffic_percent)

    @property
    def mirror(self) -> EndpointRoute | None:
        return next((r for r in self.routes if r.mirror_percent), None)


class FrontedByGateway:
    """A service plan whose requests pass its gateway (`gateway`): auth and TLS are the gateway's."""

    gateway: GatewaySpec

    @property
    def auth_enabled(self) -> bool:
        return self.gateway.auth_enabled

    @property
    def tls(self) -> bool:
        return self.gateway.tls_enabled


LOCAL_SCORER = (Upstream("127.0.0.1", SCORER_PORT),)
CONTAINER_KEYS_FILE = f"{CONTAINER_CONFIG_DIR}/{KEYS_MAP_NAME}"


@dataclass(frozen=True)
class TlsFiles:
    """Where nginx reads the certificate and key. `reload`: at each TLS handshake, so a
    certificate renewed in place is served without a restart (render/gateway.py)."""

    cert: str
    key: str
    reload: bool = False

    @classmethod
    def in_dir(cls, folder: str, reload: bool = False) -> "TlsFiles":
        """`<folder>/tls.crt` and `<folder>/tls.key`: a Secret or secret volume's file names."""
        return cls(f"{folder}/{TLS_CERT_NAME}", f"{folder}/{TLS_KEY_NAME}", reload)


def gateway_workers(cpu_cores: float) -> int:
    """nginx workers for `cpu_cores` cores: nginx needs a fraction of a core at the scorer's
    rates (measured here), so one worker up to 4 cores, then two."""
    return 1 if cpu_cores <= 4 else 2


def service_gateway(
    service: ServiceSettings,
    *,
    run_dir: str,
    listen_port: int = GATEWAY_PORT,
    upstreams: tuple[Upstream, ...] = LOCAL_SCORER,
    keys_file: str | None = None,
    tls: TlsFiles | None = None,
    listen_host: str = "0.0.0.0",
    access_log: str | None = None,
    error_answers_log: str | None = None,
    cpu_cores: float | None = None,
    max_conns: int | None = None,
    upstreams_file: str | None = None,
    load: WorkerLoad = UNBATCHED,
) -> GatewaySpec:
    """The gateway of `service` (auth, limits, CORS and cores from its settings). `keys_file`
    defaults to `<run_dir>/keys.map`; `tls`: None serves plain HTTP, whatever the settings say
    (the caller decides where the certificate comes from); `cpu_cores`: the gateway's own share
    when it runs beside the scorer (AKS sidecar), else the service's; `max_conns` caps the
    requests in flight per upstream server (beyond it: 503); `upstreams_file`: the servers are
    rendered to that file (render_upstreams) and nginx.conf includes it; `load`: how the scorer's
    workers take requests (the body limit's memory rule counts a batch per worker)."""
    workers = gateway_workers(cpu_cores if cpu_cores is not None else service.cpu_cores)
    return GatewaySpec(
        listen_port=listen_port,
        upstreams=tuple(upstreams),
        run_dir=run_dir,
        auth_enabled=service.auth_enabled,
        keys_file=(keys_file or f"{run_dir}/{KEYS_MAP_NAME}") if service.auth_enabled else None,
        tls_cert_file=tls.cert if tls is not None else None,
        tls_key_file=tls.key if tls is not None else None,
        tls_reload=tls.reload if tls is not None else False,
        max_body_mb=body_limit_mb(service, load),
        scoring_timeout_ms=service.scoring_timeout_ms,
        cors_origins=tuple(service.cors.allowed_origins) if service.cors is not None else (),
        worker_processes=workers,
        listen_host=listen_host,
        access_log=access_log,
        error_answers_log=error_answers_log,
        max_conns=max_conns,
        upstreams_file=upstreams_file,
    )


def container_gateway(service: ServiceSettings, *, listen_port: int,
                      upstreams: tuple[Upstream, ...] = LOCAL_SCORER, load: WorkerLoad = UNBATCHED) -> GatewaySpec:
    """The gateway of `service` in a container of the official nginx image (ACI, Docker): config
    and keys mounted under CONTAINER_CONFIG_DIR, the TLS files (when the settings give them)
    under CONTAINER_TLS_DIR, everything nginx writes under /tmp (read-only root filesystem)."""
    return service_gateway(service, run_dir=CONTAINER_RUN_DIR, listen_port=listen_port, upstreams=upstreams,
                           keys_file=CONTAINER_KEYS_FILE,
                           tls=TlsFiles.in_dir(CONTAINER_TLS_DIR) if service.tls is not None else None,
                           access_log="/dev/stdout", load=load)


def endpoint_gateway(service: Any, *, run_dir: str, listen_port: int, scorers: dict[str, Upstream],
                     logs_command: str | None = None) -> GatewaySpec:
    """The local rehearsal of a v2 online endpoint's front door: one nginx on 127.0.0.1 in front
    of `scorers` (one per deployment; locally each deployment is one instance), keys always on
    (tokens need Azure), the target's statuses (`service`: an online endpoint's settings, whose
    model gives its front door: mldeploy/targets/online_endpoint/settings.py). `logs_command` +
    ` --deployment D` is named in a model error's body."""
    door = service.front_door
    routes = tuple(EndpointRoute(
        name=name, upstream=scorers[name], traffic_percent=d.traffic_percent, mirror_percent=d.mirror_percent,
        request_timeout_ms=d.request_timeout_ms, admitted=door.admitted(d.max_concurrent_requests_per_instance),
        logs_command=f"{logs_command} --deployment {name}" if logs_command else "")
        for name, d in sorted(service.deployments.items()))
    return GatewaySpec(listen_port=listen_port, upstreams=(), run_dir=run_dir, listen_host="127.0.0.1",
                       keys_file=f"{run_dir}/{KEYS_MAP_NAME}", error_answers_log=LOCAL_ERROR_ANSWERS_LOG,
                       scoring_timeout_ms=max(r.request_timeout_ms for r in routes),
                       endpoint=EndpointRouting(routes, door))
