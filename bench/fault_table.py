"""Issue 24's fault runs, every one, for each scoring server, through the gateway: one table.
Run as `bench/scoring_faults.py --table` (its docstring lists the items; docs/performance.md,
"Issue 24's fault runs, one command", has a run's table)."""
from __future__ import annotations

import ast
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from scoring_faults import ROOT, stuck_client, wrk  # bench/, beside this file (puts ROOT on sys.path)

from mldeploy.config.stack import ImageSettings  # noqa: E402
from mldeploy.plan.serve import plan_serve  # noqa: E402
from mldeploy.render.build_context import render_build_context  # noqa: E402
from mldeploy.runtime.env import ensure_env  # noqa: E402
from mldeploy.runtime.local import LocalServer  # noqa: E402
from mldeploy.targets.local.settings import LocalServiceSettings  # noqa: E402


PLAIN_SCRIPT = '''
import json, os, time

ACTIVE = [0]  # run() calls in this worker process right now


def init():
    pass


def run(raw_data):
    data = json.loads(raw_data)
    ACTIVE[0] += 1
    beside, start = ACTIVE[0] - 1, time.time()
    try:
        if data.get("stuck") == "sleep":
            time.sleep(30)  # blocked outside Python: only SIGALRM (azmlinfsrv) interrupts it
        elif data.get("stuck") == "catch-all":
            end = time.monotonic() + 20
            while time.monotonic() < end:  # swallows the TimeoutError: outlives its timeout
                try:
                    time.sleep(0.01)
                except BaseException:
                    pass
        time.sleep(data.get("sleep", 0))
        return {"rows": len(data.get("data", [])), "pid": os.getpid(), "beside": beside, "start": start}
    finally:
        ACTIVE[0] -= 1
'''
RAW_SCRIPT = '''
import json, time
from azureml_inference_server_http.api.aml_request import rawhttp
from azureml_inference_server_http.api.aml_response import AMLResponse


def init():
    pass


def chunks():
    for i in range(4):
        time.sleep(0.75)
        yield f"{i} {time.time()}\\n"


@rawhttp
def run(request):
    what = request.headers.get("X-What", "")
    if what == "stream":
        return AMLResponse(chunks(), 200)
    if what == "environ":
        environ = {k: str(v) for k, v in request.environ.items()}
        return AMLResponse(json.dumps({"environ": environ, "headers": dict(request.headers)}), 200,
                           {"Content-Type": "application/json"})
    if what == "header-bytes":
        seen = {k: [ord(c) for c in v] for k, v in request.headers.items() if k.lower().startswith("x-")}
        return AMLResponse(json.dumps(seen), 200, {"Content-Type": "application/json"})
    asked = json.loads(request.get_data() or b"{}")
    return AMLResponse("odd", asked.get("status", 200), asked.get("headers", {}))
'''
SCHEMA_SCRIPT = '''
import numpy as np
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.schema_decorators import input_schema


def init():
    pass


@input_schema("data", NumpyParameterType(np.array([[1.0, 2.0]])))
def run(data):
    return data.sum(axis=1).tolist()
'''
SECRET = "made-up-secret-7c2e4a"
SECRET_ENV = {"MY_SECRET_TOKEN": SECRET, "HTTP_PROXY": f"http://{SECRET}.invalid:3128",
              "HTTP_X_FORWARDED_FOR": "203.0.113.9", "HTTP_X_MS_SERVER_VERSION": "made-up"}
# run()'s odd answers (issue 24 item 10): what it asks for -> "500" (the server's JSON 500) or "200"
# (the body "odd", the header left out) is a whole answer; anything else (a dropped connection, a
# truncated or empty answer, the gateway's 502) is not.
ODD_ANSWERS = {
    "status 1000": {"status": 1000}, "status 100": {"status": 100}, "status 101": {"status": 101},
    "status 199": {"status": 199}, "status 0": {"status": 0}, "status 99": {"status": 99},
    "transfer-encoding chunked": {"headers": {"Transfer-Encoding": "chunked"}},
    "transfer-encoding gzip": {"headers": {"Transfer-Encoding": "gzip"}},
    "content-length too big": {"headers": {"Content-Length": "100"}},
    "content-length too small": {"headers": {"Content-Length": "1"}},
    "content-length not a number": {"headers": {"Content-Length": "abc"}},
    "connection close": {"headers": {"Connection": "close"}},
    "connection upgrade": {"headers": {"Connection": "upgrade", "Upgrade": "websocket"}},
    "keep-alive": {"headers": {"Keep-Alive": "timeout=5"}}, "trailer": {"headers": {"Trailer": "X-T"}},
    "value with a newline": {"headers": {"X-Odd": "a\nb"}},
    "value injecting a header": {"headers": {"X-Odd": "a\r\nX-Injected: 1"}},
    "value with a NUL": {"headers": {"X-Odd": "a\x00b"}}, "name with a space": {"headers": {"X Odd": "1"}},
}


class _Service(LocalServer):
    """LocalServer whose scorer gets `extra_env` (the made-up secret of item 4)."""

    extra_env: dict[str, str] = {}

    def _scorer_child(self, context, env, context_dir, sock):
        from mldeploy.runtime.local import scorer_child
        return scorer_child(context, env, context_dir, self.run_dir, sock=sock, workers=self.plan.workers,
                            scoring_timeout_ms=self.plan.scoring_timeout_ms, extra_env=self.extra_env)


def _service(kind: str, name: str, script: str, workers: int, timeout_ms: int, env, work: Path,
             extra_env: dict[str, str] | None = None, body_mb: int | None = None) -> LocalServer:
    root = work / f"project-{name}-{kind}"
    (root / name).mkdir(parents=True)
    (root / name / "score.py").write_text(script)
    shutil.copy(ROOT / "examples/diabetes/myenv.yml", root / "myenv.yml")
    image = ImageSettings.model_validate({"entryScript": f"{name}/score.py", "condaFile": "myenv.yml",
                                         "models": ["none"], "scoringServer": kind}, context={"root": root})
    context = render_build_context(name, image, [], root)
    service = LocalServiceSettings.model_validate({"target": "local", "image": name, "workerCount": workers,
                                                   "scoringTimeoutMs": timeout_ms,
                                                   **({"maxRequestBodyMb": body_mb} if body_mb else {})})
    server = _Service(plan_serve(f"{name}-{kind}", service, production=False), context, env,
                      work / f"run-{name}-{kind}", port=0)
    server.extra_env = extra_env or {}
    server.start(timeout=180)
    return server


@contextlib.contextmanager
def _serving(kind: str, name: str, script: str, workers: int, timeout_ms: int, env, work: Path, **kwargs):
    server = _service(kind, name, script, workers, timeout_ms, env, work, **kwargs)
    try:
        yield server
    finally:
        server.stop()


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def _raw(port: int, request: bytes, timeout: float = 60) -> bytes:
    """One raw request on a connection of its own; the raw answer, read to the connection's end."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except OSError:
            pass
    return data


def _post(server: LocalServer, body: bytes, headers: dict | None = None, timeout: float = 60) -> tuple[int, bytes, float]:
    """POST /score through the gateway: (status or -1 on a socket error, body, seconds)."""
    began = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request("POST", "/score", body=body, headers={"Content-Type": "application/json",
                                                           "Authorization": f"Bearer {server.keys[0]}", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read(), time.monotonic() - began
    except OSError:
        return -1, b"", time.monotonic() - began
    finally:
        conn.close()


def _counts(values) -> str:
    values = list(values)
    return ", ".join(f"{n} x {v}" for v, n in sorted(((v, values.count(v)) for v in set(values)), key=str))


def _quick_after_timeout(server: LocalServer) -> str:
    """Item 1b: a stuck run() gets the gateway's 504, then 30 quick requests, one after another."""
    stuck = _post(server, b'{"stuck": "sleep"}')[0]
    quick = [_post(server, b'{"data": [1]}') for _ in range(30)]
    return (f"stuck: {stuck}; 30 quick: {_counts(q[0] for q in quick)}, slowest {max(q[2] for q in quick) * 1000:.0f} ms")


def _one_at_a_time(server: LocalServer) -> str:
    """Item 2: a run() that swallows its TimeoutError (20 s) and probes for 10 s after its 504:
    how many probes ran in a worker while another run() ran there (run() counts them itself)."""
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(stuck=_post(server, b'{"stuck": "catch-all"}')[0]))
    thread.start()
    time.sleep(0.5)
    probes = []
    end = time.monotonic() + 10
    while time.monotonic() < end:
        status, body, _ = _post(server, b'{"sleep": 0.02}', timeout=40)
        probes.append((status, json.loads(body)["beside"] if status == 200 else None))
    thread.join(60)
    beside = sum(1 for status, b in probes if status == 200 and b)
    return (f"catch-all run(): {result.get('stuck')}; {len(probes)} probes: {_counts(s for s, _ in probes)}; "
            f"run() beside another in one worker: {beside}")


def _stream(server: LocalServer) -> str:
    """Item 3: 4 chunks 0.75 s apart (3 s, past the 2 s timeout): first byte, whole, status."""
    began = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("POST", "/score", body=b"{}", headers={"X-What": "stream", "Authorization": f"Bearer {server.keys[0]}"})
        response = conn.getresponse()
        first = response.readline()
        first_s = time.monotonic() - began
        rest = response.read().decode(errors="replace").splitlines()
        whole_s = time.monotonic() - began
    except OSError as err:
        return f"error {type(err).__name__}"
    finally:
        conn.close()
    return f"{response.status}, first chunk at {first_s:.2f} s, {1 + len(rest) if first else 0} of 4 chunks at {whole_s:.2f} s"


def _environ(server: LocalServer) -> str:
    """Item 4: the made-up secret and proxy variables in the scorer's environment, and a client's
    own `Proxy:` header (httpoxy): what run() sees of them."""
    status, body, _ = _post(server, b"{}", {"X-What": "environ", "Proxy": "http://client.invalid:1"})
    if status != 200:
        return f"{status} {body[:80]!r}"
    seen = json.loads(body)
    # (The gateway's own X-Forwarded-For, 127.0.0.1, is HTTP_X_FORWARDED_FOR too: only the environment's value counts.)
    leaks = [f"{k}={seen['environ'][k]}" for k, v in SECRET_ENV.items() if seen["environ"].get(k) == v]
    leaks += ["the secret's value"] if SECRET in body.decode() else []
    leaks += [f"header {h}: {seen['headers'][h]}" for h in ("Proxy", "X-Ms-Server-Version") if h in seen["headers"]]
    leaks += ["X-Forwarded-For from the environment"] if "203.0.113.9" in seen["headers"].get("X-Forwarded-For", "") else []
    return "none reach run()" if not leaks else "SEEN: " + ", ".join(leaks)


def _header_bytes(server: LocalServer) -> str:
    """Item 5: raw UTF-8 and latin-1 bytes in header values."""
    answer = _raw(server.port, b"POST /score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + server.keys[0].encode()
                  + b"\r\nX-What: header-bytes\r\nX-Request-Id: id-\xc3\xa9\r\nX-Custom: caf\xe9\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    head, _, body = answer.partition(b"\r\n\r\n")
    try:
        seen = {k.lower(): bytes(v) for k, v in json.loads(body).items()}
    except ValueError:
        return f"not answered: {head[:60]!r}"
    kept = seen.get("x-custom") == b"caf\xe9" and seen.get("x-request-id") == b"id-\xc3\xa9"
    echoed = b"\r\nx-request-id: id-\xc3\xa9" in head.lower()
    return f"{head.split(b' ')[1].decode()}; run() got the bytes: {kept}; x-request-id echoed: {echoed}"


def _unread_body(server: LocalServer) -> str:
    """Item 6: 20 x a 19 MB text/plain body to an inference-schema run() (415 before reading)."""
    body = b"x" * (19 * 1024 * 1024)
    statuses = [_post(server, body, {"Content-Type": "text/plain"})[0] for _ in range(20)]
    return f"20 x 19 MB: {_counts(statuses)}"


def _gateway_json(server: LocalServer) -> str:
    """Item 9: answers the gateway (or the scorer's framing limits) give: each must be JSON."""
    auth = b"Authorization: Bearer " + server.keys[0].encode() + b"\r\n"
    many = b"".join(b"X-H%d: %d\r\n" % (i, i) for i in range(150))
    cases = {
        "unknown Transfer-Encoding": b"POST /score HTTP/1.1\r\nHost: x\r\n" + auth + b"Transfer-Encoding: foo\r\n\r\n",
        "150 headers": b"POST /score HTTP/1.1\r\nHost: x\r\n" + auth + many + b"Content-Length: 2\r\n\r\n{}",
        "20 KB header": b"POST /score HTTP/1.1\r\nHost: x\r\n" + auth + b"X-Big: " + b"a" * 20000 + b"\r\nContent-Length: 2\r\n\r\n{}",
        "malformed chunk": b"POST /score HTTP/1.1\r\nHost: x\r\n" + auth + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        "bad request line": b"GARBAGE\r\n\r\n",
        "no key": b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        "unknown path": b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
        "TRACE": b"TRACE /score HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n",
        "too large": b"POST /score HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Length: 999999999\r\n\r\n",
    }
    not_json = []
    for name, request in cases.items():
        answer = _raw(server.port, request.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n", 1), timeout=20)
        head, _, body = answer.partition(b"\r\n\r\n")
        try:
            json.loads(body)
        except ValueError:
            not_json.append(f"{name}: {head.split(b' ')[1:2]} {body[:40]!r}")
    return f"{len(cases) - len(not_json)} of {len(cases)} JSON" + ("; NOT: " + "; ".join(not_json) if not_json else "")


def _odd_answers(server: LocalServer) -> str:
    """Item 10: each of run()'s odd answers through the gateway: a whole answer (status line, the
    body exactly as long as its Content-Length) that is the JSON 500 or the body 'odd' with 200."""
    bad = []
    for name, asked in ODD_ANSWERS.items():
        body = json.dumps(asked).encode()
        raw = _raw(server.port, b"POST /score HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer "
                   + server.keys[0].encode() + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                   % (len(body), body), timeout=20)
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = [v.split(":", 1)[1].strip() for v in lines[1:] if v.lower().startswith("content-length:")]
        status = lines[0].split(" ")[1] if lines[0].startswith("HTTP/") else "none"
        whole = length == [str(len(rest))] and not any(v.lower().startswith("transfer-encoding") for v in lines[1:])
        ok = whole and ((status == "200" and rest == b"odd") or (status == "500" and rest.startswith(b"{")))
        if not ok:
            bad.append(f"{name}: {status} {rest[:30]!r}")
    return f"{len(ODD_ANSWERS) - len(bad)} of {len(ODD_ANSWERS)} whole" + ("; NOT: " + "; ".join(bad) if bad else "")


def _host_faults(kind: str, env, work: Path) -> dict[str, str]:
    """Items 7 and 8, the scorer host alone (no gateway: they are about its process and port)."""
    from mldeploy.runtime.local import scorer_child
    from mldeploy.runtime.processes import listen_socket, wait_until_ok
    out = {}

    def child_of(name: str, sock, workers: int = 2):
        root = work / f"host-{name}-{kind}"
        (root / name).mkdir(parents=True)
        (root / name / "score.py").write_text("import os\n\ndef init():\n    pass\n\ndef run(data):\n    return {'pid': os.getpid()}\n")
        shutil.copy(ROOT / "examples/diabetes/myenv.yml", root / "myenv.yml")
        image = ImageSettings.model_validate({"entryScript": f"{name}/score.py", "condaFile": "myenv.yml",
                                             "models": ["none"], "scoringServer": kind}, context={"root": root})
        context = render_build_context(name, image, [], root)
        context.write(root / "context")
        return root, scorer_child(context, env, root / "context", root, sock=sock, workers=workers,
                                  scoring_timeout_ms=10_000, name=kind)

    def kids(pid: int) -> set[int]:
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(stat.parent.name))
            except (OSError, ValueError, IndexError):
                continue
        return found

    # 7a: a second host on the port the first serves; 7b: SIGKILL of the first.
    sock = listen_socket(0)
    port = sock.getsockname()[1]
    _, first = child_of("first", sock)
    first.start()
    try:
        wait_until_ok(first, f"http://127.0.0.1:{port}/", kind, 120)
        time.sleep(3)  # every worker up
        _, second = child_of("second", listen_socket(0))
        second.argv[second.argv.index("--port") + 1] = str(port)
        # No socket handed over: the second host binds the port itself, as a second `azmlinfsrv` would.
        second._sock = second.sock_env = second.port = second.unix_socket = None
        second.start()
        deadline = time.monotonic() + 60
        while second.exit_code() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        code = second.exit_code()
        second.stop()
        out["7 port taken"] = f"second host exit {code}" if code is not None else "SECOND HOST SERVES (60 s)"
        workers = kids(first.proc.pid)
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
        killed = time.monotonic()
        while any(Path(f"/proc/{p}").exists() for p in workers) and time.monotonic() < killed + 120:
            time.sleep(0.1)
        left = [p for p in workers if Path(f"/proc/{p}").exists()]
        out["7 SIGKILL of the host"] = (f"{len(workers)} workers gone in {time.monotonic() - killed:.1f} s" if not left
                                        else f"{len(left)} of {len(workers)} workers LEFT after 120 s")
    finally:
        first.stop()
    # 8: --config_file naming the script, no --entry_script, from a folder that is a package.
    sock = listen_socket(0)
    port = sock.getsockname()[1]
    root, child = child_of("configured", sock, workers=1)
    at = child.argv.index("--entry_script")
    (root / "config.json").write_text(json.dumps({"AZUREML_ENTRY_SCRIPT": child.argv[at + 1]}))
    child.argv[at:at + 2] = ["--config_file", str(root / "config.json")]
    child.cwd.mkdir(parents=True, exist_ok=True)
    (child.cwd / "__init__.py").write_text("")
    child.start()
    try:
        wait_until_ok(child, f"http://127.0.0.1:{port}/", kind, 120)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/score", body=b"{}", headers={"Content-Type": "application/json"})
        out["8 --config_file alone, package folder"] = f"serves: {conn.getresponse().status}"
        conn.close()
    except Exception as err:  # noqa: BLE001 - reported in the table
        out["8 --config_file alone, package folder"] = f"FAILS: {str(err)[:80]}"
    finally:
        child.stop()
    return out


def _shutdown_serve(kind: str, env, work: Path, connections: int) -> str:
    """Item 11 (serve): serve's stop (what its SIGTERM handler runs) 2.5 s into wrk (each request
    on a connection of its own, 0.05 s run()s) and into kept-alive clients (instant run()s): what was lost."""
    from tests.harness import keepalive_load_while, wrk_while
    slow = PLAIN_SCRIPT.replace('data.get("sleep", 0)', 'data.get("sleep", 0.05)')  # wrk's body has no "sleep"
    server = _service(kind, "drain", slow, 2, 10_000, env, work / f"wrk-{connections}")
    counts, _, _ = wrk_while(server.stop, server.endpoint().scoringUri, server.keys[0], connections, 8, 2.5, work)
    lost = counts["read"] + counts["timeout"] + counts["non2xx"]
    text = (f"wrk {connections} conns: {counts['requests']} requests, lost {lost} (read {counts['read']}, timeout "
            f"{counts['timeout']}, non-2xx {counts['non2xx']}; refused after the stop: connect {counts['connect']}, "
            f"write {counts['write']})")
    server = _service(kind, "drain", PLAIN_SCRIPT, 2, 10_000, env, work / f"keep-{connections}")
    body = b'{"sleep": 0}'
    request = (b"POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer "
               + server.keys[0].encode() + b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    keep, _ = keepalive_load_while(server.stop, server.port, request, connections=connections, stop_after_s=2.5)
    return (text + f"; kept-alive {connections}: {keep['answers']} answers, {keep['answers'] - keep['status 200']} "
            f"non-200, {keep['reused_errors'] + keep['fresh_errors']} lost")


def _containers(servers: list[str]) -> list[tuple[str, dict[str, str]]]:
    """Item 11 in containers: the pod and ACI drain tests (podman), from the counts they print."""
    out: list[tuple[str, dict[str, str]]] = []
    for where, test in (("AKS pod terminated", "tests/containers/test_aks_pod_drain_under_load.py"),
                        ("ACI group stopped", "tests/containers/test_aci_group_drain_under_load.py")):
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", test],
                             cwd=ROOT, capture_output=True, text=True)
        rows: dict[str, dict[str, str]] = {}
        for server, how, counts, stopped in re.findall(
                r"^(mldeploy|azmlinfsrv), ([\w-]+): (\{[^}]*\}); stopped: (.*)$", run.stdout, re.M):
            c = ast.literal_eval(counts)
            lost = c.get("read", 0) + c.get("timeout", 0) + c.get("non2xx", 0)  # write, connect: after the close
            exits = ", ".join(f"{name} {s.get('exitCode')}" + (f" at {s['after']} s" if s.get("after") else "")
                              for name, s in ast.literal_eval(stopped).items()) if stopped.startswith("{") else stopped
            rows.setdefault(how, {})[server] = (f"{c['requests']} requests, lost {lost} (refused after the stop: "
                                                f"connect {c.get('connect', 0)}, write {c.get('write', 0)}); "
                                                f"exits: {exits} (load {_load()})")
        out += [(f"11 {where}, {how} stop", r) for how, r in rows.items()]
        summary = (run.stdout.strip().splitlines() or [run.stderr[-200:]])[-1] + f" (load {_load()} at its end)"
        out.append((f"11 {where}: pytest", {s: summary for s in servers}))
    return out


def table_runs(args) -> None:
    """Every fault run of issue 24 for each server, printed as one table (item | server | result, load)."""
    env = ensure_env("conda", (ROOT / "examples/diabetes/myenv.yml").read_text(),
                     progress=lambda m: print(m, file=sys.stderr))
    servers = args.servers.split(",")
    only = set(args.only.split(",")) if args.only else None

    def want(*items: str) -> bool:
        return only is None or bool(only & set(items))

    work = Path(tempfile.mkdtemp(prefix="mldeploy-faults-table-"))
    rows: dict[str, dict[str, str]] = {}
    began = time.monotonic()

    def put(item: str, kind: str, text: str) -> None:
        rows.setdefault(item, {})[kind] = f"{text} (load {_load()})"
        print(f"{item:48} {kind:10} {text} (load {_load()})", flush=True)

    try:
        for kind in servers:
            if want("1", "2"):
                with _serving(kind, "plain", PLAIN_SCRIPT, 2, args.scoring_timeout_ms, env, work) as plain:
                    for stuck in ("sleep", "none") if want("1") else ():
                        for c in map(int, args.connections.split(",")):
                            stop, statuses = threading.Event(), []
                            if stuck != "none":
                                threading.Thread(target=stuck_client, args=(plain.port, plain.keys[0], stuck,
                                                                            args.stuck_every, stop, statuses),
                                                 daemon=True).start()
                            r = wrk(plain.endpoint().scoringUri, plain.keys[0], c, args.duration, work)
                            stop.set()
                            time.sleep(args.scoring_timeout_ms / 1000 + 1)
                            label = "1 stuck run() 30 s every 3 s" if stuck == "sleep" else "1 nothing stuck"
                            put(f"{label}, {c} conns", kind,
                                f"{r['rps']:.0f} req/s, p99 {r['p99']:.0f} ms, errors {r['non2xx'] + r['socket_errors']}"
                                + (f", stuck got {_counts(statuses)}" if statuses else ""))
                    if want("1"):
                        put("1 30 quick requests after a gateway timeout", kind, _quick_after_timeout(plain))
                    if want("2"):
                        put("2 one run() at a time after the hand-over", kind, _one_at_a_time(plain))
            if want("3", "4", "5", "9", "10"):
                with _serving(kind, "raw", RAW_SCRIPT, 1, args.scoring_timeout_ms, env, work,
                              extra_env=SECRET_ENV) as raw:
                    for item, probe in (("3 streamed answer", _stream), ("4 process environment in requests", _environ),
                                        ("5 non-ASCII header bytes", _header_bytes),
                                        ("9 gateway answers JSON", _gateway_json),
                                        ("10 run() return edge cases (19)", _odd_answers)):
                        if want(item.split()[0]):
                            put(item, kind, probe(raw))
            if want("6"):
                with _serving(kind, "schema", SCHEMA_SCRIPT, 1, args.scoring_timeout_ms, env, work, body_mb=20) as schema:
                    put("6 415 before reading a large body", kind, _unread_body(schema))
            for item, text in (_host_faults(kind, env, work) if want("7", "8") else {}).items():
                put(item, kind, text)
            for c in ((2, 16) if want("11") else ()):
                put(f"11 serve stopped under load, {c} conns", kind, _shutdown_serve(kind, env, work, c))
        if not args.no_containers and want("11"):
            for item, by_server in _containers(servers):
                for kind, text in by_server.items():
                    rows.setdefault(item, {})[kind] = text
                    print(f"{item:48} {kind:10} {text}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nissue 24 fault table: gateway timeout {args.scoring_timeout_ms} ms, 2 workers, wrk {args.duration} s "
          f"per row; {time.monotonic() - began:.0f} s in all\n")
    print("| item | " + " | ".join(servers) + " |\n|---|" + "---|" * len(servers))
    for item, by_server in rows.items():
        print(f"| {item} | " + " | ".join(by_server.get(s, "-") for s in servers) + " |")

