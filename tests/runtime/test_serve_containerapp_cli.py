"""`mldeploy serve` of a container app with labelled revisions (issue 22's containerapp target):
each revision's scorer serves its own model version (blue diabetes:1, green diabetes:2) and one
ingress splits the requests by the revisions' trafficPercent, keys checked there."""
from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request

import pytest
import requests

from tests.harness import MLDEPLOY, alive, descendants, project_from_stack, serving
from tests.runtime.test_serve_canary_cli import DEEP, REQUESTS, _score

pytestmark = pytest.mark.slow


def aca_project(folder):
    """Stack containerapp (as stack aca), its revisions at 50/50."""
    def change(config):
        revisions = config["mldeploy:services"]["diabetes-aca"]["revisions"]
        revisions["blue"]["trafficPercent"], revisions["green"]["trafficPercent"] = 50, 50
    return project_from_stack(folder, "containerapp", "aca", change)


@pytest.fixture()
def project(tmp_path, trained_model):
    """Stack aca (aca_project) in a deep folder (DEEP)."""
    return aca_project(tmp_path / DEEP)


def test_serve_container_app_splits_between_its_revisions(project):
    children = set()
    with serving("--stack", "aca", "--service", "diabetes-aca", "--project-dir", str(project), "--json") as served:
        endpoint = served.endpoint
        body = (project / "examples" / "diabetes" / "sample-request.json").read_bytes()
        answers = [json.dumps(_score(endpoint, body)) for _ in range(REQUESTS)]
        counts = {a: answers.count(a) for a in set(answers)}
        assert len(counts) == 2, counts  # blue's diabetes:1 and green's diabetes:2
        assert all(REQUESTS * 0.4 <= n <= REQUESTS * 0.6 for n in counts.values()), counts
        unauthenticated = urllib.request.Request(endpoint["scoringUri"], data=body, method="POST",
                                                 headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(unauthenticated, timeout=60)
        assert refused.value.code == 401
        # A chunked body with more than 100 headers passes the ingress's own hop (its socket in a
        # short folder: this project's run folder is too deep for one) and gets a JSON 431.
        crowded = requests.post(endpoint["scoringUri"], data=iter([body]), timeout=60, headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {endpoint['primaryKey']}",
            **{f"X-Extra-{i}": "1" for i in range(120)}})
        assert (crowded.status_code, crowded.headers.get("Content-Type")) == (431, "application/json"), crowded.text
        assert "too many request headers" in crowded.json()["error"], crowded.text
        # `mldeploy test --local` finds the ingress, as for any served service (hreview: it said
        # the service was not being served, with no endpoint file for the split).
        tested = subprocess.run([*MLDEPLOY, "test", "--stack", "aca", "--service", "diabetes-aca", "--local",
                                 "--project-dir", str(project)], capture_output=True, text=True, timeout=120)
        assert tested.returncode == 0 and len(json.loads(tested.stdout)) == 2, tested.stderr
        children = descendants(served.proc.pid)
        assert len(children) >= 5, f"expected two scorers, two gateways and an ingress, found {children}"
    assert served.proc.returncode == 0, served.err
    assert "blue diabetes 50 %, green diabetes-v2 50 %" in served.err, served.err
    assert [p for p in children if alive(p)] == []
