"""Config of v2 online endpoints (the settings and cross-key checks of mldeploy/targets/online_endpoint/,
managed/ and kubernetes_endpoint/): every bad value stops with one message naming its key."""
from __future__ import annotations

import pytest

from mldeploy.config import ConfigError
from mldeploy.targets.stack import parse_settings  # config parse + the targets' load-time checks
from tests.harness import ROOT, stack_values

SOURCE = "stacks/Pulumi.managed.yaml"
DEPS = "mldeploy:services.diabetes.deployments"


def managed():
    return stack_values("managed")[0]


def kubernetes():
    return stack_values("kubernetes-endpoint")[0]


def deployments(values):
    return values["mldeploy:services"]["diabetes"]["deployments"]


def expect_error(values, key, *fragments, stack="managed"):
    with pytest.raises(ConfigError) as info:
        parse_settings(stack, values, set(), ROOT, SOURCE)
    err = info.value
    assert err.key == key, f"error names key {err.key!r}, expected {key!r}: {err}"
    assert err.source == SOURCE, f"error must name the stack file: {err}"
    for fragment in fragments:
        assert fragment in err.message, f"{fragment!r} missing from message: {err.message}"
    assert "\n" not in str(err), "errors are one line"


def test_managed_stack_parses_with_three_deployments():
    settings = parse_settings("managed", managed(), set(), ROOT, SOURCE)
    service = settings.services["diabetes"]
    assert sorted(service.deployments) == ["blue", "green", "shadow"]
    assert service.deployments["blue"].traffic_percent == 90


def test_mirror_over_50_percent_is_refused():
    values = managed()
    deployments(values)["shadow"]["mirrorPercent"] = 60
    expect_error(values, f"{DEPS}.shadow.mirrorPercent", "60 is over 50")


def test_traffic_not_summing_to_100_is_refused():
    values = managed()
    deployments(values)["green"]["trafficPercent"] = 20
    expect_error(values, DEPS, "sum to 100", "got 110")


def test_unknown_sku_is_refused():
    values = managed()
    deployments(values)["blue"]["instanceType"] = "Standard_Z99_v9"
    expect_error(values, f"{DEPS}.blue.instanceType", "unknown managed online endpoint SKU", "Standard_Z99_v9")


def test_managed_request_timeout_over_180_s_is_refused():
    values = managed()
    deployments(values)["blue"]["requestTimeoutMs"] = 200_000
    expect_error(values, f"{DEPS}.blue.requestTimeoutMs", "over 180000 ms")


def test_kubernetes_request_timeout_up_to_300_s_is_accepted():
    values = kubernetes()
    deployments(values)["blue"]["requestTimeoutMs"] = 300_000
    parse_settings("kubernetes-endpoint", values, set(), ROOT, SOURCE)


def test_kubernetes_request_timeout_over_300_s_is_refused():
    values = kubernetes()
    deployments(values)["blue"]["requestTimeoutMs"] = 300_001
    expect_error(values, f"{DEPS}.blue.requestTimeoutMs", "less than or equal to 300000", stack="kubernetes-endpoint")


def test_aad_token_on_kubernetes_is_refused():
    values = kubernetes()
    values["mldeploy:services"]["diabetes"]["authMode"] = "aad_token"
    expect_error(values, "mldeploy:services.diabetes.authMode", "managed online endpoints", stack="kubernetes-endpoint")


def test_aad_token_on_managed_is_accepted():
    values = managed()
    values["mldeploy:services"]["diabetes"]["authMode"] = "aad_token"
    parse_settings("managed", values, set(), ROOT, SOURCE)


def test_auth_mode_none_does_not_exist_in_v2():
    values = managed()
    values["mldeploy:services"]["diabetes"]["authMode"] = "none"
    expect_error(values, "mldeploy:services.diabetes.authMode", "'key'", "'aml_token'", "'aad_token'")


def test_quota_exceeded_is_refused_naming_the_family():
    values = managed()
    values["mldeploy:endpointQuota"]["standardFSv2Family"] = 32
    expect_error(values, "mldeploy:endpointQuota.standardFSv2Family", "need 36 cores", "quota is 32")


def test_mirror_on_kubernetes_is_refused():
    values = kubernetes()
    deployments(values)["green"]["trafficPercent"] = 0
    deployments(values)["blue"]["trafficPercent"] = 100
    deployments(values)["green"]["mirrorPercent"] = 10
    expect_error(values, f"{DEPS}.green.mirrorPercent", "not supported on Kubernetes", stack="kubernetes-endpoint")


def test_mirror_to_a_live_deployment_is_refused():
    values = managed()
    deployments(values)["green"]["mirrorPercent"] = 10
    expect_error(values, f"{DEPS}.green.mirrorPercent", "live or mirrored traffic, not both")


def test_mirror_to_two_deployments_is_refused():
    values = managed()
    deployments(values)["extra"] = dict(deployments(values)["shadow"])
    expect_error(values, f"{DEPS}.shadow.mirrorPercent", "one deployment only")


@pytest.mark.parametrize("workers", [1, 5])
def test_worker_count_outside_one_to_two_times_max_concurrent_requests_is_refused(workers):
    values = managed()
    deployments(values)["blue"]["workerCount"] = workers
    expect_error(values, f"{DEPS}.blue", f"workerCount ({workers}) must be between maxConcurrentRequestsPerInstance "
                 "(2) and twice it (4)", "2 × maxConcurrentRequestsPerInstance")


def test_kubernetes_workers_beyond_max_concurrent_requests_are_refused():
    values = kubernetes()
    deps = values["mldeploy:services"]["diabetes"]["deployments"]
    name = sorted(deps)[0]
    deps[name]["maxConcurrentRequestsPerInstance"] = 1
    deps[name]["workerCount"] = 2
    expect_error(values, f"{DEPS}.{name}", "workerCount (2) is over the 1 requests a kubernetes-endpoint instance",
                 stack="kubernetes-endpoint")


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_up_to_twice_max_concurrent_requests_workers_are_used(workers):
    """Issue 20 item 5: Azure admits 2 × maxConcurrentRequestsPerInstance per instance before 429, so
    that many workers all get requests (how-to-troubleshoot-online-endpoints.md, 429)."""
    values = managed()
    deployments(values)["blue"]["workerCount"] = workers
    service = parse_settings("managed", values, set(), ROOT, SOURCE).services["diabetes"]
    assert service.deployments["blue"].workers == workers


def test_probe_window_shorter_than_init_is_refused():
    values = managed()
    deployments(values)["blue"]["initSeconds"] = 120
    deployments(values)["blue"]["livenessProbe"] = {"initialDelaySeconds": 5, "periodSeconds": 5, "failureThreshold": 3}
    expect_error(values, f"{DEPS}.blue", "livenessProbe gives up after 20 s", "initSeconds is 120")


def test_probe_timeout_longer_than_period_is_refused():
    values = managed()
    deployments(values)["blue"]["readinessProbe"] = {"periodSeconds": 5, "timeoutSeconds": 10}
    expect_error(values, f"{DEPS}.blue.readinessProbe", "timeoutSeconds (10) must be <= periodSeconds (5)")


def test_v1_size_beyond_the_migration_table_is_refused():
    values = managed()
    deployments(values)["green"]["cpuCores"] = 8
    expect_error(values, f"{DEPS}.green.cpuCores", "beyond Microsoft's v1 migration table", "set instanceType")


def test_instance_count_outside_autoscale_bounds_is_refused():
    values = managed()
    deployments(values)["blue"]["instanceCount"] = 1
    expect_error(values, f"{DEPS}.blue", "instanceCount (1) must be within autoscaleMinReplicas (3)")


def test_deployment_image_must_exist():
    values = managed()
    deployments(values)["green"]["image"] = "nope"
    expect_error(values, f"{DEPS}.green.image", "'nope', which does not exist")


def test_kubernetes_endpoint_cluster_must_exist():
    values = kubernetes()
    values["mldeploy:services"]["diabetes"]["cluster"] = "nope"
    expect_error(values, "mldeploy:services.diabetes.cluster", "'nope', which does not exist", stack="kubernetes-endpoint")


def test_deployment_name_too_short_is_refused():
    values = managed()
    deployments(values)["b"] = deployments(values).pop("blue")
    expect_error(values, DEPS, "invalid name 'b'")


def test_a_kubernetes_endpoint_instance_above_a_nodes_allocatable_cpu_is_refused():
    # Standard_D4s_v5: 4 vCPUs, of which AKS reserves 140m for its daemons (node-resource-reservations).
    values = kubernetes()
    deployments(values)["green"]["cpuCores"] = 4
    expect_error(values, f"{DEPS}.green.cpuCores", "cpuCores 4 is more than a Standard_D4s_v5 node gives pods",
                 "kube-reserved 140m = 3.86 CPUs", stack="kubernetes-endpoint")
    values = kubernetes()
    deployments(values)["green"]["cpuCores"] = 3.86
    parse_settings("kubernetes-endpoint", values, set(), ROOT, SOURCE)


# A v1 AKS service moved to a v2 endpoint keeps its keys; v2 sets most per deployment or names them
# otherwise, and the closest spelling would point elsewhere ('authEnabled' -> 'appInsightsEnabled').
@pytest.mark.parametrize("key, where", [
    ("autoscaleMaxReplicas", "deployments.<name>.autoscaleMaxReplicas"),
    ("autoscale_target_utilization", "deployments.<name>.autoscaleTargetUtilization"),
    ("cpuCores", "deployments.<name>.cpuCores"),
    ("authEnabled", "authMode key (v1's auth_enabled)"),
    ("scoringTimeoutMs", "deployments.<name>.requestTimeoutMs; its default is 5000 ms"),
    ("periodSeconds", "deployments.<name>.livenessProbe.periodSeconds"),
    ("autoscale_refresh_seconds", "not a setting on v2"),
])
@pytest.mark.parametrize("stack", ["managed", "kubernetes-endpoint"])
def test_a_v1_service_key_on_a_v2_endpoint_says_where_v2_has_it(stack, key, where):
    values = managed() if stack == "managed" else kubernetes()
    values["mldeploy:services"]["diabetes"][key] = 1
    with pytest.raises(ConfigError) as info:
        parse_settings(stack, values, set(), ROOT, SOURCE)
    assert info.value.key == f"mldeploy:services.diabetes.{key}", info.value
    assert where in info.value.message and "did you mean" not in info.value.message, info.value.message


@pytest.mark.parametrize("key, where", [
    ("numReplicas", "v2 calls it instanceCount"),
    ("scoring_timeout_ms", "v2 calls it requestTimeoutMs"),
    ("replicaMaxConcurrentRequests", "maxConcurrentRequestsPerInstance"),
    ("collectModelData", "a setting of the service, not of a deployment: services.<service>.collectModelData"),
])
def test_a_v1_key_in_a_deployment_says_what_v2_calls_it(key, where):
    values = managed()
    deployments(values)["blue"][key] = 1
    expect_error(values, f"{DEPS}.blue.{key}", where)


def test_a_plain_misspelling_still_gets_the_closest_key():
    values = managed()
    deployments(values)["blue"]["instanceCont"] = 1
    expect_error(values, f"{DEPS}.blue.instanceCont", "did you mean 'instanceCount'?")
