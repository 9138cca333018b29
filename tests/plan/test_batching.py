"""Every worker/limit rule counts a batch (plan/batching.py WorkerLoad, issue 23): with an image's
batching a scorer worker holds up to maxBatchSize requests at once, and a request may wait up to
maxLatencyMs before its batch runs. Each test takes a shipped stack, turns batching on for an
image and checks what the stack's own entry points (load, serve plan, synth) make of it; the
same stacks without batching are the byte snapshots in tests/stacks."""
from __future__ import annotations


import pytest

from mldeploy.config import ConfigError
from mldeploy.targets import target_of
from mldeploy.targets.stack import parse_settings
from tests.harness import ROOT, stack_values, synth

SAMPLE = "examples/diabetes/sample-request.json"


def batched(stack: str, *images: str, size: int, latency_ms: int = 20) -> dict:
    """Stack `stack`'s values with `images` batching `size` rows, waiting up to `latency_ms`."""
    values, _ = stack_values(stack)
    for image in images:
        entry = values["mldeploy:images"][image]
        entry["batching"] = {"maxBatchSize": size, "maxLatencyMs": latency_ms}
        entry.setdefault("sampleRequest", SAMPLE)
    return values


def load(stack: str, values: dict):
    return parse_settings(stack, values, stack_values(stack)[1], ROOT, f"stacks/Pulumi.{stack}.yaml")


def expect_error(stack: str, values: dict, key: str, *fragments: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(stack, values)
    assert info.value.key == key, f"error names {info.value.key!r}, expected {key!r}: {info.value}"
    for fragment in fragments:
        assert fragment in info.value.message, f"{fragment!r} missing from: {info.value.message}"


def serve_plan(stack: str, values: dict, service: str):
    settings = load(stack, values)
    svc = settings.services[service]
    return target_of(svc).serve_plan(service, svc, settings, "")


def of_type(result, suffix: str) -> list[dict]:
    return [r for r in result.resources if r["type"].endswith(suffix)]


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", container.get("environmentVariables", []))}


# -- AKS: replicaMaxConcurrentRequests stays the requests a replica takes; workers take batches ----

def aks_values(size: int, replica_max: int) -> dict:
    values = batched("prod-attach", "diabetes", "diabetes-v2", size=size)
    values["mldeploy:services"]["diabetes"]["replicaMaxConcurrentRequests"] = replica_max
    return values


def test_an_aks_replica_runs_one_worker_per_batch_and_still_caps_the_requests():
    plan = serve_plan("prod-attach", aks_values(size=8, replica_max=16), "diabetes")
    assert plan.workers == 2, f"16 requests at once in batches of 8 need 2 workers, got {plan.workers}"
    assert plan.max_concurrent == 16, "the 503 cap stays replicaMaxConcurrentRequests (requests, not workers)"


def test_an_aks_cap_below_one_batch_is_refused():
    expect_error("prod-attach", aks_values(size=8, replica_max=4),
                 "mldeploy:services.diabetes.replicaMaxConcurrentRequests", "maxBatchSize (8)", "at least 8")


def test_a_canary_image_must_batch_like_the_service_image():
    values = aks_values(size=8, replica_max=8)
    values["mldeploy:images"]["diabetes-v2"]["batching"]["maxBatchSize"] = 4
    expect_error("prod-attach", values, "mldeploy:services.diabetes.canary.image", "same batching")


def aks_with_long_wait() -> dict:
    values = aks_values(size=8, replica_max=16)
    values["mldeploy:images"]["diabetes"]["batching"]["maxLatencyMs"] = 10_000
    values["mldeploy:images"]["diabetes-v2"]["batching"]["maxLatencyMs"] = 10_000
    return values


def test_the_aks_pod_runs_fewer_workers_and_its_probes_outlast_a_batch_wait(tmp_path):
    result = synth("prod-attach", tmp_path, values=aks_with_long_wait())
    deployments = of_type(result, "apps/v1:Deployment")
    assert deployments, "prod-attach declares its Deployments"
    for deployment in deployments:
        scorer = next(c for c in deployment["inputs"]["spec"]["template"]["spec"]["containers"] if c["name"] == "scorer")
        assert env_of(scorer)["WORKER_COUNT"] == "2", f"{deployment['name']}: {env_of(scorer)['WORKER_COUNT']}"
        # Unbatched (snapshot): 8 failures at 10 s outlast the scorer's 61 s + 10 s slack; with a
        # batch's 10 s wait on top: 9.
        assert scorer["livenessProbe"]["failureThreshold"] == 9, scorer["livenessProbe"]


# -- memory: a worker parses a batch of bodies at once ------------------------------------------

def test_the_body_limit_counts_a_batch_per_worker():
    plan = serve_plan("forest", stack_values("forest")[0], "forest")
    assert plan.gateway.max_body_mb == 1, f"2 workers x 32 bodies in the forest's memory: {plan.gateway.max_body_mb} MB"


def test_a_body_limit_that_fits_one_request_per_worker_but_not_a_batch_is_refused():
    values = stack_values("forest")[0]
    values["mldeploy:services"]["forest"]["maxRequestBodyMb"] = 10
    expect_error("forest", values, "mldeploy:services.forest", "maxBatchSize", "32 × 10 × 10 MB")


# -- ACI and Container Apps: probes and the HTTP scale rule -------------------------------------

def test_aci_probe_windows_outlast_a_batch_wait(tmp_path):
    result = synth("dev", tmp_path, values=batched("dev", "diabetes", size=8, latency_ms=10_000))
    group = of_type(result, "containerinstance:ContainerGroup")[0]
    scorer = next(c for c in group["inputs"]["containers"] if c["name"] == "scorer")
    # Unbatched (snapshot): 8 failures at 10 s; the 10 s wait makes it 9.
    assert scorer["livenessProbe"]["failureThreshold"] == 9, scorer["livenessProbe"]
    assert scorer["readinessProbe"]["failureThreshold"] == 9, scorer["readinessProbe"]


def test_a_container_app_scales_out_on_what_its_workers_hold(tmp_path):
    result = synth("containerapp", tmp_path, values=batched("containerapp", "diabetes-v2", "diabetes", size=8,
                                                            latency_ms=10_000))
    app = of_type(result, "app:ContainerApp")[0]
    scale = app["inputs"]["template"]["scale"]["rules"][0]["http"]["metadata"]
    assert scale["concurrentRequests"] == "8", f"1 worker x batches of 8 (unbatched: 1): {scale}"
    scorer = next(c for c in app["inputs"]["template"]["containers"] if c["name"] == "scorer")
    assert {p["type"]: p["failureThreshold"] for p in scorer["probes"]} == {"Liveness": 9, "Readiness": 9}


# -- v2 online endpoints: maxConcurrentRequestsPerInstance is Azure's, WORKER_COUNT counts batches --

def managed(size: int, **blue) -> dict:
    values = batched("managed", "diabetes", size=size)
    values["mldeploy:services"]["diabetes"]["deployments"]["blue"].update(blue)
    return values


def test_a_managed_deployment_runs_one_worker_per_batch_and_azure_gets_its_own_concurrency(tmp_path):
    result = synth("managed", tmp_path, values=managed(size=2))
    blue = next(r for r in of_type(result, "machinelearningservices:OnlineDeployment") if r["inputs"]["deploymentName"] == "blue")
    props = blue["inputs"]["properties"]
    assert props["environmentVariables"]["WORKER_COUNT"] == "1", f"2 requests in batches of 2 (unbatched: 2 workers): {props}"
    assert props["requestSettings"]["maxConcurrentRequestsPerInstance"] == 2, props["requestSettings"]


def test_the_local_endpoint_rehearsal_runs_the_same_workers():
    plan = serve_plan("managed", managed(size=2), "diabetes")
    workers = {d.name: d.workers for d in plan.deployments}
    assert workers == {"blue": 1, "green": 2, "shadow": 1}, workers


def test_an_endpoint_instance_must_be_admitted_a_whole_batch():
    # Managed admits 2 x maxConcurrentRequestsPerInstance (2) = 4 requests at once per instance.
    expect_error("managed", managed(size=8), "mldeploy:services.diabetes.deployments.blue.maxConcurrentRequestsPerInstance",
                 "given 4 requests at once", "maxBatchSize (8)")


def test_endpoint_worker_bounds_count_batches():
    # N = 2 in batches of 2: at least 1 worker (N), at most 2 (the 4 admitted); 3 never all get a batch.
    expect_error("managed", managed(size=2, workerCount=3), "mldeploy:services.diabetes.deployments.blue.workerCount",
                 "between 1", "and 2")
    load("managed", managed(size=2, workerCount=2))  # within the bounds


def test_an_endpoint_request_timeout_must_outlast_the_batch_wait():
    values = managed(size=2)
    values["mldeploy:images"]["diabetes"]["batching"]["maxLatencyMs"] = 5000
    expect_error("managed", values, "mldeploy:services.diabetes.deployments.blue.requestTimeoutMs",
                 "maxLatencyMs (5000)")


def test_the_aks_gateway_buffers_a_batch_of_bodies_per_worker():
    from mldeploy.plan.aks import ImageFacts
    from mldeploy.targets.aks.plan import plan_service
    from mldeploy.targets.aks.settings import AksServiceSettings
    from mldeploy.plan.scorer import WorkerLoad

    s = AksServiceSettings.model_validate({"target": "aks", "cluster": "c", "image": "diabetes", "workerCount": 2,
                                           "replicaMaxConcurrentRequests": 16, "maxRequestBodyMb": 50})
    plan = plan_service("svc", s, stack="st", production=False, location="westeurope", resource_group="rg",
                        images={"diabetes": ImageFacts("cr.io/d@sha256:aa", "1-aaa", (("diabetes", "1"),))},
                        load=WorkerLoad(requests=8, wait_ms=20))
    # 2 workers x 8 requests being scored, as many again arriving, plus two: 34 bodies of 50 MB
    # (unbatched: 2 x 2 + 2 = 6 bodies, the 1 GiB floor).
    assert plan.workload.gateway_temp_mb == 1700, plan.workload.gateway_temp_mb
