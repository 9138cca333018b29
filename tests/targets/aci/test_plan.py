"""targets/aci/plan.py, pure: names, the group's CPU/memory split, ports, time limits, probes, gateway."""
from __future__ import annotations

import pytest

from mldeploy.config.base import Secret
from mldeploy.targets.aci.settings import AciServiceSettings
from mldeploy.contract import ACI_GATEWAY_CPU, ACI_GATEWAY_MEMORY_GB
from mldeploy.targets.aci.plan import default_dns_name_label, plan_aci
from mldeploy.plan.timeouts import probe_window_s

TLS = {"certificate": Secret("cert"), "key": Secret("key")}


def _plan(name="diabetes-aci", stack="dev", resource_group="rg-dev", **extra):
    service = AciServiceSettings.model_validate({"target": "aci", "image": "diabetes", **extra})
    return plan_aci(name, service, stack=stack, resource_group=resource_group)


def _window(probe) -> int:
    return probe_window_s({"failureThreshold": probe.failure_threshold, "periodSeconds": probe.period_s,
                           "timeoutSeconds": probe.timeout_s})


def test_the_component_is_named_from_the_service():
    assert _plan().component == "aci-diabetes-aci", "AciService's name: aci-<service>"


def test_the_default_dns_label_is_service_stack_and_a_stable_suffix():
    assert _plan().dns_name_label == default_dns_name_label("dev", "diabetes-aci", "rg-dev")
    assert default_dns_name_label("dev", "diabetes-aci", "rg-dev").startswith("diabetes-aci-dev-")


def test_the_dns_label_suffix_differs_per_resource_group():
    assert _plan(resource_group="a").dns_name_label != _plan(resource_group="b").dns_name_label, \
        "dnsNameLabel: two groups of one stack must not collide"


def test_a_dns_label_from_the_settings_wins():
    assert _plan(dnsNameLabel="my-label").dns_name_label == "my-label", "services.<name>.dnsNameLabel"


def test_the_default_dns_label_is_a_dns_label_for_any_stack_name():
    label = default_dns_name_label("Dev_Test.UPPER" * 3, "s" * 70, "rg")
    assert len(label) <= 63 and label == label.lower() and "_" not in label and "." not in label, label


def test_the_group_is_split_between_scorer_and_gateway():
    plan = _plan(cpuCores=2, memoryGb=3)
    assert (plan.scorer.cpu + plan.gateway_resources.cpu, plan.scorer.memory_gb + plan.gateway_resources.memory_gb) \
        == pytest.approx((2, 3)), "cpuCores/memoryGb are the whole group's"
    assert (plan.gateway_resources.cpu, plan.gateway_resources.memory_gb) == (ACI_GATEWAY_CPU, ACI_GATEWAY_MEMORY_GB)


def test_the_public_port_is_80_without_tls():
    plan = _plan()
    assert (plan.gateway_port, plan.scheme, plan.gateway.listen_port) == (80, "http", 80)


def test_the_public_port_is_443_with_tls():
    plan = _plan(tls=TLS)
    assert (plan.gateway_port, plan.scheme, plan.gateway.listen_port) == (443, "https", 443)


def test_the_scorer_gets_its_workers_and_a_limit_after_the_gateways():
    env = dict(_plan(scoringTimeoutMs=5000, cpuCores=2).scorer_env)
    assert env["WORKER_COUNT"] == "1", "2 cores minus the gateway's 0.1: one sync worker"
    assert env["SCORING_TIMEOUT_MS"] == "6000", "the scorer stops 1 s after the gateway's 504 (plan/timeouts.py)"


def test_probes_on_the_scorer_outlast_its_limit():
    plan = _plan(scoringTimeoutMs=120_000)
    limit_s = int(dict(plan.scorer_env)["SCORING_TIMEOUT_MS"]) / 1000
    for which in ("scorer_liveness", "scorer_readiness", "gateway_readiness"):
        assert _window(getattr(plan, which)) > limit_s, f"{which}: fails inside the scorer's {limit_s} s"


def test_the_gateways_liveness_asks_nginx_itself():
    probe = _plan(tls=TLS).gateway_liveness
    assert (probe.path, probe.port, probe.scheme, probe.failure_threshold) == ("/healthz", 443, "https", 3)


def test_the_gateway_serves_tls_from_the_mounted_files():
    gateway = _plan(tls=TLS).gateway
    assert (gateway.tls_cert_file, gateway.tls_key_file) == ("/etc/mldeploy/tls/tls.crt", "/etc/mldeploy/tls/tls.key")


def test_auth_follows_the_settings():
    assert _plan().auth_enabled and not _plan(authEnabled=False).auth_enabled, "services.<name>.authEnabled"


def test_app_insights_follows_the_settings():
    assert _plan(appInsightsEnabled=True).app_insights and not _plan().app_insights


@pytest.mark.parametrize("tls", [None, TLS])
def test_the_scorer_drains_until_the_gateway_on_the_groups_port_has_finished(tls):
    """ACI stops a group's containers at once: the scorer is told the gateway's port, and serves
    on after its stop signal until that gateway has finished (scoring/scorer_host.py)."""
    from mldeploy.plan.aci import DRAIN_GATEWAY_PORT_ENV
    from mldeploy.scoring import scorer_host

    plan = _plan(**({"tls": tls} if tls else {}))
    assert DRAIN_GATEWAY_PORT_ENV == scorer_host.DRAIN_GATEWAY_PORT_ENV
    assert dict(plan.scorer_env)[DRAIN_GATEWAY_PORT_ENV] == str(plan.gateway_port)
