"""`mldeploy serve` as a user runs it: JSON line, smoke test, SIGTERM leaves no process behind,
clear one-line errors. Each test serves a copy of the project in a temporary folder."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.harness import ROOT

pytestmark = pytest.mark.slow
MLDEPLOY = [str(Path(sys.executable).parent / "mldeploy")]


@pytest.fixture()
def project(tmp_path, trained_model):
    (tmp_path / "stacks").mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(ROOT / "stacks" / "Pulumi.local.yaml", tmp_path / "stacks" / "Pulumi.local.yaml")
    shutil.copytree(ROOT / "examples" / "diabetes", tmp_path / "examples" / "diabetes",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _descendants(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        p, pp = map(int, line.split())
        children.setdefault(pp, []).append(p)
    found, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.add(c)
            todo.append(c)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead; only its parent's reaping is missing.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def _serve(project, *args):
    return subprocess.Popen([*MLDEPLOY, "serve", "--stack", "local", "--project-dir", str(project), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_serve_json_scores_then_sigterm_leaves_no_process(project):
    proc = _serve(project, "--port", "0", "--json")
    try:
        line = proc.stdout.readline()
        assert line, f"serve printed nothing: {proc.stderr.read() if proc.poll() is not None else ''}"
        endpoint = json.loads(line)
        assert set(endpoint) == {"scoringUri", "swaggerUri", "primaryKey", "secondaryKey"}
        sample = json.loads((project / "examples/diabetes/sample-request.json").read_text())
        r = requests.post(endpoint["scoringUri"], json=sample,
                          headers={"Authorization": f"Bearer {endpoint['secondaryKey']}"})
        assert r.status_code == 200 and len(r.json()) == 2
        _check_test_command(project, endpoint)
        children = _descendants(proc.pid)
        assert len(children) >= 4, f"expected scorer + gateway with workers, found {children}"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    left = [p for p in children if _alive(p)]
    assert left == [], f"processes left after SIGTERM: {left}"
    assert not (project / ".mldeploy/local/local/diabetes/endpoint.json").exists()


def _check_test_command(project, endpoint):
    """`mldeploy test` against the served stack: the sample scores; a wrong key fails loudly."""
    ok = subprocess.run([*MLDEPLOY, "test", "--stack", "local", "--service", "diabetes",
                         "--project-dir", str(project)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert len(json.loads(ok.stdout)) == 2, ok.stdout
    bad = subprocess.run([*MLDEPLOY, "test", "--uri", endpoint["scoringUri"], "--key", "wrong-key-0123456789",
                          "--data", str(project / "examples/diabetes/sample-request.json")],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "status 401" in bad.stderr, bad.stderr


def test_test_command_without_a_running_service_says_how_to_start_it(project):
    done = subprocess.run([*MLDEPLOY, "test", "--stack", "local", "--service", "diabetes",
                           "--project-dir", str(project)], capture_output=True, text=True)
    assert done.returncode == 1 and "mldeploy serve --stack local --service diabetes" in done.stderr


def test_port_in_use_is_one_clear_line(project):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _serve(project, "--port", str(port))
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert err.strip().splitlines()[-1] == f"error: port {port} on 127.0.0.1 is in use: stop what uses it or pass --port"


def test_init_failure_is_one_clear_line(project):
    script = project / "examples/diabetes/score.py"
    script.write_text(script.read_text().replace("model = joblib.load(model_path)",
                                                 "raise RuntimeError('model file is corrupt')"))
    proc = _serve(project, "--port", "0")
    _, err = proc.communicate(timeout=180)
    last = err.strip().splitlines()[-1]
    assert proc.returncode == 1
    assert last.startswith("error: the scorer exited") and "model file is corrupt" in last, last


def test_missing_nginx_says_how_to_install(monkeypatch):
    from mldeploy.runtime import processes

    monkeypatch.setattr(processes.shutil, "which", lambda *a, **k: None)
    with pytest.raises(processes.StartError, match="apt-get install nginx-light"):
        processes.find_nginx()
