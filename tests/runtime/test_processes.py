"""Child processes of the local target: sockets bound once and handed over, logs capped."""
from __future__ import annotations

import os
import shutil
import socket
import stat
import sys
from pathlib import Path

import pytest

from mldeploy.contract import UNIX_SOCKET_PATH_MAX
from mldeploy.plan.gateway import GatewaySpec, Upstream
from mldeploy.runtime.processes import Child, StartError, listen_socket, listen_unix_socket, socket_dir


def test_a_chosen_port_stays_bound_until_the_child_has_it():
    sock = listen_socket(0)
    port = sock.getsockname()[1]
    try:
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", port))  # nobody can take it between choosing and serving
    finally:
        sock.close()


def test_a_port_in_use_is_one_clear_start_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(StartError, match=f"port {port} on 127.0.0.1 is in use"):
            listen_socket(port)


def test_the_child_serves_the_handed_socket_and_this_process_lets_it_go(tmp_path):
    sock = listen_socket(0)
    port = sock.getsockname()[1]
    code = ("import os, socket; s = socket.socket(fileno=int(os.environ['FD'])); "
            "c, _ = s.accept(); c.sendall(b'hello'); c.close()")
    child = Child("echo", [sys.executable, "-c", code], env={}, cwd=tmp_path, log=tmp_path / "echo.log",
                  sock=sock, sock_env=lambda fd: {"FD": str(fd)})
    child.start()
    try:
        assert sock.fileno() == -1, "this process's copy of the socket must be closed once handed over"
        with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
            assert c.recv(5) == b"hello"
    finally:
        child.stop()


def test_a_log_past_its_cap_is_rotated_once(tmp_path):
    log = tmp_path / "scorer.log"
    log.write_bytes(b"x" * 2000)
    child = Child("scorer", ["true"], env={}, cwd=tmp_path, log=log)
    assert child.cap_log(limit=1000) is True
    assert log.stat().st_size == 0 and (tmp_path / "scorer.log.1").stat().st_size == 2000
    assert child.cap_log(limit=1000) is False, "a log under its cap stays as it is"


def test_a_unix_socket_replaces_a_stale_one_and_a_restart_binds_it_again(tmp_path):
    path = tmp_path / "scorer.sock"
    listen_unix_socket(path).close()  # what a killed child leaves behind
    sock = listen_unix_socket(path)
    code = ("import os, socket; s = socket.socket(fileno=int(os.environ['FD'])); "
            "c, _ = s.accept(); c.sendall(b'hello'); c.close()")
    child = Child("echo", [sys.executable, "-c", code], env={}, cwd=tmp_path, log=tmp_path / "echo.log",
                  sock=sock, sock_env=lambda fd: {"FD": str(fd)})
    assert (child.port, child.unix_socket) == (None, path), "a Unix socket child has a path, no port"
    for _ in range(2):  # the first start, then a restart (as LocalServer.check does)
        child.start()
        try:
            with socket.socket(socket.AF_UNIX) as c:
                c.settimeout(30)
                c.connect(str(path))
                assert c.recv(5) == b"hello", f"the child must serve {path}"
        finally:
            child.stop()
    assert stat.S_ISSOCK(os.stat(path).st_mode)


def test_sockets_get_a_short_folder_even_when_the_temp_dir_is_deep(tmp_path, monkeypatch):
    """A local service's Unix sockets (the scorer's, the gateway's own hop) never go where their
    path could be too long for a socket address: a deep TMPDIR falls back to /tmp."""
    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    monkeypatch.setenv("TMPDIR", str(deep))
    monkeypatch.setattr("tempfile.tempdir", None)  # gettempdir() reads TMPDIR again
    folder = socket_dir()
    try:
        assert folder.parent == Path("/tmp") and len(str(folder / "gateway.sock")) <= UNIX_SOCKET_PATH_MAX, folder
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o711, "others reach a socket by name, never list them"
        listen_unix_socket(folder / "gateway.sock").close()
    finally:
        shutil.rmtree(folder)


def _dead_pid() -> int:
    import subprocess
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)  # exited and reaped: no process has this id now (a reuse would keep its folder)


def test_a_killed_runs_socket_folder_goes_away_at_the_next_start_and_no_live_runs_folder_does(tmp_path):
    """A killed `mldeploy serve` cannot remove its socket folder; the next start removes the
    folders of this user whose recorded owner process is gone, and nothing else."""
    from mldeploy.runtime.processes import OWNER_FILE, remove_stale_socket_dirs

    def folder(name: str, owner: str | None) -> Path:
        path = tmp_path / name
        path.mkdir()
        (path / "scorer.sock").write_text("")
        if owner is not None:
            (path / OWNER_FILE).write_text(owner)
        return path

    dead = folder("mldeploy-dead0000", f"{_dead_pid()}\n")
    live = folder("mldeploy-live0000", f"{os.getpid()}\n")
    unknown = folder("mldeploy-noowner0", None)         # made before owners were recorded, or being made now
    garbled = folder("mldeploy-garbled0", "12ab")
    other = folder("other-dead000000", f"{_dead_pid()}\n")  # not ours by name
    bench = folder("mldeploy-bench-x1234567", f"{_dead_pid()}\n")  # another tool's mldeploy-* folder
    remove_stale_socket_dirs(tmp_path)
    assert not dead.exists()
    assert all(p.exists() for p in (live, unknown, garbled, other, bench))
    if os.getuid() == 0:  # another user's folder, its owner gone: not ours to remove
        theirs = folder("mldeploy-theirs00", f"{_dead_pid()}\n")
        os.chown(theirs, 65534, 65534)
        remove_stale_socket_dirs(tmp_path)
        assert theirs.exists()


def test_a_new_socket_folder_records_its_owner_and_clears_stale_ones(tmp_path, monkeypatch):
    from mldeploy.runtime.processes import OWNER_FILE

    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    stale = tmp_path / "mldeploy-stale000"
    stale.mkdir()
    (stale / OWNER_FILE).write_text(f"{_dead_pid()}\n")
    if len(str(tmp_path / "mldeploy-xxxxxxxx" / "gateway.sock")) > UNIX_SOCKET_PATH_MAX:
        pytest.skip(f"{tmp_path} is too deep for a socket path here")
    folder = socket_dir()
    assert folder.parent == tmp_path and not stale.exists()
    assert (folder / OWNER_FILE).read_text().split()[0] == str(os.getpid())


def test_no_short_folder_for_sockets_is_one_clear_start_error(monkeypatch):
    monkeypatch.setattr("tempfile.gettempdir", lambda: "/" + "d" * 100)
    monkeypatch.setattr("mldeploy.runtime.processes.UNIX_SOCKET_PATH_MAX", 10)  # /tmp too
    with pytest.raises(StartError, match="no folder for the service's Unix sockets: tried /d+ .*, /tmp .*set TMPDIR"):
        socket_dir()


def test_a_gateway_socket_path_too_long_for_nginx_is_refused_before_rendering():
    """nginx cannot start with a hop socket over sun_path ('too long path in the unix domain
    socket'): the spec refuses such a path, whoever builds it."""
    deep = "/" + "d" * 100
    with pytest.raises(ValueError, match=f"has {len(deep) + 13} characters: a Unix socket path holds at most"):
        GatewaySpec(listen_port=1, upstreams=(Upstream("127.0.0.1", 2),), run_dir=deep, auth_enabled=False)
    GatewaySpec(listen_port=1, upstreams=(Upstream("127.0.0.1", 2),), run_dir=deep, auth_enabled=False,
                hop_socket_file="/tmp/x/gateway.sock")


def test_a_file_left_by_a_killed_child_is_removed_before_each_start(tmp_path):
    """nginx binds its own hop socket: one left by a killed nginx would keep the restart from binding."""
    stale = tmp_path / "gateway.sock"
    code = "import os, sys; sys.exit(7 if os.path.exists(sys.argv[1]) else 0)"
    child = Child("binder", [sys.executable, "-c", code, str(stale)], env={}, cwd=tmp_path, log=tmp_path / "b.log",
                  stale_files=(stale,))
    for _ in range(2):
        listen_unix_socket(stale).close()  # what a killed nginx leaves behind
        child.start()
        child.proc.wait(timeout=30)
        assert child.exit_code() == 0, "the stale socket must be gone before the child starts"


def test_start_and_wait_stops_everything_when_a_scorer_never_gets_ready(tmp_path):
    """A scorer that exits before it is ready: the sequence raises StartError naming it, and
    `stop` ran (whatever had started is gone)."""
    from mldeploy.runtime.processes import free_port, start_and_wait

    port = free_port()
    gateway = Child("gateway", [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                    env=dict(os.environ), cwd=tmp_path, log=tmp_path / "gw.log")
    scorer = Child("scorer", [sys.executable, "-c", "raise SystemExit(3)"], env=dict(os.environ), cwd=tmp_path,
                   log=tmp_path / "scorer.log")
    stopped = []

    def stop():
        stopped.append(True)
        for child in (gateway, scorer):
            child.stop()

    with pytest.raises(StartError, match="the scorer exited"):
        start_and_wait([(scorer, "http://127.0.0.1:9/", "the scorer")], gateway, f"http://127.0.0.1:{port}/", 30, stop)
    assert stopped, "start_and_wait must run stop() when the start fails"
    assert gateway.exit_code() is not None, "the gateway started by the sequence must be stopped"


def _start_failure(tmp_path, argv: list[str]) -> str:
    """The StartError message for a scorer (`argv`, run in tmp_path) that exits before it is ready."""
    from mldeploy.runtime.processes import wait_until_ok

    scorer = Child("scorer", argv, env=dict(os.environ), cwd=tmp_path, log=tmp_path / "s.log")
    scorer.start()
    scorer.proc.wait(timeout=30)
    with pytest.raises(StartError) as raised:
        wait_until_ok(scorer, "http://127.0.0.1:9/", "the scorer", 30)
    return str(raised.value)


@pytest.mark.parametrize("script, hint", [
    ("import pandas_not_installed_here.io", "score.py imports 'pandas_not_installed_here', which the scoring "
                                            "environment lacks: add its package to the image's condaFile (under "
                                            "pip:) or requirementsFile"),
    ("open(os.path.abspath('azureml-models/cancer/2/cancer.pkl'))", "the image's azureml-models/cancer/2 holds: cancer-v2.pkl, "
                                                   "notes/ (score.py must open the file the stack's model path names)"),
])
def test_a_scorer_start_failure_says_what_to_do(tmp_path, script, hint):
    """The two start failures a new project meets first - a package missing from the environment, a
    second model version saved under another file name than score.py opens - end with what to do."""
    (tmp_path / "azureml-models" / "cancer" / "2" / "notes").mkdir(parents=True)
    (tmp_path / "azureml-models" / "cancer" / "2" / "cancer-v2.pkl").write_bytes(b"model")
    message = _start_failure(tmp_path, [sys.executable, "-c", f"import os; {script}"])
    assert message.startswith("the scorer exited (code 1) before it was ready: "), message
    assert message.endswith(f"; {hint}"), message


# What azmlinfsrv does with an exception of init() (its scorer.log, read in hreview's trial): logs the
# user's traceback after a prefix, then a second traceback, through its own files only, chained after
# the user's (aml_blueprint.py setup -> user_script.py invoke_init).
AZMLINFSRV_CHAIN = ("import traceback\n"
                    "class UserScriptException(Exception): pass\n"
                    "def invoke_init():\n"
                    "    try:\n"
                    "        init()\n"
                    "    except Exception as ex:\n"
                    "        print('2026-12-05 13:39:39,387 E [3793] azmlinfsrv - Encountered Exception '\n"
                    "              + traceback.format_exc(), flush=True)\n"
                    "        raise UserScriptException('Caught an unhandled exception from the user script') from ex\n"
                    "invoke_init()\n")


@pytest.mark.parametrize("chained", [False, True], ids=["alone", "chained-by-azmlinfsrv"])
def test_a_module_missing_while_the_model_is_unpickled_is_not_called_an_import_of_score_py(tmp_path, chained):
    """A pipeline pickled with a class of the training code's own module (`features`): unpickling
    raises ModuleNotFoundError, which was explained as `score.py imports 'features'` (new-user trial:
    a model file that was no pickle read as `No module named 'mport pickle'`) - also when azmlinfsrv's
    own traceback follows the user's, as it does in every real scorer log (hreview: it did there)."""
    (tmp_path / "score.py").write_text(
        "import pickle, sys, types\n"
        "features = sys.modules['features'] = types.ModuleType('features')\n"
        "exec('class Scaler: pass', features.__dict__)\n"
        "blob = pickle.dumps(features.Scaler())\n"
        "del sys.modules['features']\n"
        "def init():\n"
        "    model = pickle.loads(blob)\n"
        + (AZMLINFSRV_CHAIN if chained else "init()\n"))
    message = _start_failure(tmp_path, [sys.executable, "score.py"])
    assert "No module named 'features'; the model file needs module 'features' to load" in message, message
    assert message.endswith("a module of your own: ship it in the image's sourceDirectory, importable from the "
                            "folder's root under the name it had at training"), message
    assert "score.py imports" not in message, message


@pytest.mark.parametrize("load", ["pickle.load(open('model.pkl', 'rb'))", "joblib_load('model.pkl')"])
def test_a_model_file_that_is_no_pickle_says_so(tmp_path, load):
    """A model file that is text (or another format): unpickling raises whatever its first bytes lead
    to (`KeyError: 110` from joblib for 'n'), which serve printed alone (hreview's trial)."""
    (tmp_path / "model.pkl").write_text("not a pickle\n")
    (tmp_path / "score.py").write_text(
        "import pickle\n"
        "def joblib_load(path):\n"
        "    return pickle._Unpickler(open(path, 'rb')).load()\n"
        f"def init():\n    model = {load}\n" + AZMLINFSRV_CHAIN)
    message = _start_failure(tmp_path, [sys.executable, "score.py"])
    assert "; score.py's init() failed unpickling the model file: it is not a pickle or joblib file" in message, message


def test_refuse_new_connections_drops_new_connections_to_a_childs_listener(tmp_path):
    """The listener a child serves (here one that never accepts) completes new connections into
    its queue; once refused, a connection attempt gets no handshake (its SYNs are dropped)."""
    from mldeploy.runtime.processes import listen_socket, refuse_new_connections

    sock = listen_socket(0)
    port = sock.getsockname()[1]
    child = Child("sleeper", ["sleep", "60"], env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path, log=tmp_path / "log",
                  sock=sock, sock_env=lambda fd: {})
    child.start()
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # queued by the kernel
        assert refuse_new_connections(child)
        with pytest.raises(OSError):  # timeout: no SYN-ACK comes
            socket.create_connection(("127.0.0.1", port), timeout=1.0)
    finally:
        child.stop(timeout=2)


def test_a_stop_whose_raise_was_lost_still_ends_the_readiness_wait():
    """serve's signal handler raises StopRequested and sets STOP_REQUESTED; when the raise is lost (a
    signal landing in a finalizer: "Exception ignored"), the wait for init() must still end at the
    next poll, not after --timeout (seen: serve hung past 60 s after a SIGTERM during a slow init())."""
    import threading
    import time

    from mldeploy.runtime.processes import STOP_REQUESTED, StopRequested, free_port, wait_until_ok

    class Starting:  # a scorer whose init() never ends
        log = "scorer.log"

        def exit_code(self):
            return None

        def log_tail(self, _lines):
            return []

    url = f"http://127.0.0.1:{free_port()}/"  # nothing answers: not ready
    timer = threading.Timer(0.3, STOP_REQUESTED.set)  # the handler's event, without its raise
    timer.start()
    began = time.monotonic()
    try:
        with pytest.raises(StopRequested):
            wait_until_ok(Starting(), url, "the scorer", 10)
    finally:
        timer.cancel()
        STOP_REQUESTED.clear()
    assert time.monotonic() - began < 5


def test_without_proc_a_process_s_children_are_read_from_ps(tmp_path):
    """macOS has no /proc: `serve --reload` still finds nginx's workers (to wait for the old ones)."""
    import subprocess

    from mldeploy.runtime.processes import child_pids

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        children = child_pids(os.getpid(), proc=tmp_path / "no-proc")
        assert child.pid in children, "the child, read from ps"
        assert os.getpid() not in children and os.getppid() not in children, children
    finally:
        child.kill()
        child.wait()


def test_a_unix_socket_path_too_long_is_one_clear_start_error(tmp_path):
    """bind() of a path longer than sun_path fails with OSError 'AF_UNIX path too long', which named
    neither the path nor what to do."""
    path = Path("/tmp") / ("d" * 120) / "s0.sock"
    with pytest.raises(StartError, match=f"the Unix socket path {path} has {len(str(path))} bytes: a socket's path holds at most "
                                         f"{UNIX_SOCKET_PATH_MAX} here .*set TMPDIR"):
        listen_unix_socket(path)


def test_waiting_for_several_children_fails_at_once_when_one_exits(tmp_path):
    """wait_all_ok polls every child together: the second child's exit fails the wait at once, while
    the first is still not ready (before, a wait one child after the other took the first's timeout)."""
    import time

    from mldeploy.runtime.processes import wait_all_ok

    slow = Child("slow", [sys.executable, "-c", "import time; time.sleep(60)"], env={}, cwd=tmp_path,
                 log=tmp_path / "slow.log")
    failing = Child("failing", [sys.executable, "-c", "print('RuntimeError: broken'); raise SystemExit(3)"], env={},
                    cwd=tmp_path, log=tmp_path / "failing.log")
    for child in (slow, failing):
        child.start()
    started = time.monotonic()
    try:
        with pytest.raises(StartError, match=r"^the second exited \(code 3\) before it was ready: RuntimeError: broken"):
            wait_all_ok([(slow, lambda: None, "the first"), (failing, lambda: None, "the second")], timeout=50)
        assert time.monotonic() - started < 20
    finally:
        slow.stop()
        failing.stop()
