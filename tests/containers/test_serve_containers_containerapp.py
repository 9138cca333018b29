"""`mldeploy serve --containers` of a container app with labelled revisions (issue 22): one pod per
revision as synthesized - blue runs diabetes:1, green diabetes:2 (the template's) - each its own
gateway checking the app's keys, an ingress on this machine splitting by the synthesized traffic
weights (50/50 here), every label's own URL reaching that revision alone, and `logs --local
--deployment <label>` showing that revision's containers alone."""
from __future__ import annotations

import subprocess

from mldeploy.runtime.client import score
from mldeploy.runtime.processes import free_port
from mldeploy.runtime.synthesized_pod import mirrored_upstream
from tests.containers import split_answers
from tests.containers.synthesized import standin_for, synth_to
from tests.harness import MLDEPLOY, serving
from tests.runtime.test_serve_containerapp_cli import aca_project

REQUESTS = 40
LABEL_REQUESTS = 6


def test_serve_containers_runs_every_revision_and_splits_by_label(engine, standins, tmp_path, trained_model):
    project = aca_project(tmp_path / "project")
    sample = (project / "examples" / "diabetes" / "sample-request.json").read_bytes()
    upstream = mirrored_upstream(synth_to("containerapp", tmp_path / "synth"), "nginx")  # the gateway's image
    port = free_port()
    with serving("--stack", "aca", "--service", "diabetes-aca", "--containers", "--json", "--port", str(port),
                 "--image", f"{upstream}={standin_for(upstream, standins.images)}", cwd=project,
                 stop_timeout=180) as served:
        endpoint = served.endpoint
        counts = split_answers(endpoint, sample, REQUESTS)  # through the ingress: both revisions, about half each
        by_label = {}
        for label, uri in sorted(endpoint["labels"].items()):
            replies = [score(uri, endpoint["primaryKey"], sample) for _ in range(LABEL_REQUESTS)]
            assert all(r.status == 200 for r in replies), [(r.status, r.error) for r in replies]
            by_label[label] = {r.text() for r in replies}
        refused = score(endpoint["labels"]["blue"], "not-the-key", sample)
        logs = subprocess.run([*MLDEPLOY, "logs", "--stack", "aca", "--service", "diabetes-aca", "--local",
                               "--deployment", "green", "--tail", "50"], cwd=project, capture_output=True, text=True)
    assert all(len(texts) == 1 for texts in by_label.values()), f"a label's URL reaches one revision: {by_label}"
    assert by_label["blue"] != by_label["green"] and by_label["blue"] | by_label["green"] == set(counts), by_label
    assert refused.status == 401, f"each revision's gateway checks the keys: {refused.status}"
    assert logs.returncode == 0, logs.stderr
    sources = {line.split(" | ")[0] for line in logs.stdout.splitlines()}
    assert sources and all(s.startswith("green-") for s in sources), f"--deployment green: {sources}"
    assert served.proc.returncode == 0, f"serve --containers exited {served.proc.returncode}: {served.err[-1000:]}"
    left = engine.run("ps", "-a", "--format", "{{.Names}}", check=False).stdout.decode()
    assert "mldeploy-aca-diabetes-aca" not in left, f"the pods' containers were left behind: {left}"
