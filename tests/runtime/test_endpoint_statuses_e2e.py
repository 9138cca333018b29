"""The local rehearsal answers as each v2 target's front door does (issue 20 items 5-7; the rules:
mldeploy/plan/front_door.py, from how-to-troubleshoot-online-endpoints.md): real scorers behind the
endpoint's nginx on 127.0.0.1, a score.py that can hold, fail with 400, or raise. Managed: 2 ×
maxConcurrentRequestsPerInstance admitted then 429, a container's non-200 becomes 424 with its
status, 408 past the timeout; kubernetes-endpoint: 503, 502 for an exception in run(), 504.
No timing is asserted: counts and status codes only."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from mldeploy.targets.kubernetes_endpoint.settings import KubernetesEndpointSettings
from mldeploy.targets.managed.settings import ManagedEndpointSettings
from mldeploy.targets.online_endpoint.settings import DeploymentSettings
from mldeploy.runtime.endpoint_local import LocalEndpoint
from tests.runtime.plans import plan_of
from tests.runtime.conftest import _script_context
from tests.runtime.holding import WAIT_S, hold_script, wait_for

pytestmark = pytest.mark.slow
HEADER = "azureml-model-deployment"
SCRIPT = hold_script(imports="\nfrom azureml_inference_server_http.api.aml_response import AMLResponse\n",
                     after_hold="""\
    if data.get("bad"):
        return AMLResponse({"message": "bad input: 'data' missing"}, 400, json_str=True)
    if data.get("raise"):
        raise ValueError("the model failed")
""")


def _endpoint(settings_class, target, scoring_env, tmp_path_factory, **extra):
    context = _script_context(tmp_path_factory, f"statuses-{target}", SCRIPT)
    # One worker each, maxConcurrentRequestsPerInstance 1. blue gives up after 1 s (the timeout
    # case); capped waits 60 s, so a held request keeps its slot as long as the admission test needs.
    service = settings_class(target=target, **extra, deployments={
        "blue": DeploymentSettings(image="s", traffic_percent=100, request_timeout_ms=1000,
                                   max_concurrent_requests_per_instance=1),
        "capped": DeploymentSettings(image="s", request_timeout_ms=60_000, max_concurrent_requests_per_instance=1)})
    server = LocalEndpoint(plan_of(target, service), {"s": context}, {"s": scoring_env},
                           tmp_path_factory.mktemp(f"{target}-endpoint"), port=0)
    server.start(timeout=120)
    return server


@pytest.fixture(scope="module")
def managed(scoring_env, tmp_path_factory):
    server = _endpoint(ManagedEndpointSettings, "managed", scoring_env, tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kubernetes(scoring_env, tmp_path_factory):
    server = _endpoint(KubernetesEndpointSettings, "kubernetes-endpoint", scoring_env, tmp_path_factory,
                       cluster="inference")
    yield server
    server.stop()


def _post(server, body, deployment="blue"):
    ep = server.endpoint()
    return requests.post(ep.scoringUri, json=body, timeout=WAIT_S,
                         headers={"Authorization": f"Bearer {ep.primaryKey}", HEADER: deployment})


def _connections_to(link) -> int:
    """Connections to the scorer's Unix socket that `link` leads to (the gateway's, accepted - state
    03 - or still in its listen queue - 02; the listening socket itself is 01), from /proc/net/unix:
    how a test knows a request was admitted."""
    path = os.path.join(link.parent, os.readlink(link))  # as the socket was bound
    rows = [row.split() for row in open("/proc/net/unix").read().splitlines()[1:]]
    return sum(1 for row in rows if len(row) > 7 and row[7] == path and row[5] in ("02", "03"))


def _while_held(server, tmp_path, name, admitted: int) -> list[int]:
    """One request held in run() and `admitted - 1` more in flight (all admitted by the gateway, the
    rest waiting inside the scorer), then one more: the statuses, in that order."""
    started, release = tmp_path / f"{name}-started", tmp_path / f"{name}-release"
    link = server.scorer_sockets["capped"]
    with ThreadPoolExecutor(admitted) as pool:
        held = pool.submit(_post, server, {"started": str(started), "release": str(release)}, "capped")
        try:
            wait_for(lambda: started.exists() or held.done(), "the first request reaching run()")
            waiting = [pool.submit(_post, server, {}, "capped") for _ in range(admitted - 1)]
            wait_for(lambda: _connections_to(link) >= admitted or any(f.done() for f in waiting),
                  f"{admitted} requests admitted to the scorer")
            assert not held.done() and not any(f.done() for f in waiting), "admitted requests wait, not refused"
            one_more = _post(server, {}, "capped")
        finally:
            release.touch()
        return [held.result(timeout=WAIT_S).status_code, *(f.result(timeout=WAIT_S).status_code for f in waiting),
                one_more.status_code]


def test_managed_admits_twice_max_concurrent_requests_then_429(managed, tmp_path):
    """maxConcurrentRequestsPerInstance 1: Azure admits 2 × 1 × 1 at once; the third is 429 at once."""
    assert _while_held(managed, tmp_path, "m", admitted=2) == [200, 200, 429]


def test_managed_turns_a_containers_400_into_424_with_its_status(managed):
    r = _post(managed, {"bad": True})
    assert r.status_code == 424, f"{r.status_code} {r.text}"
    assert r.headers["ms-azureml-model-error-statuscode"] == "400"
    assert r.headers["ms-azureml-model-error-reason"] == "Bad Request"
    assert r.json()["modelStatusCode"] == 400 and r.json()["status"] == 424
    assert r.headers[HEADER] == "blue"


def test_managed_turns_an_exception_in_run_into_424(managed):
    r = _post(managed, {"raise": True})
    assert r.status_code == 424 and r.headers["ms-azureml-model-error-statuscode"] == "500", r.text


def test_managed_timeout_is_408(managed, tmp_path):
    started, release = tmp_path / "t-started", tmp_path / "t-release"
    try:
        r = _post(managed, {"started": str(started), "release": str(release)})
    finally:
        release.touch()
    assert r.status_code == 408, f"{r.status_code} {r.text}"


def test_kubernetes_admits_max_concurrent_requests_then_503(kubernetes, tmp_path):
    assert _while_held(kubernetes, tmp_path, "k", admitted=1) == [200, 503]


def test_kubernetes_turns_an_exception_in_run_into_502(kubernetes):
    r = _post(kubernetes, {"raise": True})
    assert r.status_code == 502, f"{r.status_code} {r.text}"
    assert "run() raised" in r.json()["error"] and r.headers[HEADER] == "blue"


def test_kubernetes_passes_a_scripts_own_400_through(kubernetes):
    r = _post(kubernetes, {"bad": True})
    assert r.status_code == 400 and "bad input" in r.text, f"{r.status_code} {r.text}"


def test_kubernetes_timeout_is_504(kubernetes, tmp_path):
    started, release = tmp_path / "t-started", tmp_path / "t-release"
    try:
        r = _post(kubernetes, {"started": str(started), "release": str(release)})
    finally:
        release.touch()
    assert r.status_code == 504, f"{r.status_code} {r.text}"
    # The scorer frees itself (its own limit, 1 s later) and answers again.
    wait_for(lambda: _post(kubernetes, {}).status_code == 200, "the scorer answering again")
