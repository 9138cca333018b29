"""The gateway in front of every scorer: one nginx config, rendered from a GatewaySpec (explicit
typed inputs, decided once per service in plan/gateway.py), the same for the local target, ACI,
AKS and the local rehearsal of a v2 online endpoint (GatewaySpec.endpoint: its deployments'
split, mirror, pinning and front-door statuses, at the end of this file) - the only nginx.conf
renderer. Pure functions, no Pulumi, no I/O, no settings.

Interface (what programs, components and the local runner use):

    spec = service_gateway(service, run_dir="/tmp/nginx", listen_port=8890,    # plan/gateway.py
                           upstreams=(Upstream("127.0.0.1", 5001),), keys_file="/etc/mldeploy/keys/keys.map",
                           tls=TlsFiles.in_dir("/etc/mldeploy/tls"))
    render_nginx_conf(spec)            # nginx.conf: no secret in it, safe to print and commit
    render_keys_map(primary, secondary)  # the secret part: mount it at spec.keys_file (0600 /
                                         # secret volume); both keys valid, so keys rotate freely

Routes served by the gateway on `listen_port`:
  /score          -> scorer (GET, HEAD, POST, OPTIONS; others 405), `Authorization: Bearer <key>` required
                     when auth is on (else 401 + JSON body); the key is not passed on
  /swagger.json   -> scorer (no key needed: it documents the API and holds no secret)
  /healthz        liveness: 200 while nginx runs
  /readyz         readiness: the scorer's own `GET /` (200 only when init() has finished)
  anything else   404 (JSON)
Every error nginx itself produces has a JSON body (OWN_ERRORS), among them 401, 404, 405,
413 (body > max_body_mb), 502 (scorer down), 503 + Retry-After (every scorer already runs
`max_conns` requests: AKS's replicaMaxConcurrentRequests), 504 (no answer within
scoring_timeout_ms), and 400 for a malformed request.

`upstreams` carry weights: several scorers (e.g. blue/green model versions on AKS) share the
traffic in proportion to their weights. The files nginx writes (pid, temp bodies) all go to
`run_dir`, so it runs as any user on a read-only root filesystem.
"""
from __future__ import annotations

import http
import json
import os
import re

from mldeploy.contract import CONTAINER_CONFIG_DIR, KEY_RE, LIVENESS_PATH, READINESS_PATH, SCORE_PATH, SWAGGER_PATH
from mldeploy.plan.endpoint import DEPLOYMENT_HEADER
from mldeploy.plan.front_door import MODEL_ERROR_REASON_HEADER, MODEL_ERROR_STATUS_HEADER, FrontDoor
from mldeploy.plan.gateway import HOP_SOCKET, EndpointRoute, EndpointRouting, GatewaySpec

UPSTREAM_NAME = "mldeploy_scorer"
RETRY_AFTER_S = 1  # a capacity 503 frees up when one request finishes: retry soon
CAPACITY_MESSAGE = "the service is at capacity, retry later"
TLS_RELOAD_VAR = "$mldeploy_tls_reload"
# How long nginx keeps an idle connection to a scorer before it closes it (upstream
# keepalive_timeout, nginx >= 1.15.3). Behind the gateway a scorer worker keeps its one connection
# after a response while no other connection waits for a worker (scoring/scorer_host.py); a
# connection that stays idle in nginx's cache still holds that worker, so another client (a
# canary's peer gateway, a second nginx worker process) connecting meanwhile waits at most this
# long. Under load a connection is reused within a request's time (~1 ms), so this short limit
# keeps nearly every reuse; nginx, not the scorer, closes idle connections: a POST nginx wrote on
# a connection the scorer had just closed would be a 502 (nginx does not retry a sent POST).
KEEPALIVE_IDLE_MS = 10  # always empty; its presence makes nginx load TLS files per handshake


def _json_return(status: int, message: str) -> str:
    return f"default_type application/json; {_return(status, message)}"


def _return(status: int, message: str) -> str:
    """A JSON answer where default_type is not allowed (inside `if`): the http block's default_type
    (application/json) applies."""
    body = json.dumps({"error": message, "status": status})
    return f"return {status} '{body}';"


def _escape_key(key: str) -> str:
    # A case-sensitive regex (`~`): plain map strings match ignoring case, which would weaken keys.
    return "".join(c if c.isalnum() else "\\x{%02x}" % ord(c) for c in key)


escape_key = _escape_key  # how a key reads inside the keys map: synth masks this form too


def render_keys_map(primary: str, secondary: str) -> str:
    """The secret part of the gateway: the accepted Authorization header values, one per key."""
    lines = ["# mldeploy gateway keys: SECRET. Both keys are valid (rotate one at a time)."]
    for key in (primary, secondary):
        if not KEY_RE.match(key):
            raise ValueError("a service key must be 16-256 characters of A-Z a-z 0-9 . _ ~ + / = -")
        # RFC 7235 §2.1: the auth-scheme is case-insensitive and followed by 1*SP; the key is not.
        lines.append(f'"~^(?i:bearer)\\x{{20}}+{_escape_key(key)}$" 1;')
    return "\n".join(lines) + "\n"


def _server_lines(servers, max_conns: int | None) -> list[str]:
    # max_fails=0: a failing server is never set aside, so "no live upstreams" (the group name in
    # $upstream_addr) means only "every server is at max_conns" - never a dead one.
    cap = f" max_conns={max_conns} max_fails=0" if max_conns is not None else ""
    return [f"server {u.address}{' down' if u.weight == 0 else f' weight={u.weight}{cap}'};" for u in servers]


def render_upstreams(spec: GatewaySpec) -> str:
    """The file nginx.conf includes in its upstream block when `spec.upstreams_file` is set: the
    scorers and their weights (an AKS canary's traffic ConfigMap holds one per variant)."""
    return "# Generated by mldeploy: the scorers and their traffic weights.\n" + \
        "".join(line + "\n" for line in _server_lines(spec.upstreams, spec.max_conns))


def render_nginx_conf(spec: GatewaySpec) -> str:
    """nginx.conf for `spec` (no secret in it: keys and TLS key are separate files)."""
    return "\n".join([
        "# Generated by mldeploy from the service settings. Edit the stack config, not this file.",
        *_main_context(spec),
        "http {",
        *_http_settings(spec),
        "",
        *_upstreams(spec),
        *_maps(spec),
        "",
        "  server {",
        *_listen(spec),
        *_drain(spec),
        *_proxy_settings(spec),
        "",
        *_error_pages(),
        *_error_locations(spec),
        "",
        *_probe_locations(spec),
        *_scoring_locations(spec),
        "    location / { return 404; }",
        "  }",
        "}",
    ]) + "\n"


def _main_context(spec: GatewaySpec) -> list[str]:
    return [
        "daemon off;",
        f"worker_processes {spec.worker_processes};",
        f"pid {spec.pid_file};",
        # The maps' regular expressions (the keys, the scorer-path map) compiled to machine code
        # (nginx docs, ngx_core_module pcre_jit; off by default). Both nginx builds used are
        # --with-pcre-jit (`nginx -V`: Debian's and the gateway image's nginx:1.27.4-alpine).
        "pcre_jit on;",
        "error_log stderr warn;",
        "events { worker_connections 1024; }",
    ]


def _http_settings(spec: GatewaySpec) -> list[str]:
    t = spec.temp_dir
    return [
        "  server_tokens off;",
        f"  client_body_temp_path {t}/body;",
        f"  proxy_temp_path {t}/proxy;",
        f"  fastcgi_temp_path {t}/fastcgi;",
        f"  uwsgi_temp_path {t}/uwsgi;",
        f"  scgi_temp_path {t}/scgi;",
        *_access_logs(spec),
        "  default_type application/json;",
        "  keepalive_timeout 75s;",
        # The whole body is read (and size-checked) before the scorer sees it: slow clients
        # cannot hold one of its few sync workers.
        f"  client_max_body_size {max(1, int(spec.max_body_mb * 1024))}k;",
        "  client_body_buffer_size 1m;",
        "  proxy_request_buffering on;",
    ]


# The access log (containers: stdout, a pipe to the container runtime) is written in blocks, not a
# write() per request: each write to the pipe also wakes its reader. Measured here (strace -c of the
# nginx worker, wrk at 4 connections through the gateway): 3,576 write() for 3,576 requests
# unbuffered, 29 in 3 s buffered. A block is at most PIPE_BUF (4,096 bytes on Linux), so a write to
# the pipe is atomic (pipe(7)) and two nginx workers' lines never interleave mid-line; nginx writes it
# when the next line does not fit, when its oldest line is ACCESS_LOG_FLUSH old, and when the worker
# stops or reopens its logs (nginx docs, ngx_http_log_module access_log: buffer=, flush=), so a line
# reaches `mldeploy logs` at most that late, and a graceful stop loses none.
ACCESS_LOG_BUFFER = "4k"
ACCESS_LOG_FLUSH = "100ms"


def _access_log(path: str | None) -> str:
    return f"{path} combined buffer={ACCESS_LOG_BUFFER} flush={ACCESS_LOG_FLUSH}" if path else "off"


# The errors-only log's line (GatewaySpec.error_answers_log): the time first, as nginx's error log and
# the scorer's lines start, so `mldeploy logs` merges it in order (runtime/logs.py reads
# `2026-12-05T11:50:00`). The path the client asked for ($uri is the internal one after a rewrite),
# without its query, and no headers: nothing a client sent as a secret.
ERROR_ANSWERS_FORMAT = '$time_iso8601 [answer] $status "$request_method $mldeploy_path" $remote_addr $request_time s'


def _access_logs(spec: GatewaySpec) -> list[str]:
    if spec.access_log is not None or spec.error_answers_log is None:
        return [f"  access_log {_access_log(spec.access_log)};"]
    # nginx's `if=`: a line only where the variable is neither empty nor "0" (nginx docs,
    # ngx_http_log_module access_log); unbuffered, so a refusal is in the file when its answer is.
    # Not the readiness probe's 502s while the scorer starts (its location's `access_log off` does
    # not hold once the error page's internal redirect ends the request elsewhere).
    return [f'  map "$status $request_uri" $mldeploy_error_answer {{ ~^[123] 0; "~^[0-9]+ {READINESS_PATH}(\\?|$)" 0; '
            "default 1; }",
            '  map $request_uri $mldeploy_path { "~^(?<path>[^?]*)" $path; }',
            f"  log_format mldeploy_answer '{ERROR_ANSWERS_FORMAT}';",
            f"  access_log {spec.error_answers_log} mldeploy_answer if=$mldeploy_error_answer;"]


def _upstreams(spec: GatewaySpec) -> list[str]:
    """One upstream group per place a request can go: the service's scorers (one group, weighted),
    or each endpoint deployment's scorer. With a cap, "every server of the group is full" is told
    apart from "a server failed" through $mldeploy_at_capacity."""
    if spec.endpoint is None:
        groups = [(UPSTREAM_NAME, spec.upstreams, spec.max_conns)]
    else:
        groups = [(_route_upstream(r), (r.upstream,), r.admitted) for r in spec.endpoint.routes]
    out = []
    for name, servers, max_conns in groups:
        out += [f"  upstream {name} {{"]
        if max_conns is not None:
            # Without a shared zone each nginx worker would count its own connections.
            out.append(f"    zone {name} 64k;")
        if name == UPSTREAM_NAME and spec.upstreams_file is not None:
            # The servers and their weights: a file of their own (render_upstreams), re-read on reload.
            out.append(f"    include {spec.upstreams_file};")
        else:
            out += [f"    {line}" for line in _server_lines(servers, max_conns)]
        out += [
            f"    keepalive {spec.keepalive_connections};",
            f"    keepalive_timeout {KEEPALIVE_IDLE_MS}ms;",
            "  }",
        ]
    if spec.endpoint is None:
        # The gateway's own socket (chunked bodies, see CHUNKED_LOCATION), kept alive like the
        # scorers' connections: the hop costs a request's parsing, not a connection per request.
        out += [f"  upstream {HOP_UPSTREAM} {{", f"    server unix:{hop_socket(spec)};",
                f"    keepalive {spec.keepalive_connections};", f"    keepalive_timeout {KEEPALIVE_IDLE_MS}ms;", "  }"]
    capped = [name for name, _, max_conns in groups if max_conns is not None]
    if capped:
        out += [
            "  # nginx answers 502 when no server is below max_conns; that case becomes a 503.",
            "  map $upstream_addr $mldeploy_at_capacity { default 0; " + " ".join(f"{n} 1;" for n in capped) + " }",
        ]
    return out


def _maps(spec: GatewaySpec) -> list[str]:
    out = [] if spec.endpoint is None else _routing_maps(spec.endpoint)
    out += [
        "  # Request ids under the names azmlinfsrv 1.5 reads (server/routes.py): the client's",
        "  # x-request-id passes as it is (without one the scorer makes its own, as azmlinfsrv does),",
        "  # and the client's own id as x-ms-client-request-id - also when it came as the deprecated",
        "  # x-ms-request-id, which the server still echoes back.",
        "  map $http_x_ms_client_request_id $mldeploy_client_request_id {",
        '    "" $http_x_ms_request_id; default $http_x_ms_client_request_id;',
        "  }",
        # A hash lookup, not a regular expression per request (METHOD_CHECK). Map strings match
        # ignoring case, but nginx refuses a method that is not upper case (400) before this.
        "  map $request_method $mldeploy_method_refused {",
        "    default 1;",
        *[f"    {method} 0;" for method in SCORER_METHODS],
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
    if spec.endpoint is None:
        out += _scorer_431_map()
    return out


def _listen(spec: GatewaySpec) -> list[str]:
    listen = f"{spec.listen_host}:{spec.listen_port}" + (" ssl" if spec.tls_enabled else "")
    out = [
        f"    listen {listen} default_server;",
        *([f"    listen unix:{hop_socket(spec)};"] if spec.endpoint is None else []),
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
    return out


# Stopping without the kept-alive connection race. nginx's graceful stop (SIGQUIT) closes every
# kept-alive client connection that waits for its next request at once, unread
# (src/os/unix/ngx_process_cycle.c ngx_close_idle_connections -> ngx_http_keepalive_handler,
# c->close): a client that wrote its next request in that instant reads a reset - measured with
# wrk here: exactly one read error per kept-alive connection, every run. Answers nginx writes once
# it is stopping say `Connection: close` (nginx >= 1.21.6, ngx_http_header_filter_module.c), but an
# idle connection gets no answer. So the gateway first drains: once the file DRAIN_FILE exists in
# its run folder, every answer carries `Connection: close` and nginx closes the connection after it
# (a clean end the client expects), new connections included; after DRAIN_SECONDS nothing is kept
# alive and SIGQUIT closes no connection a client could still be writing on. nginx 1.27.4's
# keepalive_min_timeout does this by itself, but Debian's nginx (1.22, `serve`) refuses it.
# Whoever stops the gateway touches the file (graceful_nginx's shell, runtime/local.py's Child).
# Cost: one `-f` test per request, from open_file_cache (one stat() a second per worker: a stat
# per request measured ~+10 % nginx CPU per request on `return 200`, the cached test within noise).
# keepalive_timeout can only change per location, so a request takes a detour through one whose
# keepalive_timeout is 0 (a request that passed it stays non-keep-alive: ngx_http_update_location_config)
# and goes on to its own location unchanged.
# While it drains the gateway keeps no connection to a scorer either: each request it passes on says
# `Connection: close` (UPSTREAM_CONNECTION_VAR), the scorer answers with `Connection: close` (both
# servers: granian's hyper honours the request's, gunicorn's sync worker closes every connection)
# and nginx does not keep that connection (ngx_http_proxy_module.c: u->keepalive =
# !u->headers_in.connection_close). `serve --reload` relies on it
# (runtime/swap.py): the scorer socket is switched only after DRAIN_SECONDS of drain, when no
# idle connection to the old scorer is left in any nginx worker's cache, so every request after the
# switch opens a connection to the new scorer - without it an old worker reused its kept connection
# to the old scorer after others had reached the new one, and answers flipped (14 times in one CI
# run). The connection is ended by the scorer after its answer, never under a request nginx is
# writing: nginx does not pass a sent POST on to another try even on a kept connection
# (ngx_http_upstream.c ngx_http_upstream_next: a cached connection's error earns a try back, but
# u->request_sent on a POST adds NGX_HTTP_UPSTREAM_FT_NON_IDEMPOTENT, which `proxy_next_upstream
# error` does not cover), so a scorer closing idle kept connections itself would risk 502s.
DRAIN_FILE = "drain"
DRAIN_CACHE_SECONDS = 1  # open_file_cache_valid: how late nginx may see the file
DRAIN_SECONDS = DRAIN_CACHE_SECONDS + 1  # then each busy kept-alive connection gets its `close` answer
DRAIN_PREFIX = "/.mldeploy-drain"
UPSTREAM_CONNECTION_VAR = "$mldeploy_upstream_connection"  # the Connection header a scorer gets: empty, or close


def drain_file(run_dir: str) -> str:
    return f"{run_dir}/{DRAIN_FILE}"


def _drain(spec: GatewaySpec) -> list[str]:
    return [
        f"    open_file_cache max=8 inactive=60s; open_file_cache_valid {DRAIN_CACHE_SECONDS}s; "
        "open_file_cache_errors on;",
        f'    set {UPSTREAM_CONNECTION_VAR} "";',
        f"    if (-f {drain_file(spec.run_dir)}) {{ set {UPSTREAM_CONNECTION_VAR} close; rewrite ^ {DRAIN_PREFIX}$uri last; }}",
        f'    location ^~ {DRAIN_PREFIX}/ {{ internal; keepalive_timeout 0; rewrite "(?s)^{re.escape(DRAIN_PREFIX)}(.*)$" $1 last; }}',
    ]


def _proxy_settings(spec: GatewaySpec) -> list[str]:
    timeout = f"{spec.scoring_timeout_ms}ms"
    return [
        "    proxy_http_version 1.1;",
        # Empty (not sent): nginx keeps upstream connections open; `close` while draining (_drain).
        f"    proxy_set_header Connection {UPSTREAM_CONNECTION_VAR};",
        "    proxy_set_header Host $http_host;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        "    proxy_set_header X-Ms-Client-Request-Id $mldeploy_client_request_id;",
        '    proxy_set_header X-Ms-Request-Id "";',  # an empty value is not sent: no deprecation warning
        # httpoxy: a client's `Proxy:` header is HTTP_PROXY in run()'s WSGI environ (CGI naming,
        # both servers), which HTTP libraries take as the proxy for outgoing requests. No standard
        # header has that name; the ASF's advisory removes it at the front
        # (apache.org/security/asf-httpoxy-response.txt, "RequestHeader unset Proxy"), as does
        # NGINX's (nginx.com/blog/mitigating-the-httpoxy-vulnerability-with-nginx: this line).
        '    proxy_set_header Proxy "";',
        *([] if spec.passes_authorization else ['    proxy_set_header Authorization "";']),  # the key stays here
        "    proxy_connect_timeout 5s;",
        f"    proxy_send_timeout {timeout};",
        f"    proxy_read_timeout {timeout};",
        # Passed on to the next server only when the request reached no scorer: a connection
        # refused or reset before the request was written, or a kept-alive connection the scorer
        # had closed. Not `timeout`: a request that timed out has reached run(), and passing it on
        # would run the model a second time (nginx already keeps a sent POST from the next server -
        # non_idempotent is off - but a GET /score reaches a @rawhttp run() too) and make the
        # client wait twice the timeout.
        "    proxy_next_upstream error;",
        # A client that gives up does not end the scorer's connection: the scorer takes a new
        # connection as soon as its current one closes, even while run() still runs (granian),
        # so the next request would wait behind it. nginx reads the answer and drops it.
        "    proxy_ignore_client_abort on;",
        "    proxy_hide_header Access-Control-Allow-Origin;",
    ]


def _probe_locations(spec: GatewaySpec) -> list[str]:
    # An endpoint's probes and swagger reach its first live deployment.
    upstream = UPSTREAM_NAME if spec.endpoint is None else _route_upstream(spec.endpoint.live[0])
    return [
        f"    location = {LIVENESS_PATH} {{ access_log off; default_type application/json; "
        "return 200 '{\"status\":\"alive\"}'; }",
        f"    location = {READINESS_PATH} {{",
        "      access_log off;",
        # A scorer still starting refuses the probe: that 502 is the probe's answer (not ready yet),
        # not a fault, and the prober sees it. nginx logged it per probe at every start - "connect()
        # failed (111: Connection refused)" at `error`, "(2: No such file or directory)" at `crit` for
        # a Unix socket not made yet - lines `mldeploy logs` showed a new user as failures. Only
        # `alert` and `emerg` (nginx itself failing) stay; a scoring request meeting a down scorer is
        # still logged by its own location.
        "      error_log stderr alert;",
        f"      proxy_connect_timeout {spec.readiness_timeout_ms}ms;",
        f"      proxy_read_timeout {spec.readiness_timeout_ms}ms;",
        f"      proxy_pass http://{upstream}/;",  # the scorer's GET /: 200 once init() is done
        "    }",
        f"    location = {SWAGGER_PATH} {{",
        METHOD_CHECK,
        *_cors_lines(spec, preflight=False),
        f"      proxy_pass http://{upstream};",
        "    }",
    ]


def _scoring_locations(spec: GatewaySpec) -> list[str]:
    """/score: methods, CORS and the key checked here; then to the scorers (a service) or to the
    deployment the request is routed to (an endpoint)."""
    out = [
        f"    location = {SCORE_PATH} {{",
        METHOD_CHECK,
        *_cors_lines(spec, preflight=True),
    ]
    if spec.auth_enabled:
        out.append("      if ($mldeploy_authorized = 0) { return 401; }")
    if spec.endpoint is None:
        return out + [
            "      if ($mldeploy_scorer_path) { rewrite ^ $mldeploy_scorer_path last; }",
            f"      proxy_pass http://{UPSTREAM_NAME};",
            "    }",
            *_scorer_location(spec),
        ]
    return out + _routing_locations(spec.endpoint, spec.run_dir)


# granian (hyper's HTTP/1 default, not configurable in granian 2.8) refuses a request with more
# than this many headers with an empty 431, before azmlinfsrv's code runs.
SCORER_MAX_HEADERS = 100
# azmlinfsrv's own 431 (server/routes.py HEADER_LIMIT: an id header over 100 characters) has a JSON
# body of its own, as does every status a score.py answers.
AZMLINFSRV_ID_HEADER_LIMIT = 100
SCORER_LOCATION = "/.mldeploy-scorer/score"
# A chunked body is read (and its chunks checked) in CHUNKED_LOCATION, where nginx's own errors
# (400 for a malformed chunk, 408, 413) are the server's JSON ones, then sent through the gateway's
# own socket (HOP_SOCKET in run_dir) with a Content-Length to HOP_LOCATION, which intercepts the
# scorer's 431 as SCORER_LOCATION does. One extra local hop, for chunked requests only: stock nginx
# has no way to read a body before moving a request into another location, and a location that
# intercepts the scorer's errors cannot also make its own read errors JSON without replacing the
# scorer's answers of the same status (run()'s 400, 413).
NOT_FOUND = f"not found: POST to {SCORE_PATH}"
CHUNKED_LOCATION = "/.mldeploy-chunked/score"
HOP_LOCATION = "/.mldeploy-dechunked/score"
HOP_UPSTREAM = "mldeploy_hop"


def hop_socket(spec: GatewaySpec) -> str:
    """The gateway's own socket for chunked bodies (GatewaySpec.hop_socket). Removed before nginx
    starts (local runners, container commands): nginx does not remove a socket file left by a
    killed nginx before it binds, and would fail with "Address already in use"."""
    assert spec.hop_socket is not None, "an endpoint's gateway has no hop"
    return spec.hop_socket


def _scorer_location(spec: GatewaySpec) -> list[str]:
    """/score's requests whose 431 can only be granian's empty one: nginx replaces that 431 with
    JSON (proxy_intercept_errors). Inside this location only 431 and nginx's own proxy errors have
    an error_page (a location's error_page list replaces the server's), so every other answer of
    the scorer - its JSON 400, 500, 503 - passes as it is. Chunked bodies arrive here only through
    the hop (CHUNKED_LOCATION), already read."""
    intercept = [
        "      proxy_intercept_errors on;",
        "      error_page 431 @e431;",
        f"      error_page 408 {OWN_ERROR_PREFIX}408;",  # a body that stopped arriving (nginx's)
        "      error_page 502 = @e502;",
        "      error_page 504 @e504;",
        f"      proxy_pass http://{UPSTREAM_NAME}{SCORE_PATH};",
        "    }",
    ]
    return [
        f"    location = {SCORER_LOCATION} {{",
        "      internal;",
        *_cors_lines(spec, preflight=False),
        *intercept,
        f"    location = {CHUNKED_LOCATION} {{",
        "      internal;",
        *_cors_lines(spec, preflight=False),
        f"      proxy_pass http://{HOP_UPSTREAM}{HOP_LOCATION};",
        "    }",
        # Only the gateway itself reaches it: its socket's clients are "unix:". The request
        # headers were set on the first pass (ids, X-Forwarded-*, no Authorization): kept as they are.
        f"    location = {HOP_LOCATION} {{",
        # A body: this location's error_page list (the interception's) has no 404.
        f'      if ($remote_addr != "unix:") {{ {_return(404, NOT_FOUND)} }}',
        "      access_log off;",
        f"      proxy_set_header Connection {UPSTREAM_CONNECTION_VAR};",
        "      proxy_set_header Host $http_host;",
        *intercept,
    ]


def _scorer_431_map() -> list[str]:
    # The three id headers azmlinfsrv limits, joined by "|": a run of more than the limit of
    # other characters is one header over it (checked first: such a request passes as it is).
    ids = "$http_x_request_id|$http_x_ms_request_id|$http_x_ms_client_request_id"
    return [
        "  # Where /score's request goes: where a 431 from the scorer can only be granian's (no id",
        "  # header azmlinfsrv refuses), to the location that replaces it - through the hop for a chunked body.",
        f'  map "$http_transfer_encoding|{ids}" $mldeploy_scorer_path {{',
        f"    default {SCORER_LOCATION};",
        f'    "~[^|]{{{AZMLINFSRV_ID_HEADER_LIMIT + 1}}}" "";',
        f'    "~^[^|]" {CHUNKED_LOCATION};',
        "  }",
    ]


# nginx's own errors too (a malformed request line 400, TRACE 405, 408, an over-long URI 414,
# headers too large 494 - sent as 400, its internal 500, an unknown Transfer-Encoding 501, 505):
# every error leaves the gateway as JSON. They go to internal URIs, not named locations: a request
# whose request line could not be read has no URI, and nginx answers a redirect to a named
# location with its own HTML 500 ("empty URI in redirect to named location").
OWN_ERRORS = {
    400: "bad request: the HTTP request is malformed",
    405: "method not allowed: use GET, POST or OPTIONS",
    408: "the request was not received in time",
    414: "the request URI is too long",
    494: "the request headers are too large",
    500: "internal gateway error",
    501: "not implemented: unsupported Transfer-Encoding",
    505: "HTTP version not supported",
}
OWN_ERROR_PREFIX = "/.mldeploy-error/"
ALLOWED_METHODS = "GET, POST, OPTIONS"
# What the scorer routes accept (HEAD with GET); anything else is a JSON 405 with Allow here.
SCORER_METHODS = ("GET", "HEAD", "POST", "OPTIONS")
METHOD_CHECK = "      if ($mldeploy_method_refused) { return 405; }"


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
        404: NOT_FOUND,
        413: f"request body larger than {spec.max_body_mb:g} MB",
        502: "the scorer is not reachable",
        503: "the scorer is not available",
        504: f"no answer within {spec.scoring_timeout_ms} ms",
        **({431: f"too many request headers: the scorer reads at most {SCORER_MAX_HEADERS}"}
           if spec.endpoint is None else {}),
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


# -- a v2 online endpoint's front door, rehearsed locally (GatewaySpec.endpoint) ---------------
# What it reproduces, and the source of each behaviour:
# - the live traffic split (`trafficPercent`), drawn per request (nginx `split_clients` on the
#   request id);
# - the mirror (`mirrorPercent`): a copy of that share of the live requests goes to the mirror
#   deployment, its response is discarded (nginx's core `mirror` directive); requests pinned to a
#   deployment are not mirrored ("Mirror traffic is routed from traffic sent to endpoint without
#   specifying the deployment" - how-to-safely-rollout-online-endpoints.md);
# - the `azureml-model-deployment` request header pins a request to that deployment, live or
#   mirror (same document), and every response names the deployment that served it in the same
#   header;
# - the target's statuses (plan/front_door.py, from how-to-troubleshoot-online-endpoints.md): a
#   deployment slower than its requestTimeoutMs, one more request than it admits at once (never
#   queued in the gateway), and the container's own errors that the front door replaces (managed:
#   every non-200 answer from 300 up - nginx cannot intercept a 2xx - as 424 with the container's
#   status and reason in `ms-azureml-model-error-statuscode` / `-reason`; kubernetes-endpoint: the
#   scorer's 500, an exception in run(), as 502).
MIRROR_LOCATION = "/_mldeploy_mirror"
MIRROR_LOG = "mirror.log"


def _route_upstream(route: EndpointRoute) -> str:
    return f"mldeploy_{route.name.replace('-', '_')}"


def _model_error_codes(door: FrontDoor) -> list[int]:
    """The container statuses nginx replaces: the ones of `door` it can intercept (standard, >= 300)."""
    return [s.value for s in http.HTTPStatus if s.value in door.model_error_from]


def _routing_maps(routing: EndpointRouting) -> list[str]:
    live = routing.live
    out = ['  split_clients "${request_id}" $mldeploy_split {',
           *[f"    {r.traffic_percent}% {r.name};" for r in live[:-1]],
           f"    * {live[-1].name};", "  }"]
    mirror = routing.mirror
    if mirror is not None:
        # A second, independent draw (its own key) decides whether this request is mirrored.
        out += ['  split_clients "mirror${request_id}" $mldeploy_mirror_on {',
                f"    {mirror.mirror_percent}% 1;", "    * 0;", "  }",
                # Copied: drawn for the mirror and not pinned to a deployment.
                '  map "$mldeploy_pinned:$mldeploy_mirror_on" $mldeploy_mirrored { default 0; ":1" 1; }',
                "  log_format mldeploy_mirror '$upstream_addr $upstream_status';"]
    header = "$http_" + DEPLOYMENT_HEADER.replace("-", "_")
    out += [f"  map {header} $mldeploy_pinned {{", '    default "-";', '    "" "";',
            *[f"    {r.name} {r.name};" for r in routing.routes], "  }",
            '  map $mldeploy_pinned $mldeploy_target { "" $mldeploy_split; default $mldeploy_pinned; }']
    if routing.front_door.model_error_headers:
        out += ["  map $upstream_status $mldeploy_model_reason {", '    default "";',
                *[f'    {s} "{http.HTTPStatus(s).phrase}";' for s in _model_error_codes(routing.front_door)],
                "  }"]
    return out


def _routing_locations(routing: EndpointRouting, run_dir: str) -> list[str]:
    """The end of /score (pinned or drawn deployment), then one internal location per deployment."""
    out = ['      if ($mldeploy_pinned = "-") { '
           + _return(404, f"no deployment of that name (header {DEPLOYMENT_HEADER})") + " }",
           "      rewrite ^ /_mldeploy/$mldeploy_target/score last;",
           "    }"]
    for route in routing.routes:
        out += _route_location(route, routing)
    out.append(f"    location @timeout {{ add_header {DEPLOYMENT_HEADER} $mldeploy_target always; "
               + _json_return(routing.front_door.timeout_status,
                              "request timeout: scoring took longer than requestTimeoutMs") + " }")
    mirror = routing.mirror
    if mirror is not None:
        # The mirror's own answer is discarded by nginx; only pinned-free requests of the live
        # share are copied. Its log (log_subrequest) is how a test counts what it received.
        out += [f"    location = {MIRROR_LOCATION} {{",
                "      internal;",
                "      if ($mldeploy_mirrored = 0) { return 204; }",
                "      log_subrequest on;",
                f"      access_log {run_dir}/{MIRROR_LOG} mldeploy_mirror if=$mldeploy_mirrored;",
                f"      proxy_read_timeout {mirror.request_timeout_ms}ms;",
                f"      proxy_pass http://{_route_upstream(mirror)}{SCORE_PATH};",
                "    }"]
    return out


def _route_location(route: EndpointRoute, routing: EndpointRouting) -> list[str]:
    """One deployment: its timeout, the mirror copy, and the container's errors as the front door
    answers them (its error_page list replaces the server's inside this location)."""
    door, name, upstream = routing.front_door, route.name, _route_upstream(route)
    mirror = routing.mirror
    codes = _model_error_codes(door)
    capacity = _return(door.capacity_status, f"too many pending requests: the deployment admits "
                                                  f"{route.admitted} at once")
    return [
        f"    location = /_mldeploy/{name}{SCORE_PATH} {{",
        "      internal;",
        f"      add_header {DEPLOYMENT_HEADER} {name} always;",
        f"      proxy_read_timeout {route.request_timeout_ms}ms;",
        f"      proxy_send_timeout {route.request_timeout_ms}ms;",
        *([f"      mirror {MIRROR_LOCATION};", "      mirror_request_body on;"]
          if mirror is not None and route is not mirror else []),
        "      error_page 504 = @timeout;",
        f"      error_page 502 = @e502_{name};",
        "      proxy_intercept_errors on;  # the container's own errors: the target's model error",
        *[f"      error_page {' '.join(map(str, codes[i:i + 16]))} = @model_error_{name};"
          for i in range(0, len(codes), 16)],
        f"      proxy_pass http://{upstream}{SCORE_PATH};",
        "    }",
        # Inside `if`, add_header replaces the location's: the deployment header is repeated.
        f"    location @e502_{name} {{ add_header {DEPLOYMENT_HEADER} {name} always; "
        f"if ($mldeploy_at_capacity) {{ add_header {DEPLOYMENT_HEADER} {name} always; {capacity} }} "
        + _json_return(502, "the scorer is not reachable") + " }",
        _model_error_location(route, door),
    ]


def _model_error_location(route: EndpointRoute, door: FrontDoor) -> str:
    status = door.model_error_status
    # The gateway answers in the scorer's place: its body names where the traceback is.
    logs = f"; its log: {route.logs_command}" if route.logs_command else ""
    if door.model_error_headers:
        body = (f'{{"error": "the model container answered $upstream_status $mldeploy_model_reason (not 200){logs}", '
                f'"status": {status}, "modelStatusCode": $upstream_status}}')
        headers = (f"add_header {MODEL_ERROR_STATUS_HEADER} $upstream_status always; "
                   f'add_header {MODEL_ERROR_REASON_HEADER} "$mldeploy_model_reason" always; ')
    else:
        body = json.dumps({"error": f"the scoring script failed: run() raised (the scorer answered 500){logs}",
                           "status": status})
        headers = ""
    return (f"    location @model_error_{route.name} {{ add_header {DEPLOYMENT_HEADER} {route.name} always; {headers}"
            f"default_type application/json; return {status} '{body}'; }}")


def config_dirs(spec: GatewaySpec) -> list[str]:
    """Folders that must exist (writable) before nginx starts."""
    return [spec.run_dir, spec.temp_dir] + [os.path.join(spec.temp_dir, d)
                                            for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi")]


# -- the gateway as a container (ACI, Docker, AKS): the official nginx image ------------------

def container_command(spec: GatewaySpec) -> list[str]:
    """The gateway container's command: create nginx's writable folders, then run nginx with
    every stop signal meaning a graceful stop (graceful_nginx)."""
    dirs = " ".join(config_dirs(spec))
    return graceful_nginx(f"{CONTAINER_CONFIG_DIR}/nginx.conf", spec.run_dir,
                          [f"mkdir -p {dirs}", f"rm -f {hop_socket(spec)}"])


# How often the gateway looks at its traffic file. The kubelet itself projects a changed
# ConfigMap within its sync period plus its cache's delay (about a minute by default), so
# seconds here add little to that.
TRAFFIC_POLL_SECONDS = 5


def direct_command(conf_file: str, run_dir: str) -> list[str]:
    """nginx in a pod, after removing a stale hop socket (hop_socket); stop signals as graceful_nginx."""
    return graceful_nginx(conf_file, run_dir, [f"rm -f {run_dir}/{HOP_SOCKET}"])


def reloading_command(conf_file: str, watched_file: str, run_dir: str) -> list[str]:
    """The gateway container's command when its upstream weights come from `watched_file` (a
    mounted ConfigMap the kubelet updates in place): graceful_nginx plus a small loop that sends
    nginx SIGHUP when the file's content changes - nginx re-reads its config, starts new workers
    and lets the old ones finish their requests (nginx docs, "Controlling nginx"); a config that
    fails to load leaves the old one running. Written here, not taken from a library: the
    official nginx image has no file watcher (no inotify tools), and a sidecar could not signal
    nginx without sharing the pod's process namespace."""
    watcher = [
        "(",
        f"  seen=\"$(cat {watched_file} 2>/dev/null)\"",
        f"  while sleep {TRAFFIC_POLL_SECONDS}; do",
        f"    now=\"$(cat {watched_file} 2>/dev/null)\"",
        '    if [ "$now" != "$seen" ]; then',
        '      seen="$now"',
        f'      echo "mldeploy: {watched_file} changed: reloading nginx" >&2',
        '      kill -HUP "$nginx_pid"',
        "    fi",
        "  done",
        ") &",
        "watcher=$!",
    ]
    return graceful_nginx(conf_file, run_dir, [f"rm -f {run_dir}/{HOP_SOCKET}"], watcher, ['kill "$watcher" 2>/dev/null'])


def graceful_nginx(conf_file: str, run_dir: str, before: list[str], beside: list[str] = (),
                   after: list[str] = ()) -> list[str]:
    """nginx as the child of a small POSIX shell (the container's process 1) that turns every
    stop signal into nginx's graceful stop: SIGQUIT (the official image's STOPSIGNAL), SIGTERM
    and SIGINT all reach nginx as SIGQUIT - it stops listening and finishes the requests in
    flight - where nginx itself takes SIGTERM/SIGINT as a fast stop that drops them (nginx docs,
    "Controlling nginx"). Needed because a platform may send SIGTERM whatever the image says:
    Azure Container Instances documents no stop signal at all (its stop/restart/update pages,
    MicrosoftDocs/azure-docs articles/container-instances/container-instances-stop-start.md and
    container-instances-update.md, say only that the containers are terminated/restarted; the
    one public report, Azure/azure-cli#16673, saw no SIGTERM handling at `az container stop`),
    Container Apps sends SIGTERM (articles/container-apps/application-lifecycle-management.md,
    "Shutdown"), and the kubelet
    leaves the signal to the container runtime (kubernetes.io "Termination of Pods"). SIGHUP
    (reload) is passed on as is. Before the SIGQUIT the gateway drains for DRAIN_SECONDS (its
    drain file: answers say `Connection: close`; see _drain). The shell exits with nginx's status.
    `before` runs first (after removing a drain file a previous run left),
    `beside` after nginx started (it may use $nginx_pid), `after` once nginx is gone."""
    script = "\n".join([
        " && ".join([f"rm -f {drain_file(run_dir)}", *before]) + " || exit 1",
        f"nginx -c {conf_file} -e stderr &",
        "nginx_pid=$!",
        f'trap \'touch {drain_file(run_dir)}; sleep {DRAIN_SECONDS}; kill -QUIT "$nginx_pid" 2>/dev/null\' QUIT TERM INT',
        'trap \'kill -HUP "$nginx_pid" 2>/dev/null\' HUP',
        *beside,
        # `wait` returns early (above 128) when a trapped signal arrives: wait again while nginx
        # runs. nginx may end during the trap (the drain's pause): one more `wait` then gives its
        # own status (127: that `wait` had already given it, e.g. nginx killed by a signal).
        "while :; do",
        '  wait "$nginx_pid"; status=$?',
        '  [ "$status" -gt 128 ] || break',
        '  if ! kill -0 "$nginx_pid" 2>/dev/null; then',
        '    wait "$nginx_pid"; again=$?',
        '    [ "$again" = 127 ] || status=$again',
        "    break",
        "  fi",
        "done",
        *after,
        'exit "$status"',
    ])
    return ["/bin/sh", "-c", script]
