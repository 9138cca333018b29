"""`mldeploy serve --containers` of an FPGA service with a canary: rehearsed as the AKS canary is
(the fpga row's containers hook is the AKS one) - the stable pod and the canary pod as synthesized,
each its own model version (diabetes:1, diabetes:2), the stable gateway splitting by the traffic
ConfigMap's weights, 50 % here. The FPGA pool's node placement has no meaning on this machine."""
from __future__ import annotations

import json
import os
import signal
import subprocess

from mldeploy.runtime.client import score
from mldeploy.runtime.processes import free_port
from mldeploy.runtime.synthesized_pod import mirrored_upstream
from tests.containers.synthesized import standin_for
from tests.containers.test_serve_containers import MLDEPLOY
from tests.containers.test_serve_containers_canary import REQUESTS
from tests.runtime.test_serve_fpga_canary_cli import fpga_canary_project


def test_serve_containers_runs_the_fpga_stable_and_canary_pods_and_splits(engine, standins, canary_synth,
                                                                           tmp_path, trained_model):
    project = fpga_canary_project(tmp_path / "project")
    sample = (project / "examples" / "diabetes" / "sample-request.json").read_bytes()
    # The gateway's mirror: the same nginx as every AKS-style pod's (prod-attach's synth names it).
    upstream = mirrored_upstream(canary_synth, "nginx")
    images = ["--image", f"{upstream}={standin_for(upstream, standins.images)}"]
    port = free_port()
    proc = subprocess.Popen(
        [*MLDEPLOY, "serve", "--stack", "fpga-canary", "--service", "diabetes-fpga", "--containers", "--json",
         "--port", str(port), *images], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=dict(os.environ), text=True)
    try:
        line = proc.stdout.readline()
        assert line, f"serve --containers printed no endpoint: {proc.stderr.read()[-3000:] if proc.poll() is not None else ''}"
        endpoint = json.loads(line)
        answers = []
        for _ in range(REQUESTS):
            reply = score(endpoint["scoringUri"], endpoint["primaryKey"], sample)
            assert reply.status == 200, f"{reply.status} {reply.error or reply.text()[:200]}"
            answers.append(reply.text())
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=180)
    counts = {a: answers.count(a) for a in set(answers)}
    assert len(counts) == 2, f"both model versions answer: {counts}"
    assert all(REQUESTS * 0.3 <= n <= REQUESTS * 0.7 for n in counts.values()), counts
    assert code == 0, f"serve --containers exited {code}: {proc.stderr.read()[-1000:]}"
    left = engine.run("ps", "-a", "--format", "{{.Names}}", check=False).stdout.decode()
    assert "mldeploy-fpga-canary-diabetes-fpga" not in left, f"the pods' containers were left behind: {left}"
