"""The nginx reader (policies/nginx.py) and what it finds in the configs render_nginx_conf emits
(policies/gateway.py): auth on vs off, TLS on vs off, and equivalent hand-written spellings."""
from __future__ import annotations

import dataclasses

import pytest

from mldeploy.plan.gateway import GatewaySpec, Upstream
from mldeploy.render.gateway import render_nginx_conf
from mldeploy.policies.gateway import auth_problems, tls_problems
from mldeploy.policies.nginx import NginxSyntaxError, location_for, parse

BASE = GatewaySpec(listen_port=8890, upstreams=(Upstream("127.0.0.1"),), run_dir="/tmp/nginx",
                   keys_file="/etc/keys/keys.map")
TLS = dataclasses.replace(BASE, tls_cert_file="/etc/tls/tls.crt", tls_key_file="/etc/tls/tls.key")


def conf(spec: GatewaySpec):
    return parse(render_nginx_conf(spec))


def wrap(server_body: str, http_extra: str = "") -> tuple:
    return parse("http {\n" + http_extra + "\n server {\n" + server_body + "\n }\n}\n")


# -- the reader ---------------------------------------------------------------------------------

def test_quotes_comments_and_blocks_are_read_as_nginx_reads_them():
    top = parse("a 'x; {y}' \"q\\\"z\"; # b c;\nblk arg { inner ${v}x; }\n")
    assert [(d.name, d.args) for d in top] == [("a", ("x; {y}", 'q"z')), ("blk", ("arg",))]
    assert top[1].block[0].args == ("${v}x",) and top[1].line == 2


@pytest.mark.parametrize("text", ["a {", "a }", "a b", "'open", "{ b; }"])
def test_broken_config_is_an_error_not_a_guess(text):
    with pytest.raises(NginxSyntaxError):
        parse(text)


def test_location_selection_follows_nginx_precedence():
    server = wrap("location / { a; } location /sc { b; } location ~ ^/score$ { c; } "
                  "location ^~ /static { d; } location = /exact { e; } location ~* \\.PNG$ { f; }")[0].block[0]
    picked = {p: location_for(server, p).block[0].name for p in
              ("/score", "/scox", "/static/x.png", "/exact", "/x.png", "/other")}
    assert picked == {"/score": "c", "/scox": "b", "/static/x.png": "d", "/exact": "e", "/x.png": "f",
                      "/other": "a"}


# -- what render_nginx_conf emits ---------------------------------------------------------------

def test_rendered_config_with_auth_has_the_key_check():
    problems, files = auth_problems(conf(BASE))
    assert problems == [] and files == ["/etc/keys/keys.map"]


def test_rendered_config_without_auth_has_no_key_check():
    problems, files = auth_problems(conf(dataclasses.replace(BASE, auth_enabled=False, keys_file=None)))
    assert len(problems) == 1 and "without the key check" in problems[0] and files == []


def test_rendered_config_with_cors_keeps_the_key_check_after_the_preflight():
    problems, _ = auth_problems(conf(dataclasses.replace(BASE, cors_origins=("https://app.example.com",))))
    assert problems == []


def test_rendered_config_with_tls_listens_with_ssl_only():
    problems, files = tls_problems(conf(TLS))
    assert problems == [] and files == ["/etc/tls/tls.crt", "/etc/tls/tls.key"]


def test_a_unix_socket_listener_is_no_plain_http_port():
    """The gateway's own hop (chunked bodies) listens on a socket file, not a network port."""
    rendered = render_nginx_conf(TLS)
    assert "listen unix:/tmp/nginx/gateway.sock;" in rendered, "the rendered TLS config has the hop socket"
    problems, _ = tls_problems(parse(rendered.replace("listen unix:", "listen 127.0.0.1:9000;\n    listen unix:", 1)))
    assert [p for p in problems if "has no `ssl`" in p] == ["`listen 127.0.0.1:9000` has no `ssl`: that port serves plain HTTP"]


def test_rendered_config_without_tls_is_plain_http():
    problems, _ = tls_problems(conf(BASE))
    assert "`listen 0.0.0.0:8890 default_server` has no `ssl`: that port serves plain HTTP" in problems
    assert any("no `ssl_certificate`" in p for p in problems)


# -- other spellings ----------------------------------------------------------------------------

KEYS_MAP = "map $http_authorization $ok { default 0; include /k/keys.map; }"


@pytest.mark.parametrize("check", ["if ($ok = 0) { return 401; }", "if ($ok != 1) { return 403; }",
                                   "if (!$ok) { return 401; }"])
def test_equivalent_key_checks_count(check):
    problems, files = auth_problems(wrap("listen 80; location = /score { " + check + " proxy_pass http://u; }",
                                        KEYS_MAP))
    assert problems == [] and files == ["/k/keys.map"]


def test_check_on_a_map_of_another_header_does_not_count():
    top = wrap("location = /score { if ($ok = 0) { return 401; } proxy_pass http://u; }",
               "map $http_x_anything $ok { default 0; include /k/keys.map; }")
    assert "without the key check" in auth_problems(top)[0][0]


def test_check_that_does_not_reject_does_not_count():
    top = wrap("location = /score { if ($ok = 0) { set $x 1; } proxy_pass http://u; }", KEYS_MAP)
    assert "without the key check" in auth_problems(top)[0][0]


def test_map_without_a_default_lets_requests_through():
    # An unmatched map value is "", and `"" = 0` is false: the `if` never fires.
    top = wrap("location = /score { if ($ok = 0) { return 401; } }",
               "map $http_authorization $ok { include /k/keys.map; }")
    assert auth_problems(top)[0] == ["`map $http_authorization $ok` lets requests without a valid key through: "
                                     "its default is ''"]


def test_weak_tls_protocols_and_missing_listen_are_reported():
    problems, _ = tls_problems(wrap("ssl_certificate /c; ssl_certificate_key /k; ssl_protocols TLSv1 TLSv1.2;"))
    assert any("has no `listen`" in p for p in problems) and any("allows TLSv1 (ssl_protocols)" in p
                                                                 for p in problems)
