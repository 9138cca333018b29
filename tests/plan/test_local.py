"""plan/local.py, pure: container names, image, limits, health checks, port and gateway."""
from __future__ import annotations

from mldeploy.config.base import Secret
from mldeploy.targets.local.settings import LocalServiceSettings
from mldeploy.plan.local import SCORER_ALIAS
from mldeploy.targets.local.plan import plan_local


def _plan(stack="local", **extra):
    service = LocalServiceSettings.model_validate({"target": "local", "image": "diabetes", **extra})
    return plan_local("diabetes", service, stack=stack, tag="1-abc", context_dir="build/diabetes")


def test_docker_names_carry_stack_and_service():
    plan = _plan()
    assert (plan.network, plan.scorer_container, plan.gateway_container) == (
        "mldeploy-local-local-diabetes", "mldeploy-local-local-diabetes-scorer", "mldeploy-local-local-diabetes-gateway")


def test_the_scorer_image_is_named_by_image_and_tag():
    assert _plan().scorer_image == "mldeploy-local/diabetes:1-abc"


def test_the_gateway_reaches_the_scorer_by_its_network_alias():
    assert [u.host for u in _plan().gateway.upstreams] == [SCORER_ALIAS]


def test_the_published_port_is_the_settings_port():
    plan = _plan(port=9000)
    assert plan.published_port == 9000 and plan.scoring_uri == "http://127.0.0.1:9000/score", "services.<name>.port"


def test_the_uris_are_https_with_tls():
    plan = _plan(tls={"certificate": Secret("c"), "key": Secret("k")})
    assert plan.swagger_uri.startswith("https://127.0.0.1:"), plan.swagger_uri


def test_the_scorer_memory_is_the_settings_memory():
    assert _plan(memoryGb=2).scorer_memory_mb == 2048, "services.<name>.memoryGb"


def test_the_scorer_limit_sits_after_the_gateways():
    env = dict(_plan(scoringTimeoutMs=3000).scorer_env)
    assert env["SCORING_TIMEOUT_MS"] == "4000", "plan/timeouts.py: gateway + 1000 ms"


def test_the_scorer_health_check_waits_for_start():
    assert _plan().scorer_health.start_period == "30s"
