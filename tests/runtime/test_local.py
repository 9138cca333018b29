"""LocalServer's files: keys private, a stale endpoint file noticed."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mldeploy.runtime.local import refuse_if_running, write_private
from mldeploy.runtime.processes import StartError


def _wait_exec(pid: int) -> None:
    """Until the child runs its own program (before exec, /proc shows the parent's command line)."""
    path = f"/proc/{pid}/cmdline"
    while b"time.sleep" not in open(path, "rb").read():
        pass


def test_write_private_narrows_an_existing_file(tmp_path):
    path = tmp_path / "keys.map"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, "new")
    assert path.stat().st_mode & 0o777 == 0o600 and path.read_text() == "new"


def test_a_stale_endpoint_file_is_removed(tmp_path):
    stale = tmp_path / "endpoint.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale.write_text(json.dumps({"primaryKey": "old", "pid": int(dead.stdout)}))
    refuse_if_running(stale, "service 'x'")
    assert not stale.exists(), "the keys of a killed serve must not linger"


def test_a_pid_reused_by_another_program_is_not_a_running_service(tmp_path):
    stale = tmp_path / "endpoint.json"
    # "mldeploy" in a path is not mldeploy (a CI clone's venv python is .../mldeploy/.venv/bin/python).
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "/srv/mldeploy/.venv/data.csv"])
    try:
        _wait_exec(other.pid)
        stale.write_text(json.dumps({"pid": other.pid}))
        refuse_if_running(stale, "service 'x'")
        assert not stale.exists()
    finally:
        other.kill()
        other.wait()


def test_a_live_serve_is_refused(tmp_path):
    stale = tmp_path / "endpoint.json"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "mldeploy", "serve"])
    try:
        _wait_exec(live.pid)
        stale.write_text(json.dumps({"pid": live.pid}))
        with pytest.raises(StartError, match=f"already served by process {live.pid}"):
            refuse_if_running(stale, "service 'x'")
    finally:
        live.kill()
        live.wait()


@pytest.mark.parametrize("bad", ["/tmp/my project", "/tmp/a;b", "/tmp/x{y}", "/tmp/$HOME", "/tmp/a#b"])
def test_a_path_nginx_conf_cannot_hold_is_refused_before_start(bad):
    from pathlib import Path

    from mldeploy.runtime.local import check_nginx_path

    with pytest.raises(StartError, match="nginx.conf cannot take"):
        check_nginx_path(Path(bad))


def test_serve_generates_keys_by_the_one_key_rule():
    from mldeploy.plan.keys import KEY_ALPHABET, KEY_LENGTH
    from mldeploy.runtime.local import new_key

    key = new_key()
    assert len(key) == KEY_LENGTH and set(key) <= set(KEY_ALPHABET), f"serve's key {len(key)} chars, not {KEY_LENGTH}"


def _azureml_core_model_path(app_root: str, model_name: str) -> str:
    """azureml-core 1.61's Model._get_model_path_local for a deployed script (no version): it looks
    only under `os.path.join(AML_APP_ROOT, 'azureml-models')/<name>/<latest version>/` for the one
    file or folder there (azureml/core/model.py: MODELS_DIR, _get_model_path_local)."""
    import os
    candidate = os.path.join(app_root, "azureml-models", model_name)
    assert os.path.exists(candidate), f"azureml-core would raise ModelNotFoundException: no {candidate}"
    latest = max(os.listdir(candidate), key=int)
    entries = os.listdir(os.path.join(candidate, latest))
    assert len(entries) == 1, entries
    return os.path.join(candidate, latest, entries[0])


def test_the_real_azureml_core_finds_the_model_locally_as_in_the_image(tmp_path):
    """A v1 environment with azureml-defaults runs the real azureml-core (no stand-in); its
    Model.get_model_path reads AML_APP_ROOT/azureml-models, where the image has the models
    (/var/azureml-app/azureml-models). The local scorer's app root must hold them there too."""
    from mldeploy.config.stack import ImageSettings, ModelSettings
    from mldeploy.plan.models import resolve_model
    from mldeploy.render.build_context import render_build_context
    from mldeploy.runtime.env import ScoringEnv
    from mldeploy.runtime.local import scorer_child
    from mldeploy.runtime.processes import listen_socket

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "clf.pkl").write_bytes(b"model bytes")
    (tmp_path / "score.py").write_text("from azureml.core.model import Model\n\ndef init():\n"
                                       "    Model.get_model_path('clf')\n\ndef run(data):\n    return data\n")
    (tmp_path / "myenv.yml").write_text("dependencies:\n  - python=3.11\n  - pip:\n    - azureml-defaults\n")
    model = resolve_model("clf", ModelSettings.model_validate({"path": "models/clf.pkl", "version": 3},
                                                                context={"root": tmp_path}), tmp_path)
    image = ImageSettings.model_validate({"entryScript": "score.py", "condaFile": "myenv.yml", "models": ["clf"]},
                                         context={"root": tmp_path})
    context = render_build_context("clf", image, [model], tmp_path)
    assert not any(name.startswith("app/azureml/") for name in context.files), "azureml-core installed: no stand-in"
    context.write(tmp_path / "run" / "context")
    sock = listen_socket(0)
    try:
        child = scorer_child(context, ScoringEnv(tmp_path / "venv", "x"), tmp_path / "run" / "context",
                             tmp_path / "run", sock=sock, workers=1, scoring_timeout_ms=1000)
    finally:
        sock.close()
    found = _azureml_core_model_path(child.env["AML_APP_ROOT"], "clf")
    assert open(found, "rb").read() == b"model bytes", found


def test_a_stopping_serve_is_waited_for_and_said_so(tmp_path, capsys):
    """`kill <pid>` of serve, then serve again at once: the new one waits while the old one stops."""
    import threading

    stale = tmp_path / "endpoint.json"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "mldeploy", "serve"])
    try:
        _wait_exec(live.pid)
        stale.write_text(json.dumps({"pid": live.pid, "stopping": True}))
        threading.Timer(1.0, live.kill).start()  # it stops a second later
        refuse_if_running(stale, "service 'x'")
        assert not stale.exists()
        assert (f"service 'x' is still served by process {live.pid}, which is stopping: waiting up to 10 s "
                "for it to stop") in capsys.readouterr().err
    finally:
        live.kill()
        live.wait()


def test_a_stopping_serve_that_does_not_stop_is_refused_after_the_wait(tmp_path):
    stale = tmp_path / "endpoint.json"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "mldeploy", "serve"])
    try:
        _wait_exec(live.pid)
        stale.write_text(json.dumps({"pid": live.pid, "stopping": True}))
        with pytest.raises(StartError, match=f"still served by process {live.pid}, which did not stop within 1 s: "
                                             f"wait for it, or stop it \\(kill {live.pid}\\)"):
            refuse_if_running(stale, "service 'x'", wait_s=1.0)
        assert stale.exists()
    finally:
        live.kill()
        live.wait()


def test_without_proc_the_command_line_comes_from_ps(tmp_path, monkeypatch):
    """macOS has no /proc: `ps -ww -o command= -p PID` tells mldeploy from a program that reused the
    pid - its whole line: ps cuts at the width COLUMNS says, and the other program's line is made to
    end right after `.../mldeploy` at that width (a CI run's 80 columns cut `/srv/mldeploy/.venv/data.csv`
    so, and the other program read as mldeploy)."""
    from mldeploy.runtime.local import _is_mldeploy

    code = "import time; time.sleep(60)"
    cut_after = f"{sys.executable} -c {code} /srv/mldeploy"
    monkeypatch.setenv("COLUMNS", str(len(cut_after)))
    serve = subprocess.Popen([sys.executable, "-c", code, "mldeploy", "serve"])
    other = subprocess.Popen([sys.executable, "-c", code, "/srv/mldeploy/.venv/data.csv"])
    try:
        _wait_exec(serve.pid)
        _wait_exec(other.pid)
        no_proc = tmp_path / "no-proc"
        assert _is_mldeploy(serve.pid, proc=no_proc) is True
        assert _is_mldeploy(other.pid, proc=no_proc) is False
    finally:
        for child in (serve, other):
            child.kill()
            child.wait()


class _Unwritable:
    """A build context whose files cannot be written (a full disk): the start fails before any process runs."""

    image = "diabetes"

    def write(self, folder):
        raise OSError(28, "No space left on device")


def _runner(kind: str, run_dir):
    """An unstarted LocalServer, LocalEndpoint or container app's LocalRevisions over _Unwritable contexts."""
    from mldeploy.runtime.endpoint_local import LocalEndpoint
    from mldeploy.runtime.local import LocalServer
    from mldeploy.targets.containerapp.local import LocalRevisions
    from mldeploy.targets.stack import load_stack
    from tests.harness import ROOT
    from tests.runtime.plans import plan_of

    if kind == "endpoint":
        service = load_stack(ROOT, "managed").services["diabetes"]
        plan = plan_of("diabetes", service)
        return LocalEndpoint(plan, {i: _Unwritable() for i in plan.images}, {i: None for i in plan.images}, run_dir,
                             port=0)
    if kind == "revisions":
        service = load_stack(ROOT, "containerapp").services["diabetes-aca"]
        images = ("diabetes", "diabetes-v2")
        return LocalRevisions("diabetes-aca", service, {i: _Unwritable() for i in images}, {i: None for i in images},
                              run_dir, port=0)
    from mldeploy.targets.local.settings import LocalServiceSettings
    service = LocalServiceSettings.model_validate({"target": "local", "image": "diabetes"})
    return LocalServer(plan_of("diabetes", service), _Unwritable(), None, run_dir, port=0)


@pytest.mark.parametrize("kind", ["server", "endpoint", "revisions"])
def test_a_start_failing_before_any_process_leaves_no_socket_folder_and_no_open_socket(kind, tmp_path, monkeypatch,
                                                                                       trained_model):
    """A start that fails before its processes run (here: the build context cannot be written) is
    cleaned up as one that fails later: its sockets closed, their folder under the temp dir removed.
    Before, LocalEndpoint and LocalServer left both until the next start swept the folder."""
    import mldeploy.runtime.endpoint_local as endpoint_local
    import mldeploy.runtime.ingress as ingress
    import mldeploy.runtime.local as local

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    opened = []
    for module in (local, endpoint_local, ingress):
        real = module.listen_socket
        monkeypatch.setattr(module, "listen_socket", lambda port, real=real: opened.append(real(port)) or opened[-1])
    with pytest.raises(OSError, match="No space left on device"):
        _runner(kind, tmp_path / "run").start(timeout=5)
    assert opened, "the start got as far as listening"
    assert [s for s in opened if s.fileno() != -1] == [], f"{kind}: a listening socket left open"
    assert list(temp.iterdir()) == [], f"{kind}: left behind under the temp dir: {list(temp.iterdir())}"
