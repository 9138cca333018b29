"""`mldeploy logs --local` of a service `serve --containers` runs: its containers' logs (podman
logs) merged by time and prefixed like the local files, a scoring error's traceback among them
(its 500 body names the command), one container with --container, new lines with --follow."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mldeploy.runtime.client import score
from mldeploy.runtime.pod import SERVICE_LABEL
from mldeploy.runtime.processes import free_port
from mldeploy.runtime.synthesized_pod import mirrored_upstream
from tests.containers import RUN_PREFIX
from tests.containers.synthesized import standin_for
from tests.harness import ROOT

MLDEPLOY = [str(Path(sys.executable).parent / "mldeploy")]
SERVICE = "diabetes-aci"
SCORE_PY = """import json, os
import joblib

def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "sklearn_regression_model.pkl"))

def run(raw):
    return model.predict(json.loads(raw)["data"]).tolist()
"""


@pytest.fixture()
def project(tmp_path, trained_model) -> tuple[Path, str]:
    """The dev stack under a stack name of this test run's own, so its pod is this test's alone."""
    stack = f"logs{os.getpid()}"
    (tmp_path / "stacks").mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(ROOT / "stacks" / "Pulumi.dev.yaml", tmp_path / "stacks" / f"Pulumi.{stack}.yaml")
    shutil.copytree(ROOT / "examples" / "diabetes", tmp_path / "examples" / "diabetes",
                    ignore=shutil.ignore_patterns("__pycache__"))
    # A script as users write them, with no input checks: a bad row is an exception, a 500.
    (tmp_path / "examples" / "diabetes" / "score.py").write_text(SCORE_PY)
    assert RUN_PREFIX  # the suite's leftover sweep covers mldeploy-test-*; this pod removes itself on SIGTERM
    return tmp_path, stack


def _logs(root: Path, stack: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MLDEPLOY, "logs", "--stack", stack, "--service", SERVICE, "--local", *args], cwd=root,
                          capture_output=True, text=True, timeout=300)


def test_logs_reads_the_containers_of_serve_containers(engine, standins, dev_synth, project):
    root, stack = project
    upstream = mirrored_upstream(dev_synth, "nginx")
    proc = subprocess.Popen(
        [*MLDEPLOY, "serve", "--stack", stack, "--service", SERVICE, "--containers", "--json", "--port", str(free_port()),
         "--image", f"{upstream}={standin_for(upstream, standins.images)}"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    follower = None
    # A running container of service `<SERVICE>-x` as `serve --containers` labels it: its name starts
    # with this service's pod name too, and it is not this service's.
    other = f"mldeploy-{stack}-{SERVICE}-x"
    try:
        engine.run("run", "-d", "--name", f"{other}-scorer", "--label", f"{SERVICE_LABEL}={other}",
                   standins.images["python"], "python", "-c", "import time; print('a line', flush=True); time.sleep(600)")
        line = proc.stdout.readline()
        assert line, "serve --containers printed no endpoint"
        endpoint = json.loads(line)
        bad = score(endpoint["scoringUri"], endpoint["primaryKey"], b'{"data": "not rows"}')
        assert bad.status == 500, bad.text()
        command = f"mldeploy logs --stack {stack} --service {SERVICE} --local"
        assert command in bad.text(), f"the 500 body does not name {command!r}: {bad.text()}"

        merged = _logs(root, stack, "--tail", "500")
        assert merged.returncode == 0, merged.stderr
        lines = merged.stdout.splitlines()
        prefixes = {line.split(" | ", 1)[0] for line in lines if " | " in line}
        assert {"scorer", "gateway"} <= prefixes, f"containers missing from the merged logs: {prefixes}\n{merged.stdout}"
        assert "x-scorer" not in prefixes, f"service {other}'s container listed as this service's: {prefixes}"
        assert all(" | " in line for line in lines), [line for line in lines if " | " not in line][:5]
        assert any(line.startswith("scorer | ") and "POST /score 500" in line for line in lines), merged.stdout[-3000:]
        assert any(line.startswith("scorer | ") and "Traceback" in line for line in lines), merged.stdout[-3000:]

        only = _logs(root, stack, "--container", "gateway", "--tail", "3")
        assert only.returncode == 0, only.stderr
        assert 0 < len(only.stdout.splitlines()) <= 3
        assert all(line.startswith("gateway | ") for line in only.stdout.splitlines()), only.stdout

        follower = subprocess.Popen([*MLDEPLOY, "logs", "--stack", stack, "--service", SERVICE, "--local",
                                     "--container", "scorer", "--tail", "0", "--follow"], cwd=root,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        printed: list[str] = []
        threading.Thread(target=lambda: printed.extend(follower.stdout), daemon=True).start()
        for _ in range(60):  # a request every second until its log line arrives (not a timing assertion)
            assert score(endpoint["scoringUri"], endpoint["primaryKey"],
                         (ROOT / "examples" / "diabetes" / "sample-request.json").read_bytes()).status == 200
            time.sleep(1)
            if follower.poll() is not None or any("POST /score 200" in line for line in printed):
                break
        seen = "".join(printed)
        assert "scorer | " in seen and "POST /score 200" in seen, f"--follow printed {seen!r}; " \
            f"{follower.stderr.read() if follower.poll() is not None else ''}"
    finally:
        engine.run("rm", "-f", f"{other}-scorer", check=False)
        if follower is not None:
            follower.send_signal(signal.SIGTERM)
            follower.wait(timeout=60)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=180)
    gone = _logs(root, stack)
    assert gone.returncode == 2 and f"no container of pod mldeploy-{stack}-{SERVICE} runs" in gone.stderr, gone.stderr
