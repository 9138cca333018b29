"""Local parity of a v2 online endpoint (runtime/endpoint_local.py + render/gateway.py): the
`managed` stack's three deployments as real scorers behind one nginx on 127.0.0.1 - traffic
split, mirror, header pinning, key auth - and, with a holding score.py, the 408 timeout (the
admission limit and the model-error statuses: test_endpoint_statuses_e2e.py). No timing is
asserted: counts and status codes only."""
from __future__ import annotations

from collections import Counter

import pytest
import requests

from mldeploy.targets.stack import load_stack
from mldeploy.targets.managed.settings import ManagedEndpointSettings
from mldeploy.targets.online_endpoint.settings import DeploymentSettings
from mldeploy.plan.models import resolve_model
from mldeploy.render.build_context import render_build_context
from mldeploy.render.gateway import MIRROR_LOG
from mldeploy.runtime.endpoint_local import LocalEndpoint
from tests.runtime.plans import plan_of
from tests.harness import ROOT
from tests.runtime.conftest import _script_context
from tests.runtime.holding import HOLD_SCRIPT, WAIT_S, wait_for

pytestmark = pytest.mark.slow
HEADER = "azureml-model-deployment"
SAMPLE = (ROOT / "examples" / "diabetes" / "sample-request.json").read_bytes()
REQUESTS = 1000


@pytest.fixture(scope="module")
def managed(scoring_env, tmp_path_factory):
    settings = load_stack(ROOT, "managed")
    service = settings.services["diabetes"]
    # blue serves diabetes:1 (image diabetes), green and shadow diabetes:2 (image diabetes-v2): one
    # build context per image, both on the diabetes environment.
    images = sorted({dep.image for dep in service.deployments.values()})
    contexts = {name: render_build_context(name, settings.images[name],
                                           [resolve_model(m, settings.models[m], ROOT) for m in settings.images[name].models],
                                           ROOT)
                for name in images}
    server = LocalEndpoint(plan_of("diabetes", service), contexts, {name: scoring_env for name in images},
                           tmp_path_factory.mktemp("managed"), port=0)
    server.start(timeout=120)
    yield server
    server.stop()


def _score(server, key="primary", headers=None, body=SAMPLE):
    ep = server.endpoint()
    auth = {"primary": ep.primaryKey, "secondary": ep.secondaryKey}.get(key, key)
    return requests.post(ep.scoringUri, data=body, timeout=WAIT_S, headers={
        "Content-Type": "application/json", **({"Authorization": f"Bearer {auth}"} if auth else {}),
        **(headers or {})})


def _mirrored(server) -> int:
    """Requests the mirror deployment answered (the gateway logs each copy it proxied)."""
    log = server.run_dir / "gateway" / MIRROR_LOG
    shadow = f"unix:{server.scorer_sockets['shadow']} 200"
    return sum(1 for line in log.read_text().splitlines() if line.strip() == shadow) if log.exists() else 0


@pytest.fixture(scope="module")
def unpinned(managed):
    """1,000 requests without the header: who served each, and how many the mirror received."""
    before = _mirrored(managed)
    served = Counter()
    with requests.Session() as session:
        ep = managed.endpoint()
        for _ in range(REQUESTS):
            r = session.post(ep.scoringUri, data=SAMPLE, timeout=WAIT_S, headers={
                "Content-Type": "application/json", "Authorization": f"Bearer {ep.primaryKey}"})
            assert r.status_code == 200, f"{r.status_code} {r.text}"
            served[r.headers[HEADER]] += 1
    return served, _mirrored(managed) - before


def test_split_is_90_10_within_5_points_over_1000_requests(unpinned):
    served, _ = unpinned
    assert set(served) == {"blue", "green"}, f"only live deployments serve unpinned requests: {served}"
    share = served["blue"] * 100 / REQUESTS
    assert 85 <= share <= 95, f"blue served {share:.1f} % of {REQUESTS} requests, expected 90 ± 5"


def test_mirror_receives_its_share(unpinned):
    _, mirrored = unpinned
    share = mirrored * 100 / REQUESTS
    assert 5 <= share <= 15, f"the shadow deployment received {mirrored} copies ({share:.1f} %), expected 10 ± 5"


@pytest.mark.parametrize("deployment", ["green", "shadow"])
def test_header_pins_every_request_to_that_deployment(managed, deployment):
    served = Counter(_score(managed, headers={HEADER: deployment}).headers[HEADER] for _ in range(100))
    assert served == {deployment: 100}, served


def test_pinned_requests_are_not_mirrored(managed, unpinned):
    before = _mirrored(managed)
    for _ in range(100):
        assert _score(managed, headers={HEADER: "blue"}).status_code == 200
    assert _mirrored(managed) == before, "a request naming its deployment must not be copied to the mirror"


def test_responses_are_the_scorers_predictions(managed):
    r = _score(managed)
    assert r.status_code == 200 and len(r.json()) == 2, r.text


def test_no_key_is_401_and_the_secondary_key_works(managed):
    assert _score(managed, key="").status_code == 401
    assert _score(managed, key="not-a-valid-key-at-all").status_code == 401
    assert _score(managed, key="secondary").status_code == 200


def test_an_unknown_deployment_header_is_404(managed):
    r = _score(managed, headers={HEADER: "purple"})
    assert r.status_code == 404 and HEADER in r.json()["error"], r.text


# -- timeout and concurrency: a score.py that holds until released ------------------------------

@pytest.fixture(scope="module")
def holding(scoring_env, tmp_path_factory):
    context = _script_context(tmp_path_factory, "hold", HOLD_SCRIPT)
    # blue gives up after 1 s (the 408 case).
    service = ManagedEndpointSettings(target="managed", deployments={
        "blue": DeploymentSettings(image="hold", traffic_percent=100, request_timeout_ms=1000)})
    server = LocalEndpoint(plan_of("hold", service), {"hold": context}, {"hold": scoring_env},
                           tmp_path_factory.mktemp("hold-endpoint"), port=0)
    server.start(timeout=120)
    yield server
    server.stop()


def _hold(server, tmp_path, name, deployment="blue"):
    started, release = tmp_path / f"{name}-started", tmp_path / f"{name}-release"
    return started, release, lambda: requests.post(
        server.endpoint().scoringUri, json={"started": str(started), "release": str(release)}, timeout=WAIT_S,
        headers={"Authorization": f"Bearer {server.endpoint().primaryKey}", HEADER: deployment})


def test_scoring_longer_than_request_timeout_is_408(holding, tmp_path):
    started, release, call = _hold(holding, tmp_path, "slow")
    try:
        r = call()  # held beyond requestTimeoutMs (1000): the gateway gives up first
    finally:
        release.touch()
    assert started.exists(), "the request reached run()"
    assert r.status_code == 408, f"{r.status_code} {r.text}"
    assert r.headers[HEADER] == "blue"
    # The worker frees itself (the scorer's own limit) and serves again.
    wait_for(lambda: requests.post(holding.endpoint().scoringUri, json={}, timeout=WAIT_S, headers={
        "Authorization": f"Bearer {holding.endpoint().primaryKey}"}).status_code == 200, "the scorer answering again")

# Admission (2 × maxConcurrentRequestsPerInstance, then 429) and the other statuses of each target:
# tests/runtime/test_endpoint_statuses_e2e.py.
