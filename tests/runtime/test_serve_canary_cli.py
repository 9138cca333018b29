"""`mldeploy serve` of an AKS service with a canary (issue 19): the stable image's scorer serves
diabetes:1, the canary's diabetes:2 (two versions of one registered model), and one ingress splits
the requests by canary.trafficPercent - both predictions come back, in that proportion. An FPGA
service's canary the same way (the fpga row's local runner is the AKS one; before, it served the
stable image alone)."""
from __future__ import annotations

import json
import subprocess
import urllib.request

import pytest

from tests.harness import MLDEPLOY, alive, descendants, project_from_stack, serving

pytestmark = pytest.mark.slow
REQUESTS = 40
# A project folder as deep as a CI clone's (/tmp/ciN/...): its run folder's paths are too long for
# a Unix socket (108 bytes), so every socket of `serve` must live elsewhere.
DEEP = "deep-project-folder-" * 5


# The example's second model version, registered as diabetes:2.
DIABETES_V2 = {"registeredName": "diabetes", "version": 2, "path": "examples/diabetes/outputs/v2/sklearn_regression_model.pkl"}


def canary_project(tmp_path):
    """Stack prod-attach made a rehearsal: not production, no TLS, the canary on diabetes:2 at 50 %."""
    def change(config):
        config["mldeploy:production"] = False
        config["mldeploy:models"]["diabetes-v2"] = dict(DIABETES_V2)
        config["mldeploy:images"]["diabetes-v2"]["models"] = ["diabetes-v2"]
        service = config["mldeploy:services"]["diabetes"]
        del service["tls"]
        service["canary"]["trafficPercent"] = 50
    return project_from_stack(tmp_path, "prod-attach", "canary", change)


def fpga_canary_project(tmp_path):
    """Stack fpga with a canary on diabetes:2 at 50 % (two versions of one registered model)."""
    def change(config):
        config["mldeploy:models"]["diabetes-v2"] = dict(DIABETES_V2)
        config["mldeploy:images"]["diabetes-v2"] = {**config["mldeploy:images"]["diabetes"], "models": ["diabetes-v2"]}
        config["mldeploy:services"]["diabetes-fpga"]["canary"] = {"image": "diabetes-v2", "trafficPercent": 50}
    return project_from_stack(tmp_path, "fpga", "fpga-canary", change)


# (stack, service, its project): the AKS canary (prod-attach), the FPGA one (fpga: the fpga row's
# local runner is the AKS one).
SPLITS = {"aks": ("canary", "diabetes", canary_project), "fpga": ("fpga-canary", "diabetes-fpga", fpga_canary_project)}


def _score(endpoint: dict, body: bytes) -> list:
    request = urllib.request.Request(endpoint["scoringUri"], data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {endpoint['primaryKey']}"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())


@pytest.mark.parametrize("target", sorted(SPLITS))
def test_serve_canary_splits_between_two_model_versions(tmp_path, trained_model, target):
    stack, service, make_project = SPLITS[target]
    project = make_project(tmp_path / DEEP)
    children = set()
    with serving("--stack", stack, "--service", service, "--project-dir", str(project), "--json") as served:
        endpoint = served.endpoint
        body = (project / "examples" / "diabetes" / "sample-request.json").read_bytes()
        answers = [json.dumps(_score(endpoint, body)) for _ in range(REQUESTS)]
        counts = {a: answers.count(a) for a in set(answers)}
        # Two different predictions: diabetes:1 (stable) and diabetes:2 (canary, another Ridge alpha).
        assert len(counts) == 2, counts
        # nginx's weighted round robin at 50/50 alternates; a little slack for a restarted scorer.
        assert all(REQUESTS * 0.4 <= n <= REQUESTS * 0.6 for n in counts.values()), counts
        # `mldeploy test --local` finds the split's ingress (it found no endpoint file before).
        tested = subprocess.run([*MLDEPLOY, "test", "--stack", stack, "--service", service, "--local",
                                 "--project-dir", str(project), "--data", str(project / "examples" / "diabetes" / "sample-request.json")],
                                capture_output=True, text=True, timeout=120)
        assert tested.returncode == 0 and json.dumps(json.loads(tested.stdout)) in counts, tested.stderr
        children = descendants(served.proc.pid)
        assert len(children) >= 5, f"expected two scorers, two gateways and an ingress, found {children}"
    assert served.proc.returncode == 0, served.err
    assert "stable diabetes 50 %, canary diabetes-v2 50 %" in served.err, served.err
    left = [p for p in children if alive(p)]
    assert left == [], f"processes left after SIGTERM: {left}"
