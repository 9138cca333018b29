"""`mldeploy serve --containers` of an AKS service with a canary (issue 19): the stable pod and the
canary pod as synthesized, each its own image and model version (diabetes:1, diabetes:2), the
stable gateway (published) splitting by the traffic ConfigMap's weights - 50 % here - to its own
scorer and to the canary's scorer Service (resolving to the canary pod's IP). An FPGA service's
canary the same way (the fpga row's containers hook is the AKS one; the FPGA pool's node placement
has no meaning on this machine)."""
from __future__ import annotations

import pytest

from mldeploy.runtime.processes import free_port
from mldeploy.runtime.synthesized_pod import mirrored_upstream
from tests.containers import split_answers
from tests.containers.synthesized import standin_for
from tests.harness import serving
from tests.runtime.test_serve_canary_cli import canary_project, fpga_canary_project

REQUESTS = 40


# (stack, service, its project): the AKS canary (prod-attach), the FPGA one (fpga).
SPLITS = {"aks": ("canary", "diabetes", canary_project), "fpga": ("fpga-canary", "diabetes-fpga", fpga_canary_project)}


@pytest.mark.parametrize("target", sorted(SPLITS))
def test_serve_containers_runs_the_stable_and_the_canary_pod_and_splits(engine, standins, canary_synth,
                                                                         tmp_path, trained_model, target):
    stack, service, make_project = SPLITS[target]
    project = make_project(tmp_path / "project")
    sample = (project / "examples" / "diabetes" / "sample-request.json").read_bytes()
    images = []
    for repo in ("nginx",):  # the gateway's mirror (no collector: collectModelData is off)
        upstream = mirrored_upstream(canary_synth, repo)
        images += ["--image", f"{upstream}={standin_for(upstream, standins.images)}"]
    port = free_port()
    with serving("--stack", stack, "--service", service, "--containers", "--json", "--port", str(port), *images,
                 cwd=project, stop_timeout=180) as served:
        split_answers(served.endpoint, sample, REQUESTS)  # diabetes:1 from the stable pod, diabetes:2 from the canary's
    assert served.proc.returncode == 0, f"serve --containers exited {served.proc.returncode}: {served.err[-1000:]}"
    left = engine.run("ps", "-a", "--format", "{{.Names}}", check=False).stdout.decode()
    assert f"mldeploy-{stack}-{service}" not in left, f"the pods' containers were left behind: {left}"
