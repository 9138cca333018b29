"""plan/gateway.py: how a service's settings and the caller's placement become a GatewaySpec."""
from __future__ import annotations

import pytest

from mldeploy.targets.aks.settings import AksServiceSettings
from mldeploy.config.base import Secret
from mldeploy.targets.local.settings import LocalServiceSettings
from mldeploy.targets import BY_NAME
from mldeploy.plan.gateway import TlsFiles, Upstream, container_gateway, endpoint_gateway, gateway_workers, service_gateway

TLS = {"certificate": Secret("cert"), "key": Secret("key")}


def _service(**extra) -> LocalServiceSettings:
    return LocalServiceSettings.model_validate({"target": "local", "image": "diabetes", **extra})


def test_auth_is_on_with_the_keys_file_in_the_run_dir_by_default():
    spec = service_gateway(_service(), run_dir="/run/gw")
    assert spec.auth_enabled and spec.keys_file == "/run/gw/keys.map", "authEnabled defaults to true"


def test_auth_off_has_no_keys_file():
    spec = service_gateway(_service(authEnabled=False), run_dir="/g", keys_file="/k/keys.map")
    assert not spec.auth_enabled and spec.keys_file is None, "authEnabled: false must drop the key check"


def test_the_body_limit_defaults_to_what_the_memory_holds():
    # 1 GB, 1 worker: (1024 MB - 160 MB idle) / 10 per body MB -> 86 MB (plan/memory.py).
    assert service_gateway(_service(), run_dir="/g").max_body_mb == 86, "maxRequestBodyMb omitted"


def test_timeout_body_limit_and_cors_come_from_the_settings():
    spec = service_gateway(_service(scoringTimeoutMs=1500, maxRequestBodyMb=0.5,
                                    cors={"allowedOrigins": ["https://app.example"]}), run_dir="/g")
    assert (spec.scoring_timeout_ms, spec.max_body_mb, spec.cors_origins) == (1500, 0.5, ("https://app.example",)), \
        "scoringTimeoutMs, maxRequestBodyMb, cors.allowedOrigins"


def test_tls_files_are_given_up_front_with_their_reload():
    spec = service_gateway(_service(), run_dir="/g", tls=TlsFiles.in_dir("/tls", reload=True))
    assert (spec.tls_cert_file, spec.tls_key_file, spec.tls_reload) == ("/tls/tls.crt", "/tls/tls.key", True)


def test_tls_in_the_settings_without_files_from_the_caller_serves_plain_http():
    # The caller decides where the certificate is (serve's --tls-cert files replace the settings').
    assert not service_gateway(_service(tls=TLS), run_dir="/g").tls_enabled, "tls=None must mean no TLS"


def test_max_conns_and_upstreams_are_passed_through():
    spec = service_gateway(_service(), run_dir="/g", upstreams=(Upstream("blue", 5001, 9),), max_conns=4)
    assert spec.upstreams == (Upstream("blue", 5001, 9),) and spec.max_conns == 4


def test_the_gateway_cores_may_differ_from_the_service_cores():
    aks = AksServiceSettings.model_validate({"target": "aks", "cluster": "c", "image": "i", "cpuCores": 8})
    assert service_gateway(aks, run_dir="/g").worker_processes == 2, "8 service cores: 2 nginx workers"
    assert service_gateway(aks, run_dir="/g", cpu_cores=0.25).worker_processes == 1, "a 0.25-core sidecar: 1"


def test_a_container_gateway_mounts_config_keys_and_tls_under_etc_and_writes_to_tmp():
    spec = container_gateway(_service(tls=TLS), listen_port=443)
    assert spec.run_dir == "/tmp/nginx" and spec.keys_file == "/etc/mldeploy/gateway/keys.map"
    assert (spec.tls_cert_file, spec.tls_key_file) == ("/etc/mldeploy/tls/tls.crt", "/etc/mldeploy/tls/tls.key")


def test_a_container_gateway_logs_to_stdout():
    assert container_gateway(_service(), listen_port=80).access_log == "/dev/stdout", "containers log to stdout"


def test_a_container_gateway_without_tls_settings_serves_plain_http():
    assert not container_gateway(_service(), listen_port=80).tls_enabled


def test_gateway_workers_follow_cores():
    assert gateway_workers(2) == 1
    assert gateway_workers(1) == 1
    assert gateway_workers(0.5) == 1
    assert gateway_workers(8) == 2


def _endpoint(settings_class, target: str):
    from mldeploy.targets.online_endpoint.settings import DeploymentSettings

    cluster = {"cluster": "k8s"} if target == "kubernetes-endpoint" else {}
    return settings_class(target=target, **cluster, deployments={
        "blue": DeploymentSettings(image="diabetes", traffic_percent=100, max_concurrent_requests_per_instance=3,
                                   request_timeout_ms=4000),
        "green": DeploymentSettings(image="diabetes", traffic_percent=0, request_timeout_ms=9000)})


@pytest.mark.parametrize("target, admitted", [("managed", 6), ("kubernetes-endpoint", 3)])
def test_an_endpoint_gateway_routes_each_deployment_as_its_front_door_admits(target, admitted):
    settings_class = BY_NAME[target].settings
    spec = endpoint_gateway(_endpoint(settings_class, target), run_dir="/run/gw", listen_port=8900,
                            scorers={"blue": Upstream("127.0.0.1", 5001), "green": Upstream("127.0.0.1", 5002)},
                            logs_command="mldeploy logs --stack s --service e --local")
    blue, green = spec.endpoint.routes
    assert (blue.name, blue.upstream.port, blue.admitted) == ("blue", 5001, admitted), blue
    assert blue.logs_command == "mldeploy logs --stack s --service e --local --deployment blue"
    assert spec.endpoint.live == (blue,) and spec.endpoint.front_door is settings_class.front_door
    assert spec.upstreams == () and spec.listen_host == "127.0.0.1", "the rehearsal listens on loopback only"
    assert spec.keys_file == "/run/gw/keys.map" and spec.auth_enabled, "keys always on locally"
    assert spec.scoring_timeout_ms == 9000, "swagger and probes wait as long as the slowest deployment"
