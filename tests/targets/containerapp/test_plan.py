"""mldeploy/targets/containerapp plan and checks, pure: sizes, scale, probes, revisions, traffic."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from mldeploy.config.errors import ConfigError
from mldeploy.plan.timeouts import probe_window_s, scorer_timeout_ms
from mldeploy.targets.containerapp.config import ContainerAppServiceSettings
from mldeploy.targets.containerapp.plan import MAX_FAILURE_THRESHOLD, check, plan_containerapp

TAGS = {"diabetes": "1-aaaaaaaaaaaa", "diabetes-v2": "1-bbbbbbbbbbbb"}
BLUE_GREEN = {"blue": {"image": "diabetes", "trafficPercent": 90},
              "green": {"image": "diabetes-v2", "trafficPercent": 10}}


def _service(**extra) -> ContainerAppServiceSettings:
    return ContainerAppServiceSettings.model_validate({"target": "containerapp", "image": "diabetes", **extra})


def _plan(name="diabetes-aca", **extra):
    return plan_containerapp(name, _service(**extra), image_tags=TAGS)


def _stack(production=False):
    return SimpleNamespace(production=production, images={"diabetes": None, "diabetes-v2": None})


def test_the_replica_splits_into_scorer_and_a_quarter_core_gateway():
    plan = _plan(cpuCores=1.5, memoryGb=3)
    assert (plan.scorer.cpu, plan.scorer.memory) == (1.25, "2.5Gi")
    assert (plan.gateway_resources.cpu, plan.gateway_resources.memory) == (0.25, "0.5Gi")


@pytest.mark.parametrize("cpu,memory", [(1, 1), (1.1, 2.2), (4.5, 9), (0.25, 0.5)])
def test_a_size_that_is_no_consumption_replica_is_refused(cpu, memory):
    with pytest.raises(ValidationError, match="cpuCores"):
        _service(cpuCores=cpu, memoryGb=memory)


def test_scale_to_zero_by_default_with_an_http_rule_at_the_scorers_concurrency():
    plan = _plan(cpuCores=2.25, memoryGb=4.5)
    assert plan.min_replicas == 0 and plan.scale_to_zero and plan.max_replicas == 10
    assert plan.concurrent_requests == 2, "one request per scorer worker: 2 whole cores beside the gateway"
    assert _plan(workerCount=5).concurrent_requests == 5


def test_min_replicas_above_max_is_refused():
    with pytest.raises(ValidationError, match=r"minReplicas \(3\) must be <= maxReplicas \(2\)"):
        _service(minReplicas=3, maxReplicas=2)


def test_production_refuses_scale_to_zero_naming_the_key():
    check("diabetes-aca", _service(minReplicas=1), _stack(production=True))
    with pytest.raises(ConfigError, match=r"services\.diabetes-aca\.minReplicas: minReplicas 0 in a production"):
        check("diabetes-aca", _service(), _stack(production=True))


@pytest.mark.parametrize("timeout_ms", [100, 60_000, 180_000, 300_000])
def test_scorer_probes_outlast_the_scorers_limit_within_the_apis_bounds(timeout_ms):
    plan = _plan(scoringTimeoutMs=timeout_ms)
    for probe in plan.probes_scorer:
        window = probe_window_s({"failureThreshold": probe.failure_threshold, "periodSeconds": probe.period_s,
                                 "timeoutSeconds": probe.timeout_s})
        assert window > scorer_timeout_ms(timeout_ms) / 1000, f"{probe.kind} window {window}s at {timeout_ms} ms"
        assert 1 <= probe.failure_threshold <= MAX_FAILURE_THRESHOLD, "ContainerAppProbe.failureThreshold 1-10"
        assert 1 <= probe.period_s <= 240 and 1 <= probe.initial_delay_s <= 60


def test_without_revisions_all_traffic_goes_to_the_templates_revision():
    plan = _plan()
    assert [(t.label, t.revision_name, t.percent) for t in plan.traffic] == [("live", plan.revision_name, 100)]
    assert plan.revision_name.startswith("diabetes-aca--r")


def test_blue_green_labels_name_one_revision_per_image():
    plan = _plan(revisions=BLUE_GREEN)
    shares = {t.label: t for t in plan.traffic}
    assert shares["blue"].revision_name == plan.revision_name, "blue runs the template's image"
    assert shares["green"].revision_name != plan.revision_name
    assert (shares["blue"].percent, shares["green"].percent) == (90, 10)


def test_promotion_changes_no_revision_name():
    before = _plan(revisions=BLUE_GREEN)
    after = _plan(revisions={"blue": {"image": "diabetes", "trafficPercent": 0},
                             "green": {"image": "diabetes-v2", "trafficPercent": 100}})
    assert before.revision_suffix == after.revision_suffix, "a weight is app-scope: no new revision"
    assert [t.revision_name for t in before.traffic] == [t.revision_name for t in after.traffic]


def test_a_revision_scope_change_gets_a_new_revision_suffix():
    base = _plan().revision_suffix
    assert _plan(cpuCores=2, memoryGb=4).revision_suffix != base, "resources are revision-scope"
    assert _plan(maxReplicas=20).revision_suffix != base, "scale is revision-scope"
    assert _plan(maxRequestBodyMb=5).revision_suffix != base, "a changed nginx.conf must roll a new revision"
    assert plan_containerapp("diabetes-aca", _service(), image_tags={**TAGS, "diabetes": "2-cccccccccccc"}
                             ).revision_suffix != base, "a new image is a new revision"


@pytest.mark.parametrize("revisions,message", [
    ({"blue": {"image": "diabetes", "trafficPercent": 90}, "green": {"image": "diabetes-v2", "trafficPercent": 20}},
     r"revisions: trafficPercent sums to 110 \(blue 90, green 20\)"),
    ({"green": {"image": "diabetes-v2", "trafficPercent": 100}}, r"revisions: exactly one revision label .* none does"),
    ({"blue": {"image": "diabetes", "trafficPercent": 50}, "b2": {"image": "diabetes", "trafficPercent": 50}},
     r"revisions: exactly one revision label .* labels b2, blue all do"),
    ({"blue": {"image": "diabetes", "trafficPercent": 100}, "green": {"image": "nope", "trafficPercent": 0}},
     r"revisions\.green\.image: refers to image 'nope', which does not exist"),
])
def test_bad_revisions_are_refused_naming_the_key(revisions, message):
    with pytest.raises(ConfigError, match=message):
        check("diabetes-aca", _service(revisions=revisions), _stack())


def test_tls_files_are_refused_ingress_serves_https():
    from mldeploy.config.base import Secret
    with pytest.raises(ValidationError, match="Container Apps ingress serves HTTPS itself"):
        _service(tls={"certificate": Secret("c"), "key": Secret("k")})


def test_a_gpu_profile_is_taken_by_its_type_name():
    plan = _plan(workloadProfile="Consumption-GPU-NC8as-T4", cpuCores=8, memoryGb=56)
    assert (plan.workload_profile_name, plan.workload_profile_type) == ("gpu", "Consumption-GPU-NC8as-T4")
    with pytest.raises(ValidationError, match="workloadProfile"):
        _service(workloadProfile="Dedicated-D4")


@pytest.mark.parametrize("key, where", [
    ("autoscaleMaxReplicas", "Container Apps calls it maxReplicas"),
    ("autoscale_target_utilization", "scales on concurrent HTTP requests"),
    ("collectModelData", "not offered on containerapp"),
])
def test_a_v1_aks_key_says_what_container_apps_has_instead(key, where):
    """A v1 AKS service's keys moved here: the closest spelling ('autoscaleEnabled' -> 'authEnabled')
    would point at another setting, so the error says where Container Apps has it."""
    from mldeploy.targets.stack import parse_settings
    from tests.harness import ROOT, stack_values

    values = stack_values("containerapp")[0]
    values["mldeploy:services"]["diabetes-aca"][key] = 1
    with pytest.raises(ConfigError) as info:
        parse_settings("containerapp", values, set(), ROOT, "stacks/Pulumi.containerapp.yaml")
    assert info.value.key == f"mldeploy:services.diabetes-aca.{key}", info.value
    assert where in info.value.message and "did you mean" not in info.value.message, info.value.message


def test_environment_variables_make_a_new_revision_and_none_keep_the_old_name():
    # A revision's template is immutable: changed variables need a new suffix; a service without any keeps the
    # suffix earlier runs gave it (its traffic names that revision).
    bare = plan_containerapp("diabetes-aca", _service(), image_tags=TAGS)
    assert plan_containerapp("diabetes-aca", _service(), image_tags=TAGS, image_env={"diabetes": {}}) == bare
    flagged = plan_containerapp("diabetes-aca", _service(environmentVariables={"LOG_LEVEL": "debug"}), image_tags=TAGS,
                                image_env={"diabetes": {"LOG_LEVEL": "info", "FEATURE_FLAG": "on"}})
    assert flagged.revision_suffix != bare.revision_suffix
    assert flagged.user_env == (("FEATURE_FLAG", "on"), ("LOG_LEVEL", "debug")), flagged.user_env


def test_secure_variables_only_another_labels_revision_reads_keep_their_app_secret():
    """Blue's image reads DB_PASSWORD and API_TOKEN, the template's (green's) API_TOKEN only: DB_PASSWORD's
    secret is kept (Azure refuses dropping a secret a serving revision reads), API_TOKEN's is the template's."""
    from mldeploy.config.base import Secret
    service = _service(image="diabetes-v2", revisions=BLUE_GREEN)
    image_env = {"diabetes": {"DB_PASSWORD": Secret("old"), "API_TOKEN": Secret("t1"), "LOG": "debug"},
                 "diabetes-v2": {"API_TOKEN": Secret("t2")}}
    plan = plan_containerapp("diabetes-aca", service, image_tags=TAGS, image_env=image_env)
    assert plan.env_secrets == (("API_TOKEN", "env-api-token"),)
    assert plan.kept_secrets == (("env-db-password", Secret("old")),), plan.kept_secrets
    retired = _service(image="diabetes-v2", revisions={"green": {"image": "diabetes-v2", "trafficPercent": 100}})
    assert plan_containerapp("diabetes-aca", retired, image_tags=TAGS, image_env=image_env).kept_secrets == ()
