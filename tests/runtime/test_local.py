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
