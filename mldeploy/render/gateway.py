"""The gateway in front of every scorer: one nginx config, rendered from the service settings,
the same for the local target, ACI and AKS. Pure functions, no Pulumi, no I/O.

Interface (what components and the local runner use):

    spec = gateway_spec(service, listen_port=8890, upstreams=(Upstream("127.0.0.1", 5001),),
                        keys_file="/etc/mldeploy/keys/keys.map", run_dir="/tmp/nginx",
                        tls_dir="/etc/mldeploy/tls")
    render_nginx_conf(spec)            # nginx.conf: no secret in it, safe to print and commit
    render_keys_map(primary, secondary)  # the secret part: mount it at spec.keys_file (0600 /
                                         # secret volume); both keys valid, so keys rotate freely

Routes served by the gateway on `listen_port`:
  /score          -> scorer (any method), `Authorization: Bearer <primary|secondary>` required
                     when auth is on (else 401 + JSON body); the key is not passed on
  /swagger.json   -> scorer (no key needed: it documents the API and holds no secret)
  /healthz        liveness: 200 while nginx runs
  /readyz         readiness: the scorer's own `GET /` (200 only when init() has finished)
  anything else   404 (JSON)
Errors nginx itself produces have JSON bodies: 401, 404, 413 (body > max_body_mb),
502 (scorer down), 503 + Retry-After (every scorer already runs `max_conns` requests: AKS's
replicaMaxConcurrentRequests), 504 (no answer within scoring_timeout_ms).

`upstreams` carry weights: several scorers (e.g. blue/green model versions on AKS) share the
traffic in proportion to their weights. The files nginx writes (pid, temp bodies) all go to
`run_dir`, so it runs as any user on a read-only root filesystem.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mldeploy.contract import (CONTAINER_CONFIG_DIR, CONTAINER_RUN_DIR, CONTAINER_TLS_DIR, GATEWAY_PORT, HOST_RE, KEY_RE, KEYS_MAP_NAME,
                               LIVENESS_PATH, ORIGIN_RE, READINESS_PATH, SCORE_PATH, SCORER_PORT, SWAGGER_PATH,
                               TLS_CERT_NAME, TLS_KEY_NAME, UNIX_SOCKET_RE)

if TYPE_CHECKING:
    from mldeploy.config.service import ServiceSettings

UPSTREAM_NAME = "mldeploy_scorer"
RETRY_AFTER_S = 1  # a capacity 503 frees up when one request finishes: retry soon
CAPACITY_MESSAGE = "the service is at capacity, retry later"
TLS_RELOAD_VAR = "$mldeploy_tls_reload"  # always empty; its presence makes nginx load TLS files per handshake


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


@dataclass(frozen=True)
class GatewaySpec:
    """Everything nginx.conf depends on. Frozen: built once from the settings, then rendered."""

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
    keepalive_connections: int = 32
    readiness_timeout_ms: int = 2_000
    # Requests one upstream server takes at once; one more gets 503 (None: no cap, they queue).
    max_conns: int | None = None
    # Read the certificate at each TLS handshake instead of once at start: a certificate renewed
    # in place (cert-manager rewrites its Secret, the kubelet updates the mounted files) is
    # served without restarting nginx.
    tls_reload: bool = False
    extra_headers: tuple[tuple[str, str], ...] = field(default=())

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
        if not self.upstreams:
            raise ValueError("a gateway needs at least one upstream scorer")
        for u in self.upstreams:
            if not HOST_RE.match(u.host) or not 0 < u.port < 65536 or not 0 <= u.weight <= 1000:
                raise ValueError(f"invalid upstream {u}")
            if u.unix_socket is not None and not UNIX_SOCKET_RE.match(u.unix_socket):
                raise ValueError(f"invalid upstream socket path {u.unix_socket!r}: an absolute path without spaces, ';' or braces")
        if not any(u.weight for u in self.upstreams):
            raise ValueError("at least one upstream needs a weight above 0")
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


def worker_counts(cpu_cores: float, worker_count: int | None = None) -> tuple[int, int]:
    """(scorer workers, gateway workers) for a container or machine with `cpu_cores` cores.

    FACTS: gunicorn sync workers peak at one per core (4 on 2 cores is worse than 2); nginx needs
    a fraction of a core at the scorer's rates, so one gateway worker up to 4 cores."""
    scorer = worker_count or max(1, int(cpu_cores))
    gateway = 1 if cpu_cores <= 4 else 2
    return scorer, gateway


def gateway_spec(
    service: "ServiceSettings",
    *,
    run_dir: str,
    listen_port: int = GATEWAY_PORT,
    upstreams: tuple[Upstream, ...] = (Upstream("127.0.0.1", SCORER_PORT),),
    keys_file: str | None = None,
    tls_dir: str | None = None,
    listen_host: str = "0.0.0.0",
    access_log: str | None = None,
    cpu_cores: float | None = None,
    max_conns: int | None = None,
) -> GatewaySpec:
    """The gateway for `service` (common ServiceSettings: auth, TLS, CORS, limits, cores).

    `keys_file` defaults to `<run_dir>/keys.map`; TLS files are `<tls_dir>/tls.crt|tls.key`;
    `max_conns` caps the requests in flight per upstream server (beyond it: 503)."""
    tls = getattr(service, "tls", None)
    if tls is not None and tls_dir is None:
        raise ValueError("the service configures TLS: pass tls_dir (where tls.crt / tls.key are mounted)")
    cors = getattr(service, "cors", None)
    _, gateway_workers = worker_counts(cpu_cores if cpu_cores is not None else service.cpu_cores,
                                       service.worker_count)
    return GatewaySpec(
        listen_port=listen_port,
        upstreams=tuple(upstreams),
        run_dir=run_dir,
        auth_enabled=service.auth_enabled,
        keys_file=(keys_file or f"{run_dir}/{KEYS_MAP_NAME}") if service.auth_enabled else None,
        tls_cert_file=f"{tls_dir}/{TLS_CERT_NAME}" if tls is not None else None,
        tls_key_file=f"{tls_dir}/{TLS_KEY_NAME}" if tls is not None else None,
        max_body_mb=service.request_body_limit_mb,
        scoring_timeout_ms=service.scoring_timeout_ms,
        cors_origins=tuple(cors.allowed_origins) if cors is not None else (),
        worker_processes=gateway_workers,
        listen_host=listen_host,
        access_log=access_log,
        max_conns=max_conns,
    )


def _json_return(status: int, message: str) -> str:
    body = json.dumps({"error": message, "status": status})
    return f"default_type application/json; return {status} '{body}';"


def _escape_key(key: str) -> str:
    # A case-sensitive regex (`~`): plain map strings match ignoring case, which would weaken keys.
    return "".join(c if c.isalnum() else "\\x{%02x}" % ord(c) for c in key)


def render_keys_map(primary: str, secondary: str) -> str:
    """The secret part of the gateway: the accepted Authorization header values, one per key."""
    lines = ["# mldeploy gateway keys: SECRET. Both keys are valid (rotate one at a time)."]
    for key in (primary, secondary):
        if not KEY_RE.match(key):
            raise ValueError("a service key must be 16-256 characters of A-Z a-z 0-9 . _ ~ + / = -")
        # RFC 7235 §2.1: the auth-scheme is case-insensitive and followed by 1*SP; the key is not.
        lines.append(f'"~^(?i:bearer)\\x{{20}}+{_escape_key(key)}$" 1;')
    return "\n".join(lines) + "\n"


def render_nginx_conf(spec: GatewaySpec) -> str:
    """nginx.conf for `spec` (no secret in it: keys and TLS key are separate files)."""
    t = spec.temp_dir
    timeout = f"{spec.scoring_timeout_ms}ms"
    body_kb = max(1, int(spec.max_body_mb * 1024))
    out = [
        "# Generated by mldeploy from the service settings. Edit the stack config, not this file.",
        "daemon off;",
        f"worker_processes {spec.worker_processes};",
        f"pid {spec.pid_file};",
        "error_log stderr warn;",
        "events { worker_connections 1024; }",
        "http {",
        "  server_tokens off;",
        f"  client_body_temp_path {t}/body;",
        f"  proxy_temp_path {t}/proxy;",
        f"  fastcgi_temp_path {t}/fastcgi;",
        f"  uwsgi_temp_path {t}/uwsgi;",
        f"  scgi_temp_path {t}/scgi;",
        f"  access_log {spec.access_log or 'off'};",
        "  default_type application/json;",
        "  keepalive_timeout 75s;",
        # The whole body is read (and size-checked) before the scorer sees it: slow clients
        # cannot hold one of its few sync workers.
        f"  client_max_body_size {body_kb}k;",
        "  client_body_buffer_size 1m;",
        "  proxy_request_buffering on;",
        "",
        f"  upstream {UPSTREAM_NAME} {{",
    ]
    cap = ""
    if spec.max_conns is not None:
        # Without a shared zone each nginx worker would count its own connections.
        out.append(f"    zone {UPSTREAM_NAME} 64k;")
        # max_fails=0: a failing server is never set aside, so "no live upstreams" (the group
        # name in $upstream_addr) means only "every server is at max_conns" - never a dead one.
        cap = f" max_conns={spec.max_conns} max_fails=0"
    for u in spec.upstreams:
        down = " down" if u.weight == 0 else f" weight={u.weight}{cap}"
        out.append(f"    server {u.address}{down};")
    out += [
        f"    keepalive {spec.keepalive_connections};",
        "  }",
    ]
    if spec.max_conns is not None:
        out += [
            "  # nginx answers 502 when no server is below max_conns; that case becomes a 503.",
            f"  map $upstream_addr $mldeploy_at_capacity {{ default 0; {UPSTREAM_NAME} 1; }}",
        ]
    out += [
        "  # Request ids under the names azmlinfsrv 1.5 reads (server/routes.py): x-request-id (the",
        "  # client's, else the gateway's) and the client's own id as x-ms-client-request-id - also",
        "  # when it came as the deprecated x-ms-request-id, which the server still echoes back.",
        '  map $http_x_request_id $mldeploy_request_id { "" $request_id; default $http_x_request_id; }',
        "  map $http_x_ms_client_request_id $mldeploy_client_request_id {",
        '    "" $http_x_ms_request_id; default $http_x_ms_client_request_id;',
        "  }",
    ]
    if spec.auth_enabled:
        out += [
            "  # 1 when the Authorization header carries one of the service keys (the include is",
            "  # the secret part, mounted separately).",
            "  map $http_authorization $mldeploy_authorized {",
            "    default 0;",
            f"    include {spec.keys_file};",
            "  }",
        ]
    if spec.cors_origins:
        out += ["  map $http_origin $mldeploy_cors_origin {", '    default "";']
        for origin in spec.cors_origins:
            out.append("    ~. $http_origin;" if origin == "*" else f'    "{origin}" $http_origin;')
        out += [
            "  }",
            '  map "$request_method:$mldeploy_cors_origin" $mldeploy_preflight {',
            "    default 0;",
            '    "~^OPTIONS:." 1;',
            "  }",
        ]
    if spec.tls_enabled and spec.tls_reload:
        out.append(f'  map "" {TLS_RELOAD_VAR} {{ default ""; }}')
    listen = f"{spec.listen_host}:{spec.listen_port}" + (" ssl" if spec.tls_enabled else "")
    out += [
        "",
        "  server {",
        f"    listen {listen} default_server;",
        "    server_name _;",
    ]
    if spec.tls_enabled:
        # nginx docs (ngx_http_ssl_module, ssl_certificate): with a variable in the file name "a
        # certificate will be loaded for each SSL handshake" (1.15.9+); an empty one changes
        # nothing else. Without it nginx keeps the files it read at start until a reload.
        reload = TLS_RELOAD_VAR if spec.tls_reload else ""
        out += [
            f"    ssl_certificate {spec.tls_cert_file}{reload};",
            f"    ssl_certificate_key {spec.tls_key_file}{reload};",
            "    ssl_protocols TLSv1.2 TLSv1.3;",
            "    ssl_session_cache shared:mldeploy_tls:1m;",
        ]
    out += [
        "    proxy_http_version 1.1;",
        '    proxy_set_header Connection "";',  # lets nginx keep upstream connections open
        "    proxy_set_header Host $http_host;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        "    proxy_set_header X-Request-Id $mldeploy_request_id;",
        "    proxy_set_header X-Ms-Client-Request-Id $mldeploy_client_request_id;",
        '    proxy_set_header X-Ms-Request-Id "";',  # an empty value is not sent: no deprecation warning
        '    proxy_set_header Authorization "";',  # the key stays at the gateway
        "    proxy_connect_timeout 5s;",
        f"    proxy_send_timeout {timeout};",
        f"    proxy_read_timeout {timeout};",
        # A POST is not retried on another upstream: scoring may not be idempotent.
        "    proxy_next_upstream error timeout;",
        "    proxy_hide_header Access-Control-Allow-Origin;",
        "",
        *_error_pages(),
        *_error_locations(spec),
        "",
        f"    location = {LIVENESS_PATH} {{ access_log off; default_type application/json; "
        "return 200 '{\"status\":\"alive\"}'; }",
        f"    location = {READINESS_PATH} {{",
        "      access_log off;",
        f"      proxy_connect_timeout {spec.readiness_timeout_ms}ms;",
        f"      proxy_read_timeout {spec.readiness_timeout_ms}ms;",
        f"      proxy_pass http://{UPSTREAM_NAME}/;",  # the scorer's GET /: 200 once init() is done
        "    }",
        f"    location = {SWAGGER_PATH} {{",
        METHOD_CHECK,
        *_cors_lines(spec, preflight=False),
        f"      proxy_pass http://{UPSTREAM_NAME};",
        "    }",
        f"    location = {SCORE_PATH} {{",
        METHOD_CHECK,
        *_cors_lines(spec, preflight=True),
    ]
    if spec.auth_enabled:
        out.append("      if ($mldeploy_authorized = 0) { return 401; }")
    out += [
        f"      proxy_pass http://{UPSTREAM_NAME};",
        "    }",
        "    location / { return 404; }",
        "  }",
        "}",
    ]
    return "\n".join(out) + "\n"


# nginx's own errors too (a malformed request line 400, TRACE 405, 408, an over-long URI 414,
# headers too large 494 - sent as 400, its internal 500, 505): every error leaves the gateway as
# JSON. They go to internal URIs, not named locations: a request whose request line could not be
# read has no URI, and nginx answers a redirect to a named location with its own HTML 500
# ("empty URI in redirect to named location").
OWN_ERRORS = {
    400: "bad request: the HTTP request is malformed",
    405: "method not allowed: use GET, POST or OPTIONS",
    408: "the request was not received in time",
    414: "the request URI is too long",
    494: "the request headers are too large",
    500: "internal gateway error",
    505: "HTTP version not supported",
}
OWN_ERROR_PREFIX = "/.mldeploy-error/"
ALLOWED_METHODS = "GET, POST, OPTIONS"
# What the scorer routes accept (HEAD with GET); anything else is a JSON 405 with Allow here.
METHOD_CHECK = "      if ($request_method !~ ^(GET|HEAD|POST|OPTIONS)$) { return 405; }"


def _error_pages() -> list[str]:
    lines = []
    for status in sorted({*OWN_ERRORS, 401, 404, 413, 502, 503, 504}):
        if status == 502:
            # `=`: the status is what @e502 returns (503 at capacity); without it nginx keeps 502.
            lines.append("    error_page 502 = @e502;")
        elif status in OWN_ERRORS:
            reply = "=400 " if status == 494 else ""  # 494 is nginx-internal; clients see 400
            lines.append(f"    error_page {status} {reply}{OWN_ERROR_PREFIX}{status};")
        else:
            lines.append(f"    error_page {status} @e{status};")
    return lines


def _error_locations(spec: GatewaySpec) -> list[str]:
    # Browsers only show an error to the page when it carries the CORS headers too.
    cors = ("add_header Access-Control-Allow-Origin $mldeploy_cors_origin always; "
            "add_header Vary Origin always; ") if spec.cors_origins else ""
    errors = {
        401: "missing or invalid key: send Authorization: Bearer <key>",
        404: f"not found: POST to {SCORE_PATH}",
        413: f"request body larger than {spec.max_body_mb:g} MB",
        502: "the scorer is not reachable",
        503: "the scorer is not available",
        504: f"no answer within {spec.scoring_timeout_ms} ms",
        **OWN_ERRORS,
    }
    lines = []
    for status, message in errors.items():
        auth = "add_header WWW-Authenticate 'Bearer' always; " if status == 401 else ""
        if status == 405:
            auth = f"add_header Allow '{ALLOWED_METHODS}' always; "  # RFC 9110 15.5.6: a 405 carries Allow
        capacity = ""
        if status == 502 and spec.max_conns is not None:
            # Inside `if`, add_header replaces the location's: the CORS headers are repeated.
            body = json.dumps({"error": CAPACITY_MESSAGE, "status": 503})
            capacity = (f"if ($mldeploy_at_capacity) {{ add_header Retry-After {RETRY_AFTER_S} always; "
                        f"{cors}return 503 '{body}'; }} ")
        reply = 400 if status == 494 else status
        where = f"= {OWN_ERROR_PREFIX}{status}" if status in OWN_ERRORS else f"@e{status}"
        internal = "internal; " if status in OWN_ERRORS else ""
        lines.append(f"    location {where} {{ {internal}{auth}{capacity}{cors}{_json_return(reply, message)} }}")
    return lines


def _cors_lines(spec: GatewaySpec, preflight: bool) -> list[str]:
    if not spec.cors_origins:
        return []
    lines = []
    if preflight:
        # Browsers send the preflight without credentials: it is answered here, before auth.
        lines += [
            "      if ($mldeploy_preflight) {",
            "        add_header Access-Control-Allow-Origin $mldeploy_cors_origin always;",
            "        add_header Access-Control-Allow-Methods 'GET, POST, OPTIONS' always;",
            "        add_header Access-Control-Allow-Headers 'Authorization, Content-Type' always;",
            "        add_header Access-Control-Max-Age 600 always;",
            "        add_header Vary Origin always;",
            "        return 204;",
            "      }",
        ]
    lines += [
        "      add_header Access-Control-Allow-Origin $mldeploy_cors_origin always;",
        "      add_header Vary Origin always;",
    ]
    return lines


def config_dirs(spec: GatewaySpec) -> list[str]:
    """Folders that must exist (writable) before nginx starts."""
    return [spec.run_dir, spec.temp_dir] + [os.path.join(spec.temp_dir, d)
                                            for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi")]


# -- the gateway as a container (ACI, Docker, AKS): the official nginx image ------------------



def container_spec(service: "ServiceSettings", *, listen_port: int,
                   upstreams: tuple[Upstream, ...] = (Upstream("127.0.0.1", SCORER_PORT),)) -> GatewaySpec:
    """The gateway for `service` inside a container: config and keys mounted under
    CONTAINER_CONFIG_DIR, everything nginx writes under /tmp (read-only root filesystem)."""
    return gateway_spec(service, run_dir=CONTAINER_RUN_DIR, listen_port=listen_port, upstreams=upstreams,
                        keys_file=f"{CONTAINER_CONFIG_DIR}/{KEYS_MAP_NAME}",
                        tls_dir=CONTAINER_TLS_DIR if getattr(service, "tls", None) else None,
                        access_log="/dev/stdout")


def container_command(spec: GatewaySpec) -> list[str]:
    """The gateway container's command: create nginx's writable folders, then run nginx."""
    dirs = " ".join(config_dirs(spec))
    return ["/bin/sh", "-c",
            f"mkdir -p {dirs} && exec nginx -c {CONTAINER_CONFIG_DIR}/nginx.conf -e stderr"]
