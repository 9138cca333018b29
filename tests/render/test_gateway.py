"""The gateway renderer, pure: what nginx.conf and the keys map say for a given GatewaySpec
(how settings become a GatewaySpec: tests/plan/test_gateway.py)."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from mldeploy.contract import GATEWAY_IMAGE
from mldeploy.targets import BY_NAME
from mldeploy.plan.gateway import EndpointRoute, EndpointRouting, GatewaySpec, Upstream
from mldeploy.render.gateway import config_dirs, render_keys_map, render_nginx_conf

PRIMARY = "primaryKeyAbcdefgh12"
SECONDARY = "second.Key+/=-~_xyz0"


def _spec(**fields) -> GatewaySpec:
    """A local gateway with auth on; `fields` change it."""
    return GatewaySpec(**{"listen_port": 8890, "upstreams": (Upstream("127.0.0.1"),), "run_dir": "/g",
                          "keys_file": "/g/keys.map", **fields})


def test_the_keys_file_is_included_and_cors_is_off_by_default():
    conf = render_nginx_conf(_spec())
    assert "include /g/keys.map;" in conf, "the key check must include spec.keys_file"
    assert "Access-Control-Allow-Origin $" not in conf, "CORS must be off by default"


def test_the_body_limit_is_rendered_in_kilobytes():
    assert "client_max_body_size 88064k;" in render_nginx_conf(_spec(max_body_mb=86)), "86 MB = 88064 KB"


def test_auth_off_renders_no_key_check():
    conf = render_nginx_conf(_spec(auth_enabled=False, keys_file=None))
    assert "mldeploy_authorized" not in conf


def test_no_secret_in_conf_and_keys_only_in_map():
    spec = _spec()
    conf = render_nginx_conf(spec)
    keys = render_keys_map(PRIMARY, SECONDARY)
    assert PRIMARY not in conf and "primaryKeyAbcdefgh12" in keys
    assert keys.count(" 1;") == 2, "both keys must be accepted"


def test_keys_are_matched_case_sensitively():
    # A plain map string matches ignoring case; the keys must be regexes with `~` (not `~*`).
    for line in render_keys_map(PRIMARY, SECONDARY).splitlines()[1:]:
        assert line.startswith('"~^(?i:bearer)'), line  # only the scheme ignores case (RFC 7235)


@pytest.mark.parametrize("bad", ["short", "has space in the key!", 'quote"inthekey12345', "semi;colon-key-1234567"])
def test_unsafe_keys_are_refused(bad):
    with pytest.raises(ValueError, match="service key"):
        render_keys_map(bad, SECONDARY)


def test_weighted_upstreams_for_traffic_split():
    spec = GatewaySpec(listen_port=80, run_dir="/g", auth_enabled=False,
                       upstreams=(Upstream("blue", 5001, 90), Upstream("green", 5001, 10)))
    conf = render_nginx_conf(spec)
    assert "server blue:5001 weight=90;" in conf and "server green:5001 weight=10;" in conf
    assert "keepalive 32;" in conf


def test_every_scorer_group_lets_idle_kept_connections_go_within_milliseconds():
    """A scorer worker behind the gateway keeps its connection while nobody waits
    (scoring/scorer_host.py): nginx must not hold an idle one for its default 60 s."""
    from mldeploy.render.gateway import KEEPALIVE_IDLE_MS

    spec = GatewaySpec(listen_port=80, run_dir="/g", auth_enabled=False,
                       upstreams=(Upstream("blue", 5001, 90), Upstream("green", 5001, 10)))
    conf = render_nginx_conf(spec)
    groups = re.findall(r"(?m)^  upstream \S+ \{.*?^  \}", conf, re.S)
    # The scorers, and the gateway's own hop for chunked bodies (nginx behind it closes idle ones after 75 s).
    assert len(groups) == 2 and all(f"keepalive_timeout {KEEPALIVE_IDLE_MS}ms;" in g for g in groups), groups
    assert KEEPALIVE_IDLE_MS <= 100


def test_an_upstream_on_a_unix_socket_is_served_by_its_path():
    spec = GatewaySpec(listen_port=80, run_dir="/g", auth_enabled=False,
                       upstreams=(Upstream("127.0.0.1", unix_socket="/tmp/mldeploy-x/scorer.sock"),))
    assert "server unix:/tmp/mldeploy-x/scorer.sock weight=1;" in render_nginx_conf(spec)


@pytest.mark.parametrize("path", ["relative.sock", "/tmp/a b.sock", "/tmp/a;b.sock", "/tmp/{a}.sock"])
def test_an_unusable_unix_socket_path_is_refused(path):
    with pytest.raises(ValueError, match="socket path"):
        GatewaySpec(listen_port=80, run_dir="/g", auth_enabled=False,
                    upstreams=(Upstream("127.0.0.1", unix_socket=path),))


def test_zero_weight_upstream_is_down_and_all_zero_refused():
    spec = GatewaySpec(listen_port=80, run_dir="/g", auth_enabled=False,
                       upstreams=(Upstream("blue", 5001, 100), Upstream("green", 5001, 0)))
    assert "server green:5001 down;" in render_nginx_conf(spec)
    with pytest.raises(ValueError, match="weight"):
        GatewaySpec(listen_port=80, run_dir="/g", auth_enabled=False, upstreams=(Upstream("b", 1, 0),))


def test_timeout_body_limit_and_cors_are_rendered():
    conf = render_nginx_conf(_spec(scoring_timeout_ms=1500, max_body_mb=0.5, cors_origins=("https://app.example",)))
    assert "proxy_read_timeout 1500ms;" in conf
    assert "client_max_body_size 512k;" in conf
    assert '"https://app.example" $http_origin;' in conf


def test_tls_files_make_it_listen_with_ssl():
    conf = render_nginx_conf(_spec(tls_cert_file="/tls/tls.crt", tls_key_file="/tls/tls.key"))
    assert "ssl_certificate /tls/tls.crt;" in conf and " ssl default_server;" in conf


def test_tls_reload_reads_the_files_at_each_handshake():
    conf = render_nginx_conf(_spec(tls_cert_file="/tls/tls.crt", tls_key_file="/tls/tls.key", tls_reload=True))
    assert "ssl_certificate /tls/tls.crt$mldeploy_tls_reload;" in conf


def test_a_certificate_without_its_key_is_refused():
    with pytest.raises(ValueError, match="both a certificate file and a key file"):
        _spec(tls_cert_file="/tls/tls.crt")


def test_invalid_origin_refused():
    with pytest.raises(ValueError, match="CORS origin"):
        GatewaySpec(listen_port=80, run_dir="/g", auth_enabled=False,
                    upstreams=(Upstream("a"),), cors_origins=("https://x; evil",))


def test_no_capacity_cap_by_default():
    conf = render_nginx_conf(_spec())
    assert "max_conns" not in conf and "zone " not in conf and "mldeploy_at_capacity" not in conf
    assert "server 127.0.0.1:5001 weight=1;" in conf


def test_capacity_cap_per_upstream_server_with_a_shared_zone():
    spec = GatewaySpec(listen_port=80, run_dir="/g", auth_enabled=False, max_conns=3,
                       upstreams=(Upstream("blue", 5001, 90), Upstream("green", 5001, 10), Upstream("old", 5001, 0)))
    conf = render_nginx_conf(spec)
    assert "zone mldeploy_scorer 64k;" in conf, "without a zone each nginx worker counts on its own"
    assert "server blue:5001 weight=90 max_conns=3 max_fails=0;" in conf
    assert "server green:5001 weight=10 max_conns=3 max_fails=0;" in conf
    assert "server old:5001 down;" in conf


def test_capacity_502_becomes_a_503_json_with_retry_after_and_real_502_stays():
    conf = render_nginx_conf(_spec(max_conns=2))
    # Only the "no live upstreams" case, where $upstream_addr is the group name, not an address.
    assert "map $upstream_addr $mldeploy_at_capacity { default 0; mldeploy_scorer 1; }" in conf
    e502 = next(line for line in conf.splitlines() if "location @e502" in line)
    branch, rest = e502.split("} ", 1)
    assert branch.strip().startswith("location @e502 { if ($mldeploy_at_capacity) {")
    assert "add_header Retry-After 1 always;" in branch
    assert """return 503 '{"error": "the service is at capacity, retry later", "status": 503}';""" in branch
    assert """return 502 '{"error": "the scorer is not reachable", "status": 502}';""" in rest


def test_capacity_503_keeps_the_cors_headers():
    # add_header inside `if` replaces the location's headers: the CORS ones must be repeated.
    conf = render_nginx_conf(_spec(cors_origins=("https://app.example",), max_conns=1))
    branch = next(line for line in conf.splitlines() if "location @e502" in line).split("return 503")[0]
    assert "add_header Access-Control-Allow-Origin $mldeploy_cors_origin always;" in branch


def test_capacity_below_one_refused():
    with pytest.raises(ValueError, match="max_conns"):
        GatewaySpec(listen_port=80, run_dir="/g", auth_enabled=False, upstreams=(Upstream("a"),), max_conns=0)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed")
def test_nginx_accepts_every_variant(tmp_path):
    (tmp_path / "tls").mkdir()
    variants = [
        GatewaySpec(listen_port=18081, run_dir=str(tmp_path), keys_file=str(tmp_path / "keys.map"),
                    upstreams=(Upstream("127.0.0.1"),), cors_origins=("*",)),
        GatewaySpec(listen_port=18081, run_dir=str(tmp_path), auth_enabled=False,
                    upstreams=(Upstream("127.0.0.1", 5001, 3), Upstream("localhost", 5002, 1))),
        GatewaySpec(listen_port=18081, run_dir=str(tmp_path), keys_file=str(tmp_path / "keys.map"),
                    upstreams=(Upstream("127.0.0.1", 5001, 3), Upstream("localhost", 5002, 1)),
                    cors_origins=("https://app.example",), max_conns=2),
        *[GatewaySpec(listen_port=18081, run_dir=str(tmp_path), keys_file=str(tmp_path / "keys.map"), upstreams=(),
                      endpoint=EndpointRouting((EndpointRoute("blue", Upstream("127.0.0.1", 5001), 90, 0, 5000, 2),
                                                EndpointRoute("green", Upstream("127.0.0.1", 5002), 10, 0, 3000, 1),
                                                EndpointRoute("shadow", Upstream("127.0.0.1", 5003), 0, 10, 5000, 1,
                                                              "mldeploy logs --deployment shadow")),
                                               BY_NAME[target].settings.front_door))
          for target in ("managed", "kubernetes-endpoint")],
    ]
    (tmp_path / "keys.map").write_text(render_keys_map(PRIMARY, SECONDARY))
    for d in config_dirs(variants[0]):
        (tmp_path / d.replace(str(tmp_path), "").lstrip("/")).mkdir(parents=True, exist_ok=True)
    for spec in variants:
        conf = tmp_path / "nginx.conf"
        conf.write_text(render_nginx_conf(spec))
        result = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(conf), "-e", "stderr"],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_one_gateway_image_pinned_by_digest_for_every_target():
    from mldeploy.targets.aks.settings import AksServiceSettings

    assert re.fullmatch(r"nginx:1\.27\.4-alpine@sha256:[0-9a-f]{64}", GATEWAY_IMAGE), GATEWAY_IMAGE
    aks = AksServiceSettings.model_validate({"target": "aks", "cluster": "c", "image": "i"})
    assert aks.gateway_image == GATEWAY_IMAGE, "AKS's default gatewayImage is the same constant"


def test_only_the_scorers_431_is_replaced_and_only_where_it_can_be_granians():
    """The scorer's statuses pass as they are, except granian's empty 431 (more than 100 headers):
    intercepted in an inner location whose error_page list has nothing the scorer answers with a
    body of its own; over-long id headers (azmlinfsrv's own JSON 431) stay out, and chunked bodies
    are read first (nginx's 400 for a bad chunk stays JSON), then take the gateway's own hop."""
    conf = render_nginx_conf(_spec())
    inner = conf.split("location = /.mldeploy-scorer/score {")[1].split("\n    }")[0]
    pages = {int(line.split()[1]) for line in inner.splitlines() if line.strip().startswith("error_page")}
    assert pages == {431, 408, 502, 504}, pages
    assert "proxy_intercept_errors on;" in inner
    hop = conf.split("location = /.mldeploy-dechunked/score {")[1].split("\n    }")[0]
    assert inner.split("proxy_intercept_errors")[1] == hop.split("proxy_intercept_errors")[1], "the hop intercepts alike"
    assert 'if ($remote_addr != "unix:") { return 404 \'{"error": "not found' in hop, "only the gateway's own socket reaches the hop"
    assert conf.count("proxy_intercept_errors") == 2
    score = conf.split("location = /score {")[1].split("\n    }")[0]
    assert "rewrite ^ $mldeploy_scorer_path last;" in score and "proxy_intercept_errors" not in score
    chunked = conf.split("location = /.mldeploy-chunked/score {")[1].split("\n    }")[0]
    assert "proxy_intercept_errors" not in chunked and "error_page" not in chunked, "nginx's read errors: the server's JSON"
    routes = conf.split("$mldeploy_scorer_path {")[1].split("\n  }")[0].split("\n")
    assert [r.strip() for r in routes if r.strip()][1:] == ['"~[^|]{101}" "";', '"~^[^|]" /.mldeploy-chunked/score;'], \
        "long ids keep the plain path (checked first), chunked bodies take the hop"


def test_a_request_that_reached_a_scorer_is_never_passed_to_another():
    """One retry rule for every gateway: on to the next server only when no scorer got the request
    (a refused or reset connection); never after a timeout - run() would run a second time."""
    lines = [line.strip() for line in render_nginx_conf(_spec(upstreams=(Upstream("a", 5001, 9), Upstream("b", 5001, 1))))
             .splitlines() if line.strip().startswith("proxy_next_upstream")]
    assert lines == ["proxy_next_upstream error;"], lines


def test_nothing_per_request_that_the_scorer_does_anyway_or_a_hash_can_do():
    """issue 23 (nginx's CPU per request): the regexes of the maps run JIT-compiled; the gateway
    makes no request id of its own ($request_id is RAND_bytes + getpid() per request; the scorer
    makes one when the client sends none, as azmlinfsrv does); the method check is a hashed map."""
    conf = render_nginx_conf(_spec())
    assert "\npcre_jit on;\n" in conf
    assert "$request_id" not in conf, "a service gateway makes no request id per request"
    assert "$request_method !~" not in conf and "if ($mldeploy_method_refused) { return 405; }" in conf
    method_map = conf.split("map $request_method $mldeploy_method_refused {")[1].split("}")[0].split()
    assert method_map == ["default", "1;", "GET", "0;", "HEAD", "0;", "POST", "0;", "OPTIONS", "0;"], method_map
