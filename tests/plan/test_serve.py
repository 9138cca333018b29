"""plan/serve.py: what `mldeploy serve` runs is decided in a plan, and the gateway it places is
the one the settings give (the same GatewaySpec the runtime built from settings before)."""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from mldeploy.targets.aks.settings import AksServiceSettings
from mldeploy.targets.managed.settings import ManagedEndpointSettings
from mldeploy.targets.online_endpoint.settings import DeploymentSettings
from mldeploy.targets.local.settings import LocalServiceSettings
from mldeploy.plan.gateway import LOCAL_ERROR_ANSWERS_LOG, TlsFiles, Upstream, endpoint_gateway, service_gateway
from mldeploy.plan.serve import EndpointServePlan, ServePlan, plan_serve, plan_serve_endpoint
from mldeploy.render.gateway import render_nginx_conf
from mldeploy.targets import target_of

LOCAL = LocalServiceSettings.model_validate({"target": "local", "image": "x", "port": 9000, "cpuCores": 6,
                                             "maxRequestBodyMb": 5, "scoringTimeoutMs": 1500,
                                             "cors": {"allowedOrigins": ["https://app.example.com"]}})
AKS = AksServiceSettings.model_validate({"target": "aks", "cluster": "c", "image": "x",
                                         "replicaMaxConcurrentRequests": 3})
ENDPOINT = ManagedEndpointSettings(target="managed", deployments={
    "blue": DeploymentSettings(image="x", traffic_percent=90, request_timeout_ms=1000),
    "green": DeploymentSettings(image="y", traffic_percent=10, max_concurrent_requests_per_instance=2),
    "shadow": DeploymentSettings(image="y", mirror_percent=20)})
STACK = SimpleNamespace(production=False, images={})  # the serve hooks read the images' batching


def test_a_placed_gateway_is_the_one_the_settings_give():
    plan = plan_serve("svc", LOCAL, production=False, port=LOCAL.port)
    upstream = Upstream("127.0.0.1", unix_socket="/tmp/mldeploy-x/scorer.sock")
    tls = TlsFiles("/run/tls.crt", "/run/tls.key")
    placed = plan.gateway_at(run_dir="/run/gw", listen_port=8123, upstream=upstream, tls=tls, max_conns=4,
                             hop_socket="/tmp/s/gateway.sock")
    direct = service_gateway(LOCAL, run_dir="/run/gw", listen_port=8123, upstreams=(upstream,),
                             listen_host="127.0.0.1", tls=tls, max_conns=4, error_answers_log=LOCAL_ERROR_ANSWERS_LOG)
    direct = dataclasses.replace(direct, hop_socket_file="/tmp/s/gateway.sock")  # the runtime's short folder
    assert placed == direct, f"the serve plan's gateway differs from the settings': {placed} != {direct}"
    assert render_nginx_conf(placed) == render_nginx_conf(direct)


def test_the_serve_plan_holds_every_decision_the_runtime_reads():
    plan = plan_serve("svc", LOCAL, production=False, port=LOCAL.port)
    assert (plan.auth_enabled, plan.tls_on, plan.tls, plan.workers, plan.scoring_timeout_ms, plan.port) == \
        (True, False, None, 6, 1500, 9000), plan


def test_the_table_gives_each_target_its_serve_plan():
    local = target_of(LOCAL).serve_plan("a", LOCAL, STACK, "")
    aks = target_of(AKS).serve_plan("b", AKS, STACK, "")
    endpoint = target_of(ENDPOINT).serve_plan("c", ENDPOINT, STACK, "mldeploy logs --stack s --service c")
    assert isinstance(local, ServePlan) and local.port == 9000 and local.max_concurrent is None
    assert isinstance(aks, ServePlan) and aks.max_concurrent == 3, "an AKS service admits replicaMaxConcurrentRequests"
    assert isinstance(endpoint, EndpointServePlan) and endpoint.images == ("x", "y")


def test_a_placed_endpoint_gateway_is_the_one_the_settings_give():
    logs = "mldeploy logs --stack s --service c"
    plan = plan_serve_endpoint("c", ENDPOINT, logs_command=logs)
    scorers = {"blue": Upstream("127.0.0.1", 7001), "green": Upstream("127.0.0.1", 7002),
               "shadow": Upstream("127.0.0.1", 7003)}
    placed = plan.gateway_at(run_dir="/run/gw", listen_port=8124, scorers=scorers)
    direct = endpoint_gateway(ENDPOINT, run_dir="/run/gw", listen_port=8124, scorers=scorers, logs_command=logs)
    assert placed == direct, f"the endpoint serve plan's gateway differs from the settings': {placed} != {direct}"
    assert [(d.name, d.image, d.workers, d.request_timeout_ms) for d in plan.deployments] == \
        [(n, d.image, d.workers, d.request_timeout_ms) for n, d in sorted(ENDPOINT.deployments.items())]
