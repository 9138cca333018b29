"""Child processes of the local target: the scorer (azmlinfsrv) and the gateway (nginx).

Each child runs in its own process group, so stopping it stops its workers too (gunicorn and
nginx both fork). The kernel is asked to signal a child when mldeploy dies, so even a killed
`serve` leaves nothing behind. Everything listens on 127.0.0.1 only.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

NGINX_INSTALL_HINT = ("nginx is not installed (the local gateway): install it with "
                      "`sudo apt-get install nginx-light` (Debian/Ubuntu) or `brew install nginx` (macOS)")
# azmlinfsrv always binds 0.0.0.0; this starts the same server on loopback only.
SCORER_LAUNCHER = (
    "import sys, azureml_inference_server_http.constants as c; c.DEFAULT_HOST = '127.0.0.1'; "
    "from azureml_inference_server_http.amlserver import run; sys.argv[0] = 'azmlinfsrv'; run()"
)
PR_SET_PDEATHSIG = 1


class StartError(Exception):
    """A child could not start or become ready; the message is one line for the user."""


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_port_free(port: int) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise StartError(f"port {port} on 127.0.0.1 is in use: stop what uses it or pass --port") from None


class Child:
    """One supervised child process (and its process group), logging to a file."""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], cwd: Path, log: Path):
        self.name, self.argv, self.env, self.cwd, self.log = name, argv, env, cwd, log
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    def start(self) -> None:
        self.cwd.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
            )

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
        """SIGTERM the whole group, SIGKILL what is left after `timeout`, reap the leader."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (_group_alive(pgid) or self.proc.poll() is None):
            self.proc.poll()
            time.sleep(0.05)
        if _group_alive(pgid):
            _signal_group(pgid, signal.SIGKILL)
        self.proc.wait()
        while _group_alive(pgid) and time.monotonic() < deadline + 5:
            time.sleep(0.05)


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


def wait_until_ok(child: Child, url: str, what: str, timeout: float) -> None:
    """Poll `url` until 200; StartError if the child exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = child.exit_code()
        if code is not None:
            raise StartError(f"{what} exited (code {code}) before it was ready: {_reason(child)}")
        if http_status(url, timeout=1.0) == 200:
            return
        time.sleep(0.1)
    raise StartError(f"{what} was not ready after {timeout:.0f}s: {_reason(child)} (log: {child.log})")


def _reason(child: Child) -> str:
    """The most telling line of a child's log: the last error or exception it printed."""
    tail = [line.strip() for line in child.log_tail(80) if line.strip()]
    for marker in ("Error:", "Exception:", "[emerg]", "error", "Error"):
        for line in reversed(tail):
            if marker in line:
                return line[-300:]
    return tail[-1][-300:] if tail else f"see {child.log}"
