"""A `secure:` environment variable run in a real container: `serve --containers` of an ACI group whose
service sets DB_PASSWORD as a `secure:` value, with the value only in the shell that runs serve. run() in
the scorer's container sees it; podman gets it as a secret (runtime/pod.py LocalPod._create), handed on
stdin and removed with the pod; no file serve writes (env files, synth output, build and gateway logs,
the container's log) nor what serve prints holds it. What `podman inspect` shows is checked as it is:
podman 4.3 shows a started container's secret variables in Config.Env (read back from the OCI spec),
podman 5.3 and later mask them (podman pull request #23959); its creation settings never hold it."""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

from mldeploy.contract import GATEWAY_IMAGE
from mldeploy.runtime.client import score
from mldeploy.runtime.pod import pod_name, secret_name
from mldeploy.runtime.processes import free_port
from tests.containers.synthesized import standin_for
from tests.harness import serving
from tests.runtime.test_environment_variables_e2e import _project

SCORE_PY = """import hashlib
import os


def init():
    pass


def run(data):
    return {"sha256": hashlib.sha256(os.environ["DB_PASSWORD"].encode()).hexdigest()}
"""
ACI = """
  azure-native:location: westeurope
  mldeploy:services:
    diabetes-aci:
      target: aci
      image: diabetes
      cpuCores: 1
      memoryGb: 1
      environmentVariables:
        DB_PASSWORD:
          secure: v1:c29tZS1jaXBoZXJ0ZXh0LWZvci10aGUtdGVzdA==
"""


def _files_holding(root: Path, value: bytes) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if p.is_file() and not p.is_symlink() and value in p.read_bytes())


def _podman_at_least(engine, major: int, minor: int) -> bool:
    version = engine.out("version", "--format", "{{.Client.Version}}")
    return tuple(int(x) for x in version.split(".")[:2]) >= (major, minor)


def test_run_sees_the_secure_variable_which_no_file_holds(engine, standins, tmp_path):
    root = _project(tmp_path)
    (root / "score.py").write_text(SCORE_PY)
    local = (root / "stacks" / "Pulumi.local.yaml").read_text()
    (root / "stacks" / "Pulumi.dev.yaml").write_text(local.split("  mldeploy:services:")[0] + ACI)
    secret = f"typed-in-the-shell-{uuid.uuid4().hex}"
    scorer = f"{pod_name('dev', 'diabetes-aci')}-scorer"
    port = free_port()
    with serving("--stack", "dev", "--service", "diabetes-aci", "--containers", "--json", "--port", str(port),
                 "--image", f"{GATEWAY_IMAGE}={standin_for(GATEWAY_IMAGE, standins.images)}", cwd=root,
                 env={**os.environ, "DB_PASSWORD": secret}, stop_timeout=120) as served:
        endpoint = served.endpoint
        reply = score(endpoint["scoringUri"], endpoint["primaryKey"], b'{"data": [[1]]}')
        secrets = engine.out("secret", "ls", "--format", "{{.Name}}").split()
        inspect = engine.out("container", "inspect", scorer)
        logs = engine.logs(scorer, tail=1000)
    assert served.proc.returncode == 0, f"serve --containers exited {served.proc.returncode}: {served.err[-1000:]}"
    assert reply.status == 200, f"{reply.status} {reply.error or reply.text()[:300]}"
    assert json.loads(reply.body) == {"sha256": hashlib.sha256(secret.encode()).hexdigest()}, reply.body

    assert secret_name(scorer, "DB_PASSWORD") in secrets, f"the value goes to podman as a secret: {secrets}"
    data = json.loads(inspect)[0]
    create = json.dumps([data["Config"].get("CreateCommand"), data.get("HostConfig")])
    assert secret not in create, "the container's creation settings hold the secret"
    if _podman_at_least(engine, 5, 3):
        assert secret not in inspect, "podman 5.3+ masks a secret variable in inspect"
    assert secret not in logs and secret not in served.out + served.err, "the secret is in a log or serve's output"
    assert _files_holding(root, secret.encode()) == [], "a file serve wrote holds the secret"
    left = engine.out("secret", "ls", "--format", "{{.Name}}").split()
    assert secret_name(scorer, "DB_PASSWORD") not in left, f"the pod's secret is removed with it: {left}"
