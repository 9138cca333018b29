"""The local stand-in for an Azure ML v2 online endpoint's front door: one nginx in front of one
scorer per deployment, behaving as the endpoint does. Pure: settings in, nginx.conf out.

What it reproduces, and the source of each behaviour:
- the live traffic split (`trafficPercent`), drawn per request (nginx `split_clients` on the
  request id);
- the mirror (`mirrorPercent`): a copy of that share of the live requests goes to the mirror
  deployment, its response is discarded (nginx's core `mirror` directive); requests pinned to a
  deployment are not mirrored ("Mirror traffic is routed from traffic sent to endpoint without
  specifying the deployment" - how-to-safely-rollout-online-endpoints.md);
- the `azureml-model-deployment` request header pins a request to that deployment, live or
  mirror (same document), and every response names the deployment that served it in the same
  header;
- key auth: `Authorization: Bearer <key>` (primary or secondary), 401 without;
- the statuses of the target's front door (plan/front_door.py, from how-to-troubleshoot-online-
  endpoints.md): `requestTimeoutMs` per deployment - a slower request gets 408 (managed) or 504
  (kubernetes-endpoint); admission - managed admits 2 × maxConcurrentRequestsPerInstance requests
  per instance at once (the ones beyond the scorer's workers wait inside it, as on Azure) and
  answers 429 to one more, kubernetes-endpoint admits maxConcurrentRequestsPerInstance and answers
  503, both at once, never queued in the gateway; the container's own errors - managed turns every
  non-200 answer of the scorer (from 300 up: nginx cannot intercept a 2xx) into 424 with the
  scorer's status and reason in `ms-azureml-model-error-statuscode` / `-reason` and the body,
  kubernetes-endpoint turns the scorer's 500 (an exception in run()) into 502.
Locally each deployment runs one instance (one scorer, `workers` processes).
"""
from __future__ import annotations

import http
import json
import re
from dataclasses import dataclass, field

from mldeploy.plan.endpoint import DEPLOYMENT_HEADER, MANAGED
from mldeploy.plan.front_door import MODEL_ERROR_REASON_HEADER, MODEL_ERROR_STATUS_HEADER, FrontDoor, front_door
from mldeploy.contract import LIVENESS_PATH, SCORE_PATH, SWAGGER_PATH

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
# Written into an nginx `return` string: stack, service and deployment names' alphabet only.
_LOGS_COMMAND_RE = re.compile(r"^[A-Za-z0-9 ._-]*$")
MIRROR_LOCATION = "/_mldeploy_mirror"
MIRROR_LOG = "mirror.log"


@dataclass(frozen=True)
class LocalDeployment:
    name: str
    port: int  # its scorer on 127.0.0.1
    traffic_percent: int
    mirror_percent: int
    request_timeout_ms: int
    max_concurrent: int
    logs_command: str = ""  # named in its model-error body (`mldeploy logs ... --deployment <name>`)

    def __post_init__(self) -> None:
        if not NAME_RE.match(self.name) or not 0 < self.port < 65536 or not _LOGS_COMMAND_RE.match(self.logs_command):
            raise ValueError(f"invalid deployment {self}")


@dataclass(frozen=True)
class EndpointGatewaySpec:
    listen_port: int
    run_dir: str
    deployments: tuple[LocalDeployment, ...]
    keys_file: str | None  # None: no key check (never for a v2 endpoint; tests only)
    max_body_mb: float = 100.0
    front_door: FrontDoor = field(default_factory=lambda: front_door(MANAGED))  # the target's statuses

    def __post_init__(self) -> None:
        live = [d for d in self.deployments if d.traffic_percent]
        if sum(d.traffic_percent for d in self.deployments) != 100 or not live:
            raise ValueError("the deployments' traffic must sum to 100")
        if len([d for d in self.deployments if d.mirror_percent]) > 1:
            raise ValueError("traffic is mirrored to one deployment at most")

    @property
    def temp_dir(self) -> str:
        return f"{self.run_dir}/tmp"

    @property
    def mirror(self) -> LocalDeployment | None:
        return next((d for d in self.deployments if d.mirror_percent), None)


def _upstream(name: str) -> str:
    return f"mldeploy_{name.replace('-', '_')}"


def _json(status: int, message: str) -> str:
    body = json.dumps({"error": message, "status": status})
    return f"return {status} '{body}';"  # the http block's default_type is application/json


def _model_error_codes(door: FrontDoor) -> list[int]:
    """The container statuses nginx replaces: the ones of `door` it can intercept (standard, >= 300)."""
    return [s.value for s in http.HTTPStatus if s.value in door.model_error_from]


def _model_error_location(d: LocalDeployment, door: FrontDoor) -> str:
    status = door.model_error_status
    # The gateway answers in the scorer's place: its body names where the traceback is.
    logs = f"; its log: {d.logs_command}" if d.logs_command else ""
    if door.model_error_headers:
        body = (f'{{"error": "the model container answered $upstream_status $mldeploy_model_reason (not 200){logs}", '
                f'"status": {status}, "modelStatusCode": $upstream_status}}')
        headers = (f"add_header {MODEL_ERROR_STATUS_HEADER} $upstream_status always; "
                   f'add_header {MODEL_ERROR_REASON_HEADER} "$mldeploy_model_reason" always; ')
    else:
        body = json.dumps({"error": f"the scoring script failed: run() raised (the scorer answered 500){logs}",
                           "status": status})
        headers = ""
    return (f"    location @model_error_{d.name} {{ add_header {DEPLOYMENT_HEADER} {d.name} always; {headers}"
            f"return {status} '{body}'; }}")


def render_endpoint_conf(spec: EndpointGatewaySpec) -> str:
    """nginx.conf of the local endpoint (no secret in it: the keys are an included file)."""
    t = spec.temp_dir
    door = spec.front_door
    out = [
        "# Generated by mldeploy: a local stand-in for an Azure ML online endpoint. Edit the stack, not this.",
        "daemon off;",
        "worker_processes 1;",
        f"pid {spec.run_dir}/nginx.pid;",
        "error_log stderr warn;",
        "events { worker_connections 1024; }",
        "http {",
        "  server_tokens off;",
        *[f"  {kind}_temp_path {t}/{d};" for kind, d in (("client_body", "body"), ("proxy", "proxy"),
                                                          ("fastcgi", "fastcgi"), ("uwsgi", "uwsgi"),
                                                          ("scgi", "scgi"))],
        "  access_log off;",
        "  default_type application/json;",
        f"  client_max_body_size {max(1, int(spec.max_body_mb * 1024))}k;",
        "  client_body_buffer_size 1m;",
        "  proxy_request_buffering on;",
    ]
    for d in spec.deployments:
        # max_fails=0: a server is never set aside, so "no live upstreams" (the group name in
        # $upstream_addr) means only "every slot is taken" - the 429 case, never a dead scorer.
        out += [f"  upstream {_upstream(d.name)} {{",
                f"    zone {_upstream(d.name)} 64k;",
                f"    server 127.0.0.1:{d.port} max_conns={door.admitted(d.max_concurrent)} max_fails=0;",
                "  }"]
    live = [d for d in spec.deployments if d.traffic_percent]
    out.append('  split_clients "${request_id}" $mldeploy_split {')
    for d in live[:-1]:
        out.append(f"    {d.traffic_percent}% {d.name};")
    out += [f"    * {live[-1].name};", "  }"]
    mirror = spec.mirror
    if mirror is not None:
        # A second, independent draw (its own key) decides whether this request is mirrored.
        out += ['  split_clients "mirror${request_id}" $mldeploy_mirror_on {',
                f"    {mirror.mirror_percent}% 1;", "    * 0;", "  }",
                # Copied: drawn for the mirror and not pinned to a deployment.
                '  map "$mldeploy_pinned:$mldeploy_mirror_on" $mldeploy_mirrored { default 0; ":1" 1; }',
                "  log_format mldeploy_mirror '$upstream_addr $upstream_status';"]
    header = "$http_" + DEPLOYMENT_HEADER.replace("-", "_")
    out += [f"  map {header} $mldeploy_pinned {{", '    default "-";', '    "" "";']
    out += [f"    {d.name} {d.name};" for d in spec.deployments]
    out += ["  }",
            '  map $mldeploy_pinned $mldeploy_target { "" $mldeploy_split; default $mldeploy_pinned; }',
            "  map $upstream_addr $mldeploy_full { default 0; "
            + " ".join(f"{_upstream(d.name)} 1;" for d in spec.deployments) + " }"]
    if door.model_error_headers:
        out += ["  map $upstream_status $mldeploy_model_reason {", '    default "";']
        out += [f'    {s} "{http.HTTPStatus(s).phrase}";' for s in _model_error_codes(door)]
        out.append("  }")
    if spec.keys_file:
        out += ["  map $http_authorization $mldeploy_authorized {", "    default 0;",
                f"    include {spec.keys_file};", "  }"]
    out += ["", "  server {", f"    listen 127.0.0.1:{spec.listen_port} default_server;",
            "    proxy_http_version 1.1;",
            '    proxy_set_header Connection "";',
            '    proxy_set_header Authorization "";',  # the key stays at the front door
            "    proxy_set_header X-Ms-Request-Id $request_id;",
            "    proxy_connect_timeout 5s;",
            # A POST is never retried elsewhere: scoring may not be idempotent.
            "    proxy_next_upstream off;",
            f"    location = {LIVENESS_PATH} {{ access_log off; default_type application/json; "
            """return 200 '{"status": "alive"}'; }""",
            f"    location = {SWAGGER_PATH} {{ proxy_pass http://{_upstream(live[0].name)}; }}",
            f"    location = {SCORE_PATH} {{"]
    if spec.keys_file:
        out.append('      if ($mldeploy_authorized = 0) { add_header WWW-Authenticate Bearer always; '
                   + _json(401, "missing or invalid key: send Authorization: Bearer <key>") + " }")
    out += ['      if ($mldeploy_pinned = "-") { '
            + _json(404, f"no deployment of that name (header {DEPLOYMENT_HEADER})") + " }",
            "      rewrite ^ /_mldeploy/$mldeploy_target/score last;",
            "    }"]
    for d in spec.deployments:
        out += [f"    location = /_mldeploy/{d.name}/score {{",
                "      internal;",
                f"      add_header {DEPLOYMENT_HEADER} {d.name} always;",
                f"      proxy_read_timeout {d.request_timeout_ms}ms;",
                f"      proxy_send_timeout {d.request_timeout_ms}ms;"]
        if mirror is not None and d is not mirror:
            out += [f"      mirror {MIRROR_LOCATION};", "      mirror_request_body on;"]
        codes = _model_error_codes(door)
        out += ["      error_page 504 = @timeout;", f"      error_page 502 = @e502_{d.name};",
                "      proxy_intercept_errors on;  # the container's own errors: the target's model error",
                *[f"      error_page {' '.join(map(str, codes[i:i + 16]))} = @model_error_{d.name};"
                  for i in range(0, len(codes), 16)],
                f"      proxy_pass http://{_upstream(d.name)}/score;", "    }",
                f"    location @e502_{d.name} {{ add_header {DEPLOYMENT_HEADER} {d.name} always; "
                "if ($mldeploy_full) { " + f"add_header {DEPLOYMENT_HEADER} {d.name} always; "
                + _json(door.capacity_status, f"too many pending requests: the deployment admits "
                        f"{door.admitted(d.max_concurrent)} at once")
                + " } " + _json(502, "the scorer is not reachable") + " }",
                _model_error_location(d, door)]
    out.append(f"    location @timeout {{ add_header {DEPLOYMENT_HEADER} $mldeploy_target always; "
               + _json(door.timeout_status, "request timeout: scoring took longer than requestTimeoutMs") + " }")
    if mirror is not None:
        # The mirror's own answer is discarded by nginx; only pinned-free requests of the live
        # share are copied. Its log (log_subrequest) is how a test counts what it received.
        out += [f"    location = {MIRROR_LOCATION} {{",
                "      internal;",
                "      if ($mldeploy_mirrored = 0) { return 204; }",
                "      log_subrequest on;",
                f"      access_log {spec.run_dir}/{MIRROR_LOG} mldeploy_mirror if=$mldeploy_mirrored;",
                f"      proxy_read_timeout {mirror.request_timeout_ms}ms;",
                f"      proxy_pass http://{_upstream(mirror.name)}/score;",
                "    }"]
    out += ['    location / { ' + _json(404, f"not found: POST to {SCORE_PATH}") + " }", "  }", "}"]
    return "\n".join(out) + "\n"
