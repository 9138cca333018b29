"""Child processes of the local target: the scorer (azmlinfsrv) and the gateway (nginx).

Each child runs in its own process group, so stopping it stops its workers too (gunicorn and
nginx both fork). The kernel is asked to signal a child when mldeploy dies, so even a killed
`serve` leaves nothing behind. Everything listens on 127.0.0.1 only.
"""
from __future__ import annotations

import ctypes
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from mldeploy.contract import UNIX_SOCKET_PATH_MAX

NGINX_INSTALL_HINT = ("nginx is not installed (the local gateway): install it with "
                      "`sudo apt-get install nginx-light` (Debian/Ubuntu) or `brew install nginx` (macOS)")
LOG_CAP_BYTES = 10 * 1024 * 1024  # a child's log is rotated once beyond this (one old copy kept)
PR_SET_PDEATHSIG = 1


class StartError(Exception):
    """A child could not start or become ready; the message is one line for the user."""


class StopRequested(BaseException):
    """A stop signal (SIGTERM, Ctrl+C) while services start: unwinds the start. A BaseException, as
    KeyboardInterrupt is, so no `except Exception` on the way takes it for a failure."""


# Set by `serve`'s signal handler, which also raises StopRequested in the main thread. The raise can
# be lost: a signal handler that raises while a finalizer runs (a urllib response's `__del__` during
# the readiness polls below) has its exception printed as "Exception ignored" and dropped - so the
# start-up wait also checks this between its polls. Stopping was seen to hang until init() ended
# (SIGTERM during a slow init(), tests/runtime/test_serve_cli.py, once in a loaded CI run).
STOP_REQUESTED = threading.Event()


def _die_with_parent() -> None:
    # Linux: SIGTERM this child when the process that started it exits, however it exits.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def find_nginx() -> str:
    """The nginx binary (also found in /usr/sbin when that is not on PATH), or StartError."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin:/opt/homebrew/bin")
    if not found:
        raise StartError(NGINX_INSTALL_HINT)
    return found


def listen_socket(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:`port` (0: any free port), bound here once and handed to
    the child that serves it (nginx, gunicorn): no port is chosen now and bound later, so no
    other process can take it in between."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise StartError(f"port {port} on 127.0.0.1 is in use: stop what uses it or pass --port") from None
    sock.listen(511)
    sock.set_inheritable(True)
    return sock


# The longest socket name put in a socket_dir() folder (gateway.sock; a scorer's, swap.py ScorerSocket).
SOCKET_NAME_MAX = len("gateway.sock")
_SOCKET_DIR_PREFIX = "mldeploy-"
_SOCKET_DIR_NAME = re.compile(re.escape(_SOCKET_DIR_PREFIX) + r"[a-z0-9_]{8}")
OWNER_FILE = "owner.pid"  # in a socket_dir() folder: the id of the process that made it and removes it


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, another user's
        return False
    return False


def remove_stale_socket_dirs(root: Path) -> None:
    """Remove the socket_dir() folders under `root` that a killed run left: this user's, whose
    recorded owner process is gone. A folder without a readable owner (being made right now, or
    made before owners were recorded) stays, so does every other user's; a reused pid keeps a
    stale folder, never removes a live one."""
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        # mkdtemp's names only (8 characters after the prefix): not mldeploy-bench-* and the like.
        if not _SOCKET_DIR_NAME.fullmatch(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            pid = int((Path(entry.path) / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if pid > 0 and _process_gone(pid):
            shutil.rmtree(entry.path, ignore_errors=True)  # another start may be removing it too


def socket_dir() -> Path:
    """A new folder for the Unix sockets of one local service (the scorer's, the gateway's own
    hop), whose paths always fit a socket address: under the temp dir, else under /tmp when the
    temp dir (TMPDIR) is too deep - never in the project's run folder, whose path may be anything
    (a CI clone in a deep folder). Others may reach a socket in it by its name, not list the
    folder: nginx's workers (`nobody` when root starts nginx) must reach them. The caller removes it;
    the folder records this process as its owner, and a later start removes it if this process was
    killed first (remove_stale_socket_dirs). StartError when no such folder can be made."""
    tried = []
    for root in dict.fromkeys((tempfile.gettempdir(), "/tmp")):
        # mkdtemp adds 8 characters after the prefix.
        longest = os.path.join(root, _SOCKET_DIR_PREFIX + "x" * 8, "x" * SOCKET_NAME_MAX)
        if len(os.fsencode(longest)) > UNIX_SOCKET_PATH_MAX:  # bytes: sun_path holds bytes
            tried.append(f"{root} (a socket path there has {len(os.fsencode(longest))} bytes)")
            continue
        remove_stale_socket_dirs(Path(root))
        try:
            folder = Path(tempfile.mkdtemp(prefix=_SOCKET_DIR_PREFIX, dir=root))
        except OSError as e:
            tried.append(f"{root} ({e.strerror})")
            continue
        os.chmod(folder, 0o711)
        # Written whole, then renamed: a start sweeping now never reads a partial pid.
        (folder / f"{OWNER_FILE}.new").write_text(f"{os.getpid()}\n")
        os.replace(folder / f"{OWNER_FILE}.new", folder / OWNER_FILE)
        return folder
    raise StartError(f"no folder for the service's Unix sockets: tried {', '.join(tried)}; a socket path holds at "
                     f"most {UNIX_SOCKET_PATH_MAX} bytes: set TMPDIR to a short writable folder")


def listen_unix_socket(path: Path) -> socket.socket:
    """A listening Unix socket at `path` (a stale one left by a killed child is replaced),
    handed to the child that serves it like `listen_socket`. Any local user may connect, as to a
    port on 127.0.0.1: nginx started by root runs its workers as `nobody`, and they connect.
    StartError for a path longer than a socket address holds (bind would fail with OSError
    'AF_UNIX path too long')."""
    size = len(os.fsencode(path))
    if size > UNIX_SOCKET_PATH_MAX:
        raise StartError(f"the Unix socket path {path} has {size} bytes: a socket's path holds at most "
                         f"{UNIX_SOCKET_PATH_MAX} here (sun_path: 108 bytes on Linux, 104 on macOS); set TMPDIR "
                         "to a short writable folder")
    path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    os.chmod(path, 0o666)
    sock.listen(511)
    sock.set_inheritable(True)
    return sock


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Child:
    """One supervised child process (and its process group), logging to a file."""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], cwd: Path, log: Path,
                 sock: socket.socket | None = None, sock_env: Callable[[int], dict[str, str]] | None = None,
                 stop_signal: int = signal.SIGTERM, stale_files: tuple[Path, ...] = (),
                 before_stop: Callable[[Child], None] | None = None):
        """`sock`: a listening socket the child serves; it is handed over (its fd number told by
        `sock_env(fd)`) and this process's copy closed, so a dead child refuses connections at
        once. A restart binds the same port again. `stop_signal`: the signal that stops it
        gracefully (nginx: SIGQUIT; its SIGTERM drops the requests in flight). `stale_files`:
        removed before every start (a Unix socket the child binds itself, left by a killed one:
        nginx would not bind it again). `before_stop`: called before the stop signal while the
        child runs (the gateway's drain: render/gateway.py _drain)."""
        self.name, self.argv, self.env, self.cwd, self.log = name, argv, env, cwd, log
        self.stop_signal, self.stale_files, self.before_stop = stop_signal, stale_files, before_stop
        self.child_sock_fd: int | None = None
        self._sock, self.sock_env = sock, sock_env
        inet = sock is not None and sock.family == socket.AF_INET
        self.port = sock.getsockname()[1] if inet else None
        # A Unix socket's path: a restart binds it again.
        self.unix_socket = Path(sock.getsockname()) if sock is not None and not inet else None
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    def start(self) -> None:
        self.cwd.mkdir(parents=True, exist_ok=True)
        self.cap_log()
        for stale in self.stale_files:
            stale.unlink(missing_ok=True)
        sock, env = self._sock, self.env
        if sock is None and self.port is not None:
            sock = listen_socket(self.port)
        elif sock is None and self.unix_socket is not None:
            sock = listen_unix_socket(self.unix_socket)
        if sock is not None:
            env = {**env, **self.sock_env(sock.fileno())}
        self.child_sock_fd = sock.fileno() if sock is not None else None  # the same number in the child
        try:
            with open(self.log, "ab") as out:
                self.proc = subprocess.Popen(
                    self.argv, env=env, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
                    pass_fds=(sock.fileno(),) if sock is not None else (),
                )
        finally:
            if sock is not None:
                sock.close()
            self._sock = None

    def cap_log(self, limit: int = LOG_CAP_BYTES) -> bool:
        """Rotate the log once it passes `limit`: copy it to `<log>.1` and truncate it in place
        (logrotate's copytruncate - the child keeps its append-mode file open). True if rotated."""
        try:
            if self.log.stat().st_size <= limit:
                return False
            shutil.copyfile(self.log, self.log.with_name(self.log.name + ".1"))
            os.truncate(self.log, 0)
            return True
        except OSError:
            return False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def exit_code(self) -> int | None:
        """None while running."""
        return self.proc.poll() if self.proc else -1

    def log_tail(self, lines: int = 40) -> list[str]:
        try:
            return self.log.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return []

    def stop(self, timeout: float = 10.0) -> None:
        """The stop signal to the whole group (each process finishes what it holds), SIGKILL
        what is left after `timeout`, reap the leader."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        if self.before_stop is not None and self.proc.poll() is None:
            self.before_stop(self)
        _signal_group(pgid, self.stop_signal)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (_group_alive(pgid) or self.proc.poll() is None):
            self.proc.poll()
            time.sleep(0.05)
        if _group_alive(pgid):
            _signal_group(pgid, signal.SIGKILL)
        self.proc.wait()
        while _group_alive(pgid) and time.monotonic() < deadline + 5:
            time.sleep(0.05)


SO_ATTACH_FILTER = 26  # <asm-generic/socket.h>; Python's socket module does not name it
SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture (the generic syscall table)


def refuse_new_connections(child: Child) -> bool:
    """Make the listening socket `child` serves drop every new connection attempt (its SYNs and
    handshake ACKs: a classic BPF filter that accepts nothing, attached to the socket - the kernel
    runs a listener's filter on them, net/ipv4/tcp_ipv4.c tcp_filter) while the child goes on
    accepting what is already queued. A client connecting then retries its SYN and is refused
    once the child has closed the listener: no request leaves it. Without this, a connection the
    kernel completed into the queue in the instant nginx closes its listener is reset with its
    request written (inet_csk_listen_stop) - under clients that reconnect (the drain's
    `Connection: close` answers) several per stop, measured with wrk. This process closed its
    copy of the socket when it handed it over (a dead child must refuse connections at once), so
    it takes the child's with pidfd_getfd (Linux >= 5.6; allowed to the child's parent). Written
    here with ctypes: no library wraps pidfd_getfd or SO_ATTACH_FILTER. False when the kernel or
    the platform does not allow it: then the stop goes on without it."""
    if child.proc is None or child.child_sock_fd is None or child.port is None or not hasattr(os, "pidfd_open"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        pidfd = os.pidfd_open(child.proc.pid)
    except OSError:
        return False
    try:
        fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, child.child_sock_fd, 0)
    finally:
        os.close(pidfd)
    if fd < 0:
        return False
    drop_all = ctypes.create_string_buffer(struct.pack("HBBI", 0x06, 0, 0, 0))  # BPF_RET | BPF_K, 0: drop
    program = struct.pack("@HP", 1, ctypes.addressof(drop_all))  # struct sock_fprog {len; filter}
    with socket.socket(fileno=fd) as sock:
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, program)
        except OSError:
            return False
    return True


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _probe_tls() -> ssl.SSLContext:
    # A readiness probe of our own child on loopback: it sends no key, and the certificate is
    # issued for the service's public name (or self-signed), not for 127.0.0.1.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """The status of GET `url` (http, or https without certificate checks), None when nothing answers."""
    context = _probe_tls() if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except (urllib.error.URLError, OSError):
        return None


def child_pids(pid: int, proc: Path = Path("/proc")) -> set[int]:
    """The processes whose parent is `pid` now (nginx's workers): from /proc, else (macOS, the BSDs:
    no /proc) from `ps -A -o pid= -o ppid=` - options POSIX gives ps (pubs.opengroup.org
    utilities/ps.html: -A every process, -o with the pid and ppid fields, `=` no header), which
    macOS's and procps's ps both take; empty when neither answers."""
    if not proc.is_dir():
        return _child_pids_from_ps(pid)
    found = set()
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _child_pids_from_ps(pid: int) -> set[int]:
    try:
        listing = subprocess.run(["ps", "-A", "-o", "pid=", "-o", "ppid="], capture_output=True, text=True,
                                 timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    found = set()
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0].isdigit() and fields[1] == str(pid):
            found.add(int(fields[0]))
    return found


def unix_http_status(path: Path, target: str = "/", timeout: float = 2.0) -> int | None:
    """The status of GET `target` from the HTTP server on Unix socket `path` (a scorer before any
    gateway reaches it), None when nothing answers."""
    connection = http.client.HTTPConnection("localhost", timeout=timeout)
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.sock = sock
        sock.settimeout(timeout)
        sock.connect(str(path))
        connection.request("GET", target)
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def wait_until_ok(child: Child, url: str, what: str, timeout: float,
                  status: Callable[[], int | None] | None = None) -> None:
    """Poll `url` (or call `status`) until 200; StartError if the child exits first or time runs out."""
    wait_all_ok([(child, status or (lambda: http_status(url, timeout=1.0)), what)], timeout)


def wait_all_ok(children: list[tuple[Child, Callable[[], int | None], str]], timeout: float,
                deadline: float | None = None) -> list[float]:
    """Poll every (child, its status, what to call it) together until each status is 200; the
    time.monotonic() at which each was. StartError naming the first child that exits before it is
    ready - at once, not after the others are ready - or the first not ready within `timeout`
    (until `deadline`, a time.monotonic(), when given: `timeout` counted from earlier)."""
    deadline = time.monotonic() + timeout if deadline is None else deadline
    ready: dict[int, float] = {}
    while True:
        if STOP_REQUESTED.is_set():
            raise StopRequested()
        for index, (child, status, what) in enumerate(children):
            if index in ready:
                continue
            code = child.exit_code()
            if code is not None:
                raise StartError(f"{what} exited (code {code}) before it was ready: {_reason(child)}")
            if status() == 200:
                ready[index] = time.monotonic()
        if len(ready) == len(children):
            return [ready[index] for index in range(len(children))]
        if time.monotonic() >= deadline:
            child, _, what = next(c for i, c in enumerate(children) if i not in ready)
            raise StartError(f"{what} was not ready after {timeout:.0f}s: {_reason(child)} (log: {child.log})")
        time.sleep(0.1)


def start_and_wait(scorers: list[tuple[Child, str | Path, str]], gateway: Child, gateway_url: str,
                   timeout: float, stop: Callable[[], None]) -> None:
    """The one start sequence of a local service or endpoint: every scorer, then the gateway;
    wait for the gateway's liveness (`gateway_url`), then for each scorer's (child, readiness
    URL or Unix socket path, what to call it in an error). Any failure, Ctrl-C included, runs
    `stop` (everything started goes) before it is raised."""
    try:
        for child, _, _ in scorers:
            child.start()
        gateway.start()
        wait_until_ok(gateway, gateway_url, "the gateway (nginx)", 15)
        for child, url, what in scorers:
            if isinstance(url, Path):
                wait_until_ok(child, str(url), what, timeout, status=lambda p=url: unix_http_status(p, timeout=1.0))
            else:
                wait_until_ok(child, url, what, timeout)
    except BaseException:
        stop()
        raise


def _reason(child: Child) -> str:
    """The most telling line of a child's log: the last error or exception it printed, with what
    to do about it when that is known (start_hint)."""
    tail = [line.strip() for line in child.log_tail(80) if line.strip()]
    missing = next((m for m in map(_MODEL_NOT_IN_APP_ROOT.search, reversed(tail)) if m), None)
    if missing is not None and not Path(missing["cache"]).exists():
        return model_not_in_app_root(missing["name"], missing["cache"], child.env.get("AZUREML_MODEL_DIR"))
    line = last_error(tail)
    if line is not None:
        # The lines up to the error's own: azmlinfsrv chains a second traceback (UserScriptException,
        # through its own files) after the user's, which would hide the unpickling frames.
        upto = len(tail) - tail[::-1].index(line)
        return line[-300:] + start_hint(line, tail[:upto])
    return tail[-1][-300:] if tail else f"see {child.log}"


def last_error(lines: list[str]) -> str | None:
    """The last error or exception among log `lines` (most telling markers first), or None."""
    for marker in ("Error:", "Exception:", "[emerg]", "error", "Error"):
        for line in reversed(lines):
            if marker in line:
                return line.strip()
    return None


_NO_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^'.]+)")
# azureml-core 1.61's Model.get_model_path when `<AML_APP_ROOT>/azureml-models` and the working folder
# hold no such model (azureml/core/model.py, _get_model_path_local_from_root).
_MODEL_NOT_IN_APP_ROOT = re.compile(r"Message: Model (?P<name>.+?) not found in cache at (?P<cache>\S+) or in "
                                    r"current working directory (?P<cwd>\S+?)\.( For more|$)")


def model_not_in_app_root(name: str, cache: str, model_dir: str | None) -> str:
    """The reason for azureml-core's ModelNotFoundException where AML_APP_ROOT holds no azureml-models
    folder at all: a scorer laid out as an Azure ML v2 online deployment (runtime/local.py
    v2_deployment_env), where the same score.py stops the same way in Azure."""
    files = sorted(p.relative_to(model_dir).as_posix() for p in Path(model_dir).rglob("*") if p.is_file()) \
        if model_dir and Path(model_dir).is_dir() else []
    file = files[0] if len(files) == 1 else "<file>"
    return (f"ModelNotFoundException: azureml-core's Model.get_model_path({name!r}) looks in "
            f"<AML_APP_ROOT>/azureml-models and the working folder, and an Azure ML v2 online deployment sets both to "
            f"the scoring script's folder, which holds no models (they are mounted at AZUREML_MODEL_DIR, "
            f"/var/azureml-app/azureml-models/<name>/<version>): this deployment stops the same way in Azure; in "
            f"score.py open the model with os.path.join(os.environ['AZUREML_MODEL_DIR'], {file!r}), or install "
            "azureml-inference-server-http instead of azureml-defaults/azureml-core (mldeploy's stand-in for "
            "Model.get_model_path then looks in AZUREML_MODEL_DIR's folder)")
_NO_MODEL_FILE = re.compile(r"(?:FileNotFoundError|No such file or directory).*?'([^']*/azureml-models/[^']+)'")


# A traceback line of unpickling: pickle.load/joblib.load in score.py, or a frame of pickle's or
# joblib's own files. A module missing there is one the model file was pickled with, not an import.
_UNPICKLING = re.compile(r"pickle|joblib|dill|cloudpickle")


def _while_unpickling(context: list[str]) -> bool:
    """Whether the traceback that ends `context` (log lines) ran through unpickling: any of its
    frame lines (`File ...` and the source line under it) after its last `Traceback` line."""
    # azmlinfsrv logs init()'s traceback after a prefix: `... E [pid] azmlinfsrv - Encountered Exception Traceback ...`
    start = max((i for i, line in enumerate(context) if "Traceback (most recent call last)" in line), default=-1)
    return start >= 0 and any(_UNPICKLING.search(line) for line in context[start + 1:-1])


def start_hint(line: str, context: list[str] | None = None) -> str:
    """What a user can do about a scorer's start failure `line`, as a '; ...' suffix, or ''. The ones
    a new project meets first: an import its environment lacks (a module the model file needs when
    `context`, the log lines up to `line`, shows unpickling), a model file that does not unpickle, and
    score.py naming a model file other than the one the image holds (a second version saved under
    another name)."""
    if match := _NO_MODULE.search(line):
        if _while_unpickling(context or []):
            return (f"; the model file needs module {match[1]!r} to load (it was pickled with an object of it: a "
                    "model of another library, or a class of your own training code), which the scoring "
                    "environment lacks: add its package to the image's condaFile (under pip:) or requirementsFile; "
                    "a module of your own: ship it in the image's sourceDirectory, importable from the folder's "
                    "root under the name it had at training")
        return (f"; score.py imports {match[1]!r}, which the scoring environment lacks: add its package to the "
                "image's condaFile (under pip:) or requirementsFile")
    if match := _NO_MODEL_FILE.search(line):
        path = Path(match[1])
        folder = next((p for p in path.parents if p.is_dir()), None)
        if folder is not None and "azureml-models" in folder.parts:
            held = ", ".join(sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())) or "nothing"
            where = "/".join(folder.parts[folder.parts.index("azureml-models"):])
            return (f"; the image's {where} holds: {held} (score.py must open the file the stack's model "
                    "path names)")
    if _while_unpickling(context or []):
        return ("; score.py's init() failed unpickling the model file: it is not a pickle or joblib file this "
                "environment reads (another format, a truncated copy, or saved by a version of its library that "
                "the image's condaFile or requirementsFile does not pin)")
    return ""
