"""Test harness: synthesize any stack (or a variation of one) under Pulumi's mocks; `mldeploy serve`
run as a user runs it; wrk's load on a server that is being stopped."""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import pytest
import yaml

from mldeploy.config import read_stack_file
from mldeploy.synth.run import SynthResult, synthesize

ROOT = Path(__file__).resolve().parents[1]
STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
T = TypeVar("T")
MLDEPLOY = [str(Path(sys.executable).parent / "mldeploy")]  # the console script of this .venv


def stack_values(stack: str) -> tuple[dict[str, Any], set[str]]:
    """A stack file's config, as a fresh copy a test may change."""
    values, secret_keys = read_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml")
    return copy.deepcopy(values), set(secret_keys)


def copy_project(folder: Path, *stacks: str) -> Path:
    """A user's project in `folder`: Pulumi.yaml, the diabetes example (no caches, no MLflow runs)
    and the named stacks' files as they are; stacks/ exists for a test to add its own."""
    (folder / "stacks").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", folder / "Pulumi.yaml")
    for example in ("diabetes", "diabetes-src"):  # diabetes-src: the kubernetes-endpoint stack's sourceDirectory
        shutil.copytree(ROOT / "examples" / example, folder / "examples" / example,
                        ignore=shutil.ignore_patterns("__pycache__", "mlruns"))
    for stack in stacks:
        shutil.copy(ROOT / "stacks" / f"Pulumi.{stack}.yaml", folder / "stacks" / f"Pulumi.{stack}.yaml")
    return folder


def project_from_stack(folder: Path, template: str, stack: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """A user's project in `folder` (Pulumi.yaml, the diabetes example) whose one stack file
    stacks/Pulumi.<stack>.yaml is stacks/Pulumi.<template>.yaml with `change` applied to its config."""
    copy_project(folder)
    document = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{template}.yaml").read_text())
    change(document["config"])
    (folder / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    return folder


def synth(stack: str, build_dir: Path, values: dict[str, Any] | None = None,
          secret_keys: set[str] | None = None, lookups: dict[str, dict] | None = None) -> SynthResult:
    """Run the real program for `stack` (optionally with changed config) and collect it."""
    stack_input = None
    if values is not None:
        stack_input = (values, secret_keys if secret_keys is not None else stack_values(stack)[1])
    return synthesize(ROOT, stack, build_dir, lookups=lookups, stack_values=stack_input)


def descendants(pid: int) -> set[int]:
    """Every process below `pid` now (children, their children, ...)."""
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


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead; only its parent's reaping is missing.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


@dataclass
class Served:
    """A running `mldeploy serve --json`: its process, the JSON line it printed (`line`, `endpoint`);
    once stopped, what it wrote (`out`, `err`)."""

    proc: subprocess.Popen
    line: str = ""
    endpoint: dict[str, Any] = field(default_factory=dict)
    out: str = ""
    err: str = ""


@contextmanager
def serving(*args: str, stop_timeout: float = 60, **popen: Any) -> Iterator[Served]:
    """`mldeploy serve <args>` (args with --json) as a user runs it, yielded once its endpoint line is
    read (failing, with its stderr, if it printed none). Leaving the block sends SIGTERM and waits for
    the exit; assert on `proc.returncode` and `err` after it."""
    proc = subprocess.Popen([*MLDEPLOY, "serve", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen)
    served = Served(proc)
    try:
        served.line = proc.stdout.readline()
        assert served.line, f"serve printed nothing: {proc.stderr.read() if proc.poll() is not None else ''}"
        served.endpoint = json.loads(served.line)
        yield served
    finally:
        proc.send_signal(signal.SIGTERM)
        served.out, served.err = proc.communicate(timeout=stop_timeout)


# A row of examples/diabetes's features: the body of every request wrk sends.
ROWS = [[0.0381, 0.0507, 0.0617, 0.0219, -0.0442, -0.0348, -0.0434, -0.0026, 0.0199, -0.0176]]
# wrk's Lua hooks: each answer's status counted per thread, the totals printed at the end.
WRK_STATUS_COUNTER = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do io.write(string.format("status %d: %d\\n", status, n)) end
  end
end
"""


def parse_wrk(text: str) -> dict[str, int]:
    """wrk's summary: requests, non-2xx answers and socket errors by kind."""
    counts = {"requests": int(re.search(r"(\d+) requests in", text).group(1)), "non2xx": 0,
              "connect": 0, "read": 0, "write": 0, "timeout": 0}
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        counts["non2xx"] = int(m.group(1))
    for status, n in re.findall(r"status (\d+): (\d+)", text):
        counts[f"status {status}"] = counts.get(f"status {status}", 0) + int(n)
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        counts.update(connect=int(m.group(1)), read=int(m.group(2)), write=int(m.group(3)), timeout=int(m.group(4)))
    return counts


def wrk_while(stop: Callable[[], T], url: str, key: str, connections: int, seconds: int, stop_after_s: float,
              workdir: Path) -> tuple[dict[str, int], str, T]:
    """wrk scoring `url` with `connections` busy for `seconds` (each request on a connection of its
    own: `Connection: close`), and `stop()` called `stop_after_s` into it: the drain-under-load
    tests' shape. Returns wrk's counts (parse_wrk), its whole output and what `stop()` returned."""
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed (apt-get install wrk)")
    script = workdir / "score.lua"
    body = json.dumps({"data": ROWS})
    script.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
                      f'wrk.headers["Content-Type"] = "application/json"\n'
                      f'wrk.headers["Authorization"] = "Bearer {key}"\n'
                      f'wrk.headers["Connection"] = "close"\n' + WRK_STATUS_COUNTER)
    out: dict[str, str] = {}

    def load() -> None:
        proc = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
                               "-s", str(script), url], capture_output=True, text=True, timeout=seconds + 60)
        out["text"] = proc.stdout + proc.stderr

    thread = threading.Thread(target=load)
    thread.start()
    time.sleep(stop_after_s)
    stopped = stop()
    thread.join()
    return parse_wrk(out["text"]), out["text"], stopped


def _read_answer(sock: socket.socket) -> tuple[int, str]:
    """One HTTP/1.1 answer with a Content-Length: (status, its header block lower-cased)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before an answer")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    text = head.decode("latin-1").lower()
    length = int(re.search(r"\r\ncontent-length: *(\d+)", text).group(1))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside an answer")
        body += chunk
    return int(text.split(" ", 2)[1]), text


def keepalive_load_while(stop: Callable[[], T], port: int, request: bytes, connections: int,
                         stop_after_s: float, seconds: float = 30) -> tuple[dict[str, int], T]:
    """`connections` clients on 127.0.0.1:`port`, each sending `request` again and again on one
    kept-alive connection (a new one only after an answer saying `Connection: close` or an
    error), and `stop()` called `stop_after_s` into it; they end once connections are refused
    (the server gone) or after `seconds`. Written here rather than wrk: wrk counts every request
    written without an answer as one "read error", where these counts tell the two causes apart -
    `reused_errors`: no answer on a connection the server had kept alive (the server closed it
    under a request the client was entitled to send: the kept-alive race), `fresh_errors`: no
    answer on a new connection (one the kernel queued as the server closed its listener: reset
    before any process read it - no server avoids that without a balancer in front)."""
    counts = {"answers": 0, "status 200": 0, "close_answers": 0, "reused_errors": 0, "fresh_errors": 0,
              "refused": 0}
    lock = threading.Lock()
    end = time.monotonic() + seconds
    stopping = threading.Event()

    def add(key: str) -> None:
        with lock:
            counts[key] += 1

    def client() -> None:
        sock, answered = None, 0
        while time.monotonic() < end:
            if sock is None:
                try:
                    sock, answered = socket.create_connection(("127.0.0.1", port), timeout=10), 0
                except OSError:
                    add("refused")
                    if stopping.is_set():
                        return
                    time.sleep(0.01)
                    continue
            try:
                sock.sendall(request)
                status, head = _read_answer(sock)
            except OSError:
                add("reused_errors" if answered else "fresh_errors")
                sock.close()
                sock = None
                continue
            answered += 1
            add("answers")
            if status == 200:
                add("status 200")
            if "\r\nconnection: close" in head:
                add("close_answers")
                sock.close()
                sock = None
        if sock is not None:
            sock.close()

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    time.sleep(stop_after_s)
    stopping.set()
    stopped = stop()
    for thread in threads:
        thread.join()
    return counts, stopped
