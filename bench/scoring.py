"""Benchmark (not a test): the scoring path measured against azmlinfsrv's own defaults and against
the floor, every goal of issue 14 printed as a ratio from ONE run.

    .venv/bin/python bench/scoring.py [--duration 2] [--rounds 3] [--connections 1,4,16,64]
                                      [--scoring-server mldeploy|azmlinfsrv] [--workers N]

Setups, all serving the diabetes sample (examples/diabetes) on 127.0.0.1, driven by wrk:
  default  azmlinfsrv exactly as its command runs it (1 worker, access log), bound to 127.0.0.1
  scorer   our scorer alone (scoring/scorer_host.py, one worker per core, our timeouts), with the
           `scoringServer` given by --scoring-server (default: mldeploy, scoring/scoring_app.py on
           granian, as in the images). Started as behind the gateway (its timeouts), it keeps a
           connection while no other one waits for a worker (scoring/scorer_host.py)
  gateway  the whole local path: nginx gateway (auth on) -> our scorer (runtime/local.py); wrk
           keeps its connections to nginx alive, nginx reaches the scorer over a Unix socket and
           keeps those connections while the scorer does
CPU per request through the gateway (nginx's and the scorer's, from /proc) is measured around
every gateway run and reported per connection count (medians of the rounds).
Ready time: `LocalServer.start()` until it can score, against the floor: a plain Python that
imports score.py (its libraries) and runs init() (loads the model) - nothing of a server.

The machine may be shared: the load average is printed first; wrk runs of the setups are
interleaved round by round and the median of the rounds is reported, so a burst of foreign load
hits every setup alike. Absolute numbers mean little; the ratios are the result.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mldeploy.targets.local.settings import LocalServiceSettings  # noqa: E402
from mldeploy.config.stack import ImageSettings, ModelSettings  # noqa: E402
from mldeploy.plan.models import resolve_model  # noqa: E402
from mldeploy.render.build_context import render_build_context  # noqa: E402
from mldeploy.runtime.env import ensure_env  # noqa: E402
from mldeploy.runtime.local import LocalServer, scorer_child  # noqa: E402
from mldeploy.plan.serve import plan_serve  # noqa: E402
from mldeploy.runtime.processes import Child, listen_socket, wait_until_ok  # noqa: E402
from mldeploy.plan.scorer import scorer_workers  # noqa: E402
from mldeploy.contract import DEFAULT_SCORING_SERVER  # noqa: E402

SAMPLE = (ROOT / "examples/diabetes/sample-request.json").read_text()
LUA = """wrk.method = "POST"
wrk.body = [==[%s]==]
wrk.headers["Content-Type"] = "application/json"
%s
"""
# azmlinfsrv's own command (amlserver.py), only bound to 127.0.0.1 instead of 0.0.0.0.
STOCK_SERVER = ("import sys, azureml_inference_server_http.constants as c; c.DEFAULT_HOST = '127.0.0.1'; "
                "from azureml_inference_server_http.amlserver import run; sys.argv[0] = 'azmlinfsrv'; run()")
FLOOR = "import score; score.init()"


def wrk(url: str, connections: int, duration: int, key: str | None, work: Path) -> dict:
    script = work / "post.lua"
    auth = f'wrk.headers["Authorization"] = "Bearer {key}"' if key else ""
    script.write_text(LUA % (SAMPLE.strip(), auth))
    out = subprocess.run(["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{duration}s",
                          "--latency", "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} failed requests:\n{out}")

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms("50%"), "p99": ms("99%")}


def diabetes_example(name: str = "diabetes", scoring_server: str = "mldeploy"):
    """The diabetes example as the benches serve it: its build context (score.py and the trained
    model, named `name`) and its scoring environment (built once, then cached). Not for
    scoring_trees.py, whose children import each tree's own mldeploy."""
    image = ImageSettings.model_validate({"entryScript": "examples/diabetes/score.py",
                                         "condaFile": "examples/diabetes/myenv.yml", "models": ["diabetes"],
                                         "scoringServer": scoring_server}, context={"root": ROOT})
    model = resolve_model("diabetes", ModelSettings.model_validate(
        {"path": "examples/diabetes/outputs/sklearn_regression_model.pkl", "version": 1}, context={"root": ROOT}), ROOT)
    context = render_build_context(name, image, [model], ROOT)
    # The mldeploy server's environment holds azmlinfsrv too: the default setup runs from it.
    env = ensure_env("conda", (ROOT / "examples/diabetes/myenv.yml").read_text(),
                     progress=lambda m: print(m, file=sys.stderr), scoring_server=scoring_server)
    return context, env


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by `pid` and every live process under it (Linux
    /proc; the bench needs Linux anyway for wrk and nginx)."""
    procs: dict[int, tuple[int, int]] = {}  # pid -> (parent pid, utime + stime ticks)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command name
        except OSError:
            continue
        procs[int(stat.parent.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))  # stat fields 4, 14, 15
    tree, grew = {pid}, True
    while grew:
        more = {p for p, (parent, _) in procs.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(procs[p][1] for p in tree if p in procs) / os.sysconf("SC_CLK_TCK")


# Where the scorer's CPU goes, by thread (`scorer_threads_cpu`): its host process (granian's
# parent, scorer_host.py: the pipe listener, respawns), each worker's main thread (the asyncio
# loop granian's ASGI interface drives), granian's Rust runtime threads (tokio-rt-worker) and
# the worker's other threads (the app's threads of wsgi_on_asgi.py, granian's thread that hands
# requests to the loop, the scoring-timeout watchdog; CPython 3.11 names none of them).
THREAD_KINDS = ("host", "loop", "rust", "other")


def _ticks(stat: Path) -> tuple[str, list[str]]:
    text = stat.read_text()
    return text[text.index("(") + 1:text.rindex(")")], text.rsplit(")", 1)[1].split()


def scorer_threads_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of the scorer under `pid` by THREAD_KINDS: a worker's "other" is its
    whole process (exited threads included) less its loop and Rust threads."""
    kinds = dict.fromkeys(THREAD_KINDS, 0.0)
    hz = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            _, fields = _ticks(proc / "stat")
            if int(proc.name) != pid and int(fields[1]) != pid:
                continue
            total = (int(fields[11]) + int(fields[12])) / hz
            if int(proc.name) == pid:
                kinds["host"] += total
                continue
            loop = rust = 0.0
            for task in (proc / "task").iterdir():
                name, tf = _ticks(task / "stat")
                ticks = (int(tf[11]) + int(tf[12])) / hz
                if task.name == proc.name:
                    loop = ticks
                elif name.startswith("tokio"):
                    rust += ticks
        except (OSError, ValueError):
            continue  # a process or thread that ended meanwhile
        kinds["loop"] += loop
        kinds["rust"] += rust
        kinds["other"] += total - loop - rust
    return kinds


IDLE_S = 4.0


def idle_cpu_ms_per_s(pid: int, seconds: float = IDLE_S) -> float:
    """The scorer's CPU with no request at all, milliseconds per second: what polls or spins
    (/proc counts in clock ticks: one tick over `seconds` is the resolution)."""
    before = tree_cpu_seconds(pid)
    time.sleep(seconds)
    return (tree_cpu_seconds(pid) - before) / seconds * 1e3


def cpu_per_request(server, url: str, key: str, connections: int, duration: int, work: Path) -> tuple[dict, dict]:
    """One wrk run through the gateway (its result), with the CPU time the gateway (nginx) and
    the scorer spent on it: microseconds per request each, and the scorer's by THREAD_KINDS."""
    before = {name: tree_cpu_seconds(child.proc.pid) for name, child in (("gateway", server.gateway),
                                                                         ("scorer", server.scorer))}
    threads_before = scorer_threads_cpu(server.scorer.proc.pid)
    result = wrk(url, connections, duration, key, work)
    requests = result["rps"] * duration
    threads_after = scorer_threads_cpu(server.scorer.proc.pid)
    return result, {**{name: (tree_cpu_seconds(child.proc.pid) - before[name]) / requests * 1e6
                       for name, child in (("gateway", server.gateway), ("scorer", server.scorer))},
                    **{kind: (threads_after[kind] - threads_before[kind]) / requests * 1e6 for kind in THREAD_KINDS}}


def stock_scorer(env, context_dir: Path, context, work: Path) -> tuple[Child, int]:
    sock = listen_socket(0)  # only to pick a port; the stock server binds it itself
    port = sock.getsockname()[1]
    sock.close()
    model_dir = context_dir / "azureml-models" / "diabetes" / "1"
    argv = [str(env.python), "-c", STOCK_SERVER, "--entry_script",
            str(context_dir / "app" / Path(context.entry_script).name), "--model_dir", str(model_dir),
            "--port", str(port)]
    environ = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "AZUREML_MODEL_DIR": str(model_dir)}
    child = Child("default", argv, env=environ, cwd=work / "cwd-default", log=work / "default.log")
    child.start()
    wait_until_ok(child, f"http://127.0.0.1:{port}/", "azmlinfsrv", 120)
    return child, port


def floor_seconds(env, context_dir: Path) -> float:
    """A plain Python importing the entry script's libraries and loading the model (init())."""
    start = time.monotonic()
    subprocess.run([str(env.python), "-c", FLOOR], cwd=context_dir / "app", check=True, stderr=subprocess.DEVNULL,
                   env={"PATH": os.environ["PATH"], "AZUREML_MODEL_DIR": str(context_dir / "azureml-models/diabetes/1")})
    return time.monotonic() - start


def local_ready_seconds(service, context, env, run_dir: Path) -> float:
    """`LocalServer.start()` (environment cached) until the gateway scores."""
    server = LocalServer(plan_serve("ready", service, production=False), context, env, run_dir, port=0)
    start = time.monotonic()
    server.start()
    elapsed = time.monotonic() - start
    server.stop()
    return elapsed


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=2, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median reported)")
    parser.add_argument("--connections", default="1,4,16,64")
    parser.add_argument("--scoring-server", default=DEFAULT_SCORING_SERVER, choices=("mldeploy", "azmlinfsrv"),
                        help="the image's scoringServer for 'scorer' and 'gateway'")
    parser.add_argument("--workers", type=int, default=None,
                        help="the scorer's workers (workerCount); default: one per core")
    parser.add_argument("--batching", action="store_true",
                        help="instead: batching vs not through the gateway (bench/scoring_batching.py, issue 23)")
    parser.add_argument("--interfaces", action="store_true",
                        help="instead: the mldeploy host on granian's ASGI vs WSGI interface (bench/scoring_interfaces.py)")
    parser.add_argument("--trees", default=None,
                        help="instead: label=path,... source trees' gateway paths against each other (bench/scoring_trees.py); "
                             "with --batching: each tree's batching against its unbatched pair")
    args, _ = parser.parse_known_args()
    if args.trees and not args.batching:
        import scoring_trees  # next to this file

        return scoring_trees.main()
    if args.batching:
        import scoring_batching  # next to this file

        return scoring_batching.main()
    if args.interfaces:
        import scoring_interfaces  # next to this file

        return scoring_interfaces.main()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: sudo apt-get install wrk")
    conns = [int(c) for c in args.connections.split(",")]
    cores = os.cpu_count() or 1
    load = os.getloadavg()

    context, env = diabetes_example(scoring_server=args.scoring_server)
    work = Path(tempfile.mkdtemp(prefix="mldeploy-bench-"))
    context_dir = work / "context"
    context.write(context_dir)
    service = LocalServiceSettings.model_validate({"target": "local", "image": "diabetes", "cpuCores": cores,
                                                   **({"workerCount": args.workers} if args.workers else {})})
    workers = scorer_workers(service)

    # Ready time first, before the load of the throughput runs; interleaved with the floor.
    floors, readies = [], []
    for i in range(args.rounds):
        floors.append(floor_seconds(env, context_dir))
        readies.append(local_ready_seconds(service, context, env, work / f"ready-{i}"))

    children: list[Child] = []
    server = LocalServer(plan_serve("bench", service, production=False), context, env, work / "served", port=0)
    runs: dict[str, dict[int, list[dict]]] = {}
    cpu: dict[int, dict[str, float]] = {}
    shares: dict[int, float] = {}
    idle = 0.0
    try:
        default, default_port = stock_scorer(env, context_dir, context, work)
        children.append(default)
        sock = listen_socket(0)
        ours_port = sock.getsockname()[1]
        ours = scorer_child(context, env, context_dir, work, sock=sock, workers=workers,
                            scoring_timeout_ms=service.scoring_timeout_ms)
        ours.start()
        children.append(ours)
        wait_until_ok(ours, f"http://127.0.0.1:{ours_port}/", "our scorer", 120)
        endpoint = server.start()
        targets = {
            "default": (f"http://127.0.0.1:{default_port}/score", None),
            "scorer": (f"http://127.0.0.1:{ours_port}/score", None),
            "gateway": (endpoint.scoringUri, endpoint.primaryKey),
        }
        runs = {name: {c: [] for c in conns} for name in targets}
        cpu_runs: dict[int, list[dict]] = {c: [] for c in conns}
        for _ in range(args.rounds):
            for c in conns:
                for name, (url, key) in targets.items():
                    if name == "gateway":
                        result, used = cpu_per_request(server, url, key, c, args.duration, work)
                        cpu_runs[c].append(used)
                    else:
                        result = wrk(url, c, args.duration, key, work)
                    runs[name][c].append(result)
        idle = idle_cpu_ms_per_s(server.scorer.proc.pid)  # after the runs: every thread has started
        cpu = {c: {who: statistics.median(u[who] for u in used) for who in ("gateway", "scorer", *THREAD_KINDS)}
               for c, used in cpu_runs.items()}
        shares = {c: statistics.median(u["gateway"] / u["scorer"] for u in used) for c, used in cpu_runs.items()}
    finally:
        server.stop()
        for child in children:
            child.stop()
    shutil.rmtree(work, ignore_errors=True)

    res = {name: {c: {m: statistics.median(r[m] for r in rs) for m in ("rps", "p50", "p99")}
                  for c, rs in by_conn.items()} for name, by_conn in runs.items()}
    labels = {"default": "azmlinfsrv default (1 worker)", "scorer": f"{args.scoring_server} ({workers} workers)",
              "gateway": "gateway -> our scorer (auth on)"}
    print(f"\nload average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({cores} cores)")
    print(f"wrk on 127.0.0.1, two-row sample, {args.rounds} interleaved rounds x {args.duration}s, medians")
    print(f"{'setup':34} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, by_conn in res.items():
        for c, r in by_conn.items():
            print(f"{labels[name]:34} {c:5d} {r['rps']:8.0f} {r['p50']:8.2f} {r['p99']:8.2f}")
    floor, ready = statistics.median(floors), statistics.median(readies)
    print(f"\nready: floor {floor:.2f} s (runs {', '.join(f'{x:.2f}' for x in floors)}), local target "
          f"{ready:.2f} s (runs {', '.join(f'{x:.2f}' for x in readies)})")

    print("\ngoals (ratios from this run)")
    gw, sc, df = res["gateway"], res["scorer"], res["default"]
    for c in conns:
        ratio = gw[c]["rps"] / df[c]["rps"]
        need = 2.0 if c >= 16 else 1.0
        print(f"  gateway / azmlinfsrv default at {c:2d} conns = {ratio:5.2f}  (goal >= {need:g}: {verdict(ratio >= need)})")
    for c in conns:
        cost = 1 - gw[c]["rps"] / sc[c]["rps"]
        print(f"  gateway cost vs our scorer alone at {c:2d} conns = {cost:6.1%}  (goal <= 10%: {verdict(cost <= 0.10)})")
    for c in [c for c in conns if c in (1, 4)]:
        for name in ("gateway", "scorer"):
            tail = res[name][c]["p99"] / res[name][c]["p50"]
            print(f"  p99 / p50 {name:7} at {c} conns = {tail:5.1f}  (goal <= 3: {verdict(tail <= 3)})")
    print(f"  local ready / floor = {ready / floor:.2f}  (goal <= 1.3: {verdict(ready / floor <= 1.3)})")
    print("\nCPU per request through the gateway (medians of the rounds): the gateway's own cost")
    for c in conns:
        print(f"  at {c:2d} conns: gateway (nginx) {cpu[c]['gateway']:4.0f} us, scorer {cpu[c]['scorer']:5.0f} us: "
              f"nginx / scorer = {shares[c]:5.1%}  (goal <= 10%: {verdict(shares[c] <= 0.10)})")
    print("(the 'gateway cost' ratios above compare two whole paths - wrk -> scorer, wrk -> nginx -> scorer;\n"
          "these lines the gateway's own CPU against the scorer's on the gateway path)")
    print(f"\nThe scorer's CPU per request by thread (us, medians; idle after the runs: {idle:.1f} ms CPU a second,\n"
          f"  in steps of {1e3 / os.sysconf('SC_CLK_TCK') / IDLE_S:.1f}, /proc's clock tick)")
    print("  conns  host  loop  rust  other   (host: granian's parent; loop: each worker's asyncio loop thread;\n"
          "                                    rust: granian's runtime; other: the app's threads, granian's\n"
          "                                    hand-over thread, the watchdog)")
    for c in conns:
        print(f"  {c:5d} " + " ".join(f"{cpu[c][kind]:5.0f}" for kind in THREAD_KINDS))
    print(json.dumps({"load": load, "results": res, "floor_s": floors, "ready_s": readies, "cpu_us_per_request": cpu,
                      "idle_scorer_cpu_ms_per_s": idle,
                      "nginx_over_scorer": shares}),
          file=sys.stderr)


if __name__ == "__main__":
    main()
