"""Benchmark (not a test): the scoring path under faults, azmlinfsrv and mldeploy's server side by
side, through the local gateway (nginx, as every target runs it), on 127.0.0.1.

    .venv/bin/python bench/scoring_faults.py [--duration 15] [--connections 16,64] [--workers 2]
                                             [--scoring-timeout-ms 2000] [--stuck-every 3]
                                             [--servers azmlinfsrv,mldeploy] [--stuck-kind sleep|catch-all]

Each run: wrk sends normal requests (a few microseconds of work each) at N connections while a
second client sends a request whose run() is stuck for 30 s every `--stuck-every` seconds
(`sleep`: blocked outside Python; `catch-all`: Python code that swallows every exception,
the TimeoutError included). The stuck requests get the gateway's 504; what is reported is what
the NORMAL requests got: errors (non-2xx, socket errors), p50/p99, requests/s, and how often a
worker exited. The issue-24 goal: 0 errors among normal requests and p99 within 2x of
azmlinfsrv's.

    .venv/bin/python bench/scoring_faults.py --table [--only 1,4,11] [--no-containers] [--servers ...]

`--table`: every fault run issue 24 names, for each server, printed as one Markdown table
(docs/performance.md, "Issue 24's fault runs, one command"): 1 the stuck run() under wrk (16 and 64
connections, and the same with nothing stuck) and 30 quick requests after a gateway timeout; 2 one
run() at a time per worker after a run() that swallows its TimeoutError; 3 a streamed answer's
first chunk; 4 the scorer's environment (a made-up secret, HTTP_PROXY, HTTP_X_FORWARDED_FOR) and a
client's `Proxy:` header in run()'s environ/headers; 5 header bytes outside ASCII; 6 a 415 before
a 19 MB body is read; 7 a second host on a taken port, SIGKILL of the host (no gateway: about the
host's process); 8 --config_file without --entry_script from a package folder; 9 the gateway's
own answers (JSON); 10 19 odd answers of run(); 11 serve's stop (what its SIGTERM runs) under wrk
and kept-alive clients, and - with podman - the AKS pod and ACI group drain tests
(tests/containers/test_*_drain_under_load.py, their printed counts). Each cell says the load
average when it was measured. Needs nginx, wrk, and for the container rows podman (FACTS.md).
"""
from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mldeploy.targets.local.settings import LocalServiceSettings  # noqa: E402
from mldeploy.config.stack import ImageSettings  # noqa: E402
from mldeploy.render.build_context import render_build_context  # noqa: E402
from mldeploy.runtime.env import ensure_env  # noqa: E402
from mldeploy.runtime.local import LocalServer  # noqa: E402
from mldeploy.plan.serve import plan_serve  # noqa: E402

SCRIPT = '''
import json, time

def init():
    pass

def run(raw_data):
    data = json.loads(raw_data)
    stuck = data.get("stuck")
    if stuck == "sleep":
        time.sleep(30)  # blocked outside Python: only SIGALRM (azmlinfsrv) interrupts it
    elif stuck == "catch-all":
        end = time.monotonic() + 30
        while time.monotonic() < end:  # swallows the TimeoutError: outlives its timeout
            try:
                time.sleep(0.01)
            except BaseException:
                pass
    time.sleep(data.get("sleep", 0))
    return {"sum": sum(data.get("data", []))}
'''
LUA = """wrk.method = "POST"
wrk.body = '{"data": [1, 2, 3]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
"""


def serve(server_kind: str, workers: int, timeout_ms: int, env, work: Path) -> LocalServer:
    root = work / f"project-{server_kind}"
    (root / "faults").mkdir(parents=True)
    (root / "faults" / "score.py").write_text(SCRIPT)
    shutil.copy(ROOT / "examples/diabetes/myenv.yml", root / "myenv.yml")
    image = ImageSettings.model_validate({"entryScript": "faults/score.py", "condaFile": "myenv.yml",
                                         "models": ["none"], "scoringServer": server_kind}, context={"root": root})
    context = render_build_context("faults", image, [], root)
    service = LocalServiceSettings.model_validate({"target": "local", "image": "faults", "workerCount": workers,
                                                   "scoringTimeoutMs": timeout_ms})
    server = LocalServer(plan_serve(f"faults-{server_kind}", service, production=False), context, env, work / f"run-{server_kind}", port=0)
    server.start(timeout=120)
    return server


def stuck_client(port: int, key: str, kind: str, every: float, stop: threading.Event, statuses: list) -> None:
    """One stuck request every `every` seconds, each on its own thread (they overlap)."""
    def one():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("POST", "/score", body=json.dumps({"stuck": kind}),
                         headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
            statuses.append(conn.getresponse().status)
        except OSError as err:
            statuses.append(type(err).__name__)
        finally:
            conn.close()

    while not stop.wait(every):
        threading.Thread(target=one, daemon=True).start()


def wrk(url: str, key: str, connections: int, duration: int, work: Path) -> dict:
    script = work / "normal.lua"
    script.write_text(LUA % key)
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "--timeout", "30s",
                          "--latency", "-s", str(script), url], capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    latency = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", out).groups()
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": ms("50%"), "p99": ms("99%"), "max": float(latency[0]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[latency[1]],
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(map(int, sock.groups())) if sock else 0}


def shutdown_runs(args) -> None:
    """wrk (normal requests of 0.2 s each) against a local service that is stopped halfway: what
    wrk saw. Connect errors are requests sent after the gateway closed its port (nothing listens
    any more); read errors and non-2xx answers are requests the stop broke."""
    env = ensure_env("conda", (ROOT / "examples/diabetes/myenv.yml").read_text(),
                     progress=lambda m: print(m, file=sys.stderr))
    work = Path(tempfile.mkdtemp(prefix="mldeploy-shutdown-"))
    try:
        for kind in args.servers.split(","):
            for c in map(int, args.connections.split(",")):
                server = serve(kind, args.workers, args.scoring_timeout_ms, env, work / f"{kind}-{c}")
                script = work / "slow.lua"
                script.write_text((LUA % server.keys[0]).replace('{"data": [1, 2, 3]}', '{"data": [1], "sleep": 0.2}'))
                wrk_run = subprocess.Popen(["wrk", "-t", "2", "-c", str(c), "-d", f"{args.duration}s", "--timeout",
                                            "30s", "-s", str(script), server.endpoint().scoringUri],
                                           stdout=subprocess.PIPE, text=True)
                time.sleep(args.duration / 2)
                stop_began = time.monotonic()
                server.stop()
                stopped_s = time.monotonic() - stop_began
                out = wrk_run.communicate()[0]
                sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
                errors = dict(zip(("connect", "read", "write", "timeout"), sock.groups() if sock else "0000"))
                non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
                requests = re.search(r"(\d+) requests in", out).group(1)
                print(f"{kind:11} conns {c:3d}: {requests} requests, stop took {stopped_s:.1f} s; errors "
                      f"{errors}, non-2xx {non2xx.group(1) if non2xx else 0}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", default="16,64")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scoring-timeout-ms", type=int, default=2000)
    parser.add_argument("--stuck-every", type=float, default=3.0)
    parser.add_argument("--stuck-kind", default="sleep", choices=("sleep", "catch-all", "none"))
    parser.add_argument("--servers", default="azmlinfsrv,mldeploy")
    parser.add_argument("--shutdown", action="store_true",
                        help="instead: stop the service (as `serve` does on Ctrl+C) halfway through a wrk run")
    parser.add_argument("--table", action="store_true",
                        help="instead: every fault run of issue 24 for each server, as one table")
    parser.add_argument("--only", help="with --table: these items only (issue 24's numbers, e.g. 1,4,11)")
    parser.add_argument("--no-containers", action="store_true", help="with --table: leave out the podman runs")
    args = parser.parse_args()
    if args.table:
        from fault_table import table_runs  # bench/fault_table.py, beside this file
        return table_runs(args)
    if args.shutdown:
        return shutdown_runs(args)
    env = ensure_env("conda", (ROOT / "examples/diabetes/myenv.yml").read_text(),
                     progress=lambda m: print(m, file=sys.stderr))
    work = Path(tempfile.mkdtemp(prefix="mldeploy-faults-"))
    rows = []
    try:
        for kind in args.servers.split(","):
            server = serve(kind, args.workers, args.scoring_timeout_ms, env, work)
            try:
                for c in map(int, args.connections.split(",")):
                    stop, statuses = threading.Event(), []
                    if args.stuck_kind != "none":
                        threading.Thread(target=stuck_client, args=(server.port, server.keys[0], args.stuck_kind,
                                                                    args.stuck_every, stop, statuses),
                                         daemon=True).start()
                    result = wrk(server.endpoint().scoringUri, server.keys[0], c, args.duration, work)
                    stop.set()
                    time.sleep(args.scoring_timeout_ms / 1000 + 1)  # the last stuck ones answer
                    log = (server.run_dir / f"{server.scorer.name}.log").read_text(errors="replace")
                    result.update(server=kind, connections=c, stuck=dict(
                        (str(s), statuses.count(s)) for s in set(statuses)),
                        worker_exits=log.count("this worker exits"))
                    rows.append(result)
                    print(json.dumps(result), flush=True)
            finally:
                server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nstuck run(): {args.stuck_kind} 30 s every {args.stuck_every:g} s; gateway timeout "
          f"{args.scoring_timeout_ms} ms; {args.workers} workers; wrk {args.duration} s per row")
    print(f"{'server':11} {'conns':>5} {'requests':>9} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>8} {'max ms':>8} "
          f"{'errors':>6}  stuck requests got")
    for r in rows:
        print(f"{r['server']:11} {r['connections']:5d} {r['requests']:9d} {r['rps']:7.0f} {r['p50']:7.2f} "
              f"{r['p99']:8.2f} {r['max']:8.0f} {r['non2xx'] + r['socket_errors']:6d}  {r['stuck']}")


if __name__ == "__main__":
    main()
