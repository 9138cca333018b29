"""The local endpoint's nginx.conf (runtime/endpoint_gateway.py), without starting anything."""
from __future__ import annotations

import pytest

from mldeploy.runtime.endpoint_gateway import EndpointGatewaySpec, LocalDeployment, render_endpoint_conf


def _spec(*deployments, keys="/k/keys.map"):
    return EndpointGatewaySpec(listen_port=8900, run_dir="/tmp/gw", deployments=deployments, keys_file=keys)


BLUE = LocalDeployment("blue", 5001, 90, 0, 5000, 2)
GREEN = LocalDeployment("green", 5002, 10, 0, 3000, 1)
SHADOW = LocalDeployment("shadow", 5003, 0, 10, 5000, 1)


def test_split_lists_live_deployments_only():
    conf = render_endpoint_conf(_spec(BLUE, GREEN, SHADOW))
    split = conf.split('split_clients "${request_id}" $mldeploy_split {')[1].split("}")[0]
    assert "90% blue;" in split and "* green;" in split and "shadow" not in split, split


def test_each_deployment_has_its_own_timeout_and_concurrency_cap():
    conf = render_endpoint_conf(_spec(BLUE, GREEN))
    assert "server 127.0.0.1:5001 max_conns=2 max_fails=0;" in conf
    assert "server 127.0.0.1:5002 max_conns=1 max_fails=0;" in conf
    green = conf.split("location = /_mldeploy/green/score {")[1].split("}")[0]
    assert "proxy_read_timeout 3000ms;" in green, green


def test_live_deployments_are_mirrored_and_the_mirror_is_not():
    conf = render_endpoint_conf(_spec(BLUE, GREEN, SHADOW))
    shadow = conf.split("location = /_mldeploy/shadow/score {")[1].split("}")[0]
    blue = conf.split("location = /_mldeploy/blue/score {")[1].split("}")[0]
    assert "mirror /_mldeploy_mirror;" in blue and "mirror " not in shadow


def test_no_mirror_configured_means_no_mirror_directive():
    assert "mirror /_mldeploy_mirror" not in render_endpoint_conf(_spec(BLUE, GREEN))


def test_key_check_comes_from_the_keys_file():
    conf = render_endpoint_conf(_spec(BLUE, GREEN))
    assert "include /k/keys.map;" in conf and "$mldeploy_authorized = 0" in conf


def test_traffic_not_summing_to_100_is_refused():
    with pytest.raises(ValueError, match="sum to 100"):
        _spec(LocalDeployment("blue", 5001, 50, 0, 5000, 1))


def test_two_mirrors_are_refused():
    with pytest.raises(ValueError, match="one deployment"):
        _spec(LocalDeployment("blue", 5001, 100, 0, 5000, 1), LocalDeployment("aaa", 5002, 0, 5, 5000, 1),
              LocalDeployment("bbb", 5003, 0, 5, 5000, 1))
