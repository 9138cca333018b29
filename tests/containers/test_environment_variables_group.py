"""`environmentVariables` in a real container: the ACI group of a project whose image sets
FEATURE_FLAG, LOG_LEVEL and OMP_NUM_THREADS and whose service sets LOG_LEVEL again, built with the
container engine from its synthesized group (`serve --containers`). run() inside the scorer's
container sees the image's values under the service's, the user's thread count kept and the other
math libraries' sized from the container's CPU limit (the group gives the scorer 0.5 CPU: 1 thread)."""
from __future__ import annotations

import json

from mldeploy.contract import GATEWAY_IMAGE
from mldeploy.runtime.client import score
from mldeploy.runtime.processes import free_port
from tests.containers.synthesized import standin_for
from tests.harness import serving
from tests.runtime.test_environment_variables_e2e import _project

ACI = """
  azure-native:location: westeurope
  mldeploy:services:
    diabetes-aci:
      target: aci
      image: diabetes
      cpuCores: 1
      memoryGb: 1
      environmentVariables:
        LOG_LEVEL: debug
"""


def test_the_aci_groups_scorer_runs_the_images_variables_under_the_services(engine, standins, tmp_path):
    root = _project(tmp_path)
    local = (root / "stacks" / "Pulumi.local.yaml").read_text()
    (root / "stacks" / "Pulumi.dev.yaml").write_text(local.split("  mldeploy:services:")[0] + ACI)
    port = free_port()
    with serving("--stack", "dev", "--service", "diabetes-aci", "--containers", "--json", "--port", str(port),
                 "--image", f"{GATEWAY_IMAGE}={standin_for(GATEWAY_IMAGE, standins.images)}", cwd=root,
                 stop_timeout=120) as served:
        endpoint = served.endpoint
        reply = score(endpoint["scoringUri"], endpoint["primaryKey"], b'{"data": [[1]]}')
    assert served.proc.returncode == 0, f"serve --containers exited {served.proc.returncode}: {served.err[-1000:]}"
    assert reply.status == 200, f"{reply.status} {reply.error or reply.text()[:300]}"
    assert json.loads(reply.body) == {"FEATURE_FLAG": "on", "LOG_LEVEL": "debug", "OMP_NUM_THREADS": "3",
                                      "ORT_INTRA_OP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                                      "OPENBLAS_NUM_THREADS": "1"}, reply.body
