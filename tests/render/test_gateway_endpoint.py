"""The local endpoint's nginx.conf (render/gateway.py with GatewaySpec.endpoint set), without
starting anything; how an endpoint's settings become that spec: tests/plan/test_gateway.py."""
from __future__ import annotations

import pytest

from mldeploy.targets import BY_NAME

MANAGED, KUBERNETES = "managed", "kubernetes-endpoint"


def front_door(target: str):
    return BY_NAME[target].settings.front_door
from mldeploy.plan.gateway import EndpointRoute, EndpointRouting, GatewaySpec, Upstream
from mldeploy.render.gateway import render_nginx_conf


def _route(name, port, traffic, mirror, timeout_ms, admitted, logs_command=""):
    return EndpointRoute(name, Upstream("127.0.0.1", port), traffic, mirror, timeout_ms, admitted, logs_command)


def _spec(*routes, keys="/k/keys.map", target=MANAGED):
    return GatewaySpec(listen_port=8900, upstreams=(), run_dir="/tmp/gw", keys_file=keys, listen_host="127.0.0.1",
                       endpoint=EndpointRouting(tuple(routes), front_door(target)))


BLUE = _route("blue", 5001, 90, 0, 5000, 4)
GREEN = _route("green", 5002, 10, 0, 3000, 2)
SHADOW = _route("shadow", 5003, 0, 10, 5000, 2)
ONLY = _route("blue", 5001, 100, 0, 5000, 2)


def test_split_lists_live_deployments_only():
    conf = render_nginx_conf(_spec(BLUE, GREEN, SHADOW))
    split = conf.split('split_clients "${request_id}" $mldeploy_split {')[1].split("}")[0]
    assert "90% blue;" in split and "* green;" in split and "shadow" not in split, split


def test_each_deployment_has_its_own_timeout_and_concurrency_cap():
    conf = render_nginx_conf(_spec(BLUE, GREEN))
    assert "server 127.0.0.1:5001 weight=1 max_conns=4 max_fails=0;" in conf
    assert "server 127.0.0.1:5002 weight=1 max_conns=2 max_fails=0;" in conf
    green = conf.split("location = /_mldeploy/green/score {")[1].split("}")[0]
    assert "proxy_read_timeout 3000ms;" in green, green


def _location(conf: str, name: str) -> str:
    return conf.split(f"location {name} {{")[1].split("\n")[0]


def test_managed_answers_408_429_and_424_with_the_containers_status():
    conf = render_nginx_conf(_spec(ONLY))
    assert "return 408 " in _location(conf, "@timeout")
    assert "return 429 " in _location(conf, "@e502_blue")
    model_error = _location(conf, "@model_error_blue")
    assert "return 424 " in model_error and '"modelStatusCode": $upstream_status' in model_error, model_error
    assert "add_header ms-azureml-model-error-statuscode $upstream_status always;" in model_error
    assert 'add_header ms-azureml-model-error-reason "$mldeploy_model_reason" always;' in model_error
    blue = conf.split("location = /_mldeploy/blue/score {")[1].split("proxy_pass")[0]
    intercepted = {int(c) for line in blue.splitlines() if "= @model_error_blue" in line
                   for c in line.split("error_page")[1].split("=")[0].split()}
    assert {400, 404, 422, 500, 503, 301} <= intercepted, "every non-200 answer of the container"
    assert not {502, 504} & intercepted, "nginx's own 502/504 keep their meaning (unreachable, timeout)"
    assert '    400 "Bad Request";' in conf


def test_kubernetes_answers_504_503_and_502_for_a_scoring_error():
    conf = render_nginx_conf(_spec(ONLY, target=KUBERNETES))
    assert "return 504 " in _location(conf, "@timeout")
    assert "return 503 " in _location(conf, "@e502_blue")
    assert "return 502 " in _location(conf, "@model_error_blue")
    assert "      error_page 500 = @model_error_blue;" in conf, "only run()'s exception (the scorer's 500)"
    assert "ms-azureml-model-error" not in conf and "return 424" not in conf


def test_live_deployments_are_mirrored_and_the_mirror_is_not():
    conf = render_nginx_conf(_spec(BLUE, GREEN, SHADOW))
    shadow = conf.split("location = /_mldeploy/shadow/score {")[1].split("}")[0]
    blue = conf.split("location = /_mldeploy/blue/score {")[1].split("}")[0]
    assert "mirror /_mldeploy_mirror;" in blue and "mirror " not in shadow


def test_no_mirror_configured_means_no_mirror_directive():
    assert "mirror /_mldeploy_mirror" not in render_nginx_conf(_spec(BLUE, GREEN))


def test_key_check_comes_from_the_keys_file():
    conf = render_nginx_conf(_spec(BLUE, GREEN))
    assert "include /k/keys.map;" in conf and "$mldeploy_authorized = 0" in conf


@pytest.mark.parametrize("target, status", [(MANAGED, 424), (KUBERNETES, 502)])
def test_a_model_error_names_the_logs_command(target, status):
    """The gateway answers in the scorer's place (its 500 body is not passed on): the answer names
    the command that shows the traceback."""
    command = "mldeploy logs --stack managed --service diabetes --local --deployment blue"
    conf = render_nginx_conf(_spec(_route("blue", 5001, 100, 0, 5000, 2, logs_command=command),
                                      target=target))
    model_error = _location(conf, "@model_error_blue")
    assert f"return {status} " in model_error and f"its log: {command}" in model_error, model_error
    assert "its log" not in render_nginx_conf(_spec(ONLY, target=target)), "no command, no mention"


def test_a_logs_command_that_nginx_could_misread_is_refused():
    with pytest.raises(ValueError):
        _route("blue", 5001, 100, 0, 5000, 2, logs_command="mldeploy logs '; return 200")


def test_an_endpoint_shares_the_services_gateway_pieces():
    """One renderer: the endpoint gets the service gateway's JSON pages for nginx's own errors,
    its request ids, its method check and its retry rule - not a second set of choices."""
    conf = render_nginx_conf(_spec(BLUE, GREEN))
    assert "    error_page 400 /.mldeploy-error/400;" in conf and "location = /.mldeploy-error/400" in conf
    assert "proxy_set_header X-Ms-Client-Request-Id $mldeploy_client_request_id;" in conf
    assert "      if ($mldeploy_method_refused) { return 405; }" in conf
    assert conf.count("proxy_next_upstream ") == 1 and "proxy_next_upstream error;" in conf


def test_a_deployment_at_capacity_is_told_apart_from_a_dead_one_by_its_group():
    conf = render_nginx_conf(_spec(BLUE, GREEN))
    assert "map $upstream_addr $mldeploy_at_capacity { default 0; mldeploy_blue 1; mldeploy_green 1; }" in conf
    after_the_capacity_case = _location(conf, "@e502_blue").split("'; } ")[-1]
    assert after_the_capacity_case.startswith("default_type application/json; return 502 "), "a refused connection stays a 502"


def test_a_spec_with_both_upstreams_and_endpoint_routes_is_refused():
    with pytest.raises(ValueError, match="deployments' scorers"):
        GatewaySpec(listen_port=8900, upstreams=(Upstream("127.0.0.1"),), run_dir="/g", keys_file="/k",
                    endpoint=EndpointRouting((ONLY,), front_door(MANAGED)))
