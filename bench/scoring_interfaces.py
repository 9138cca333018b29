"""Benchmark (not a test): the mldeploy scorer host on granian's ASGI interface (wsgi_on_asgi.py,
the default: header bytes reach run() as azmlinfsrv hands them over) against the same host on
granian's WSGI interface (`MLDEPLOY_GRANIAN_INTERFACE=wsgi`, header bytes outside visible ASCII
arrive empty), in ONE run: `bench/scoring.py --interfaces` (or this file)
[--duration 2] [--rounds 3] [--connections 1,4,16] [--workers 2].

Both serve the diabetes sample (examples/diabetes) on 127.0.0.1 side by side, each scorer alone
(no gateway), wrk driving one after the other, round by round (medians reported), so foreign
load hits both alike; the load average is printed first. Besides req/s, the CPU each scorer's
processes spent per request (user + system, /proc) - less sensitive to a busy machine than
req/s. Only the ratios mean anything on a shared machine.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mldeploy.runtime.local import scorer_child  # noqa: E402
from mldeploy.runtime.processes import listen_socket, wait_until_ok  # noqa: E402
from mldeploy.scoring.scorer_host import INTERFACE_ENV  # noqa: E402
from scoring import diabetes_example, tree_cpu_seconds, wrk  # noqa: E402

INTERFACES = ("asgi", "wsgi")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interfaces", action="store_true", help="(how bench/scoring.py hands over)")
    parser.add_argument("--duration", type=int, default=2, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median reported)")
    parser.add_argument("--connections", default="1,4,16")
    parser.add_argument("--workers", type=int, default=2)
    args, _ = parser.parse_known_args()
    conns = [int(c) for c in args.connections.split(",")]
    load = os.getloadavg()

    context, env = diabetes_example()
    work = Path(tempfile.mkdtemp(prefix="mldeploy-bench-interfaces-"))
    context.write(work / "context")
    children, urls = {}, {}
    try:
        for interface in INTERFACES:
            sock = listen_socket(0)
            port = sock.getsockname()[1]
            child = scorer_child(context, env, work / "context", work, sock=sock, workers=args.workers,
                                 scoring_timeout_ms=60_000, name=f"scorer-{interface}",
                                 extra_env={INTERFACE_ENV: interface})
            child.start()
            children[interface], urls[interface] = child, f"http://127.0.0.1:{port}/score"
            wait_until_ok(child, f"http://127.0.0.1:{port}/", f"the {interface} scorer", 120)
        runs = {i: {c: [] for c in conns} for i in INTERFACES}
        for _ in range(args.rounds):
            for c in conns:
                for interface in INTERFACES:
                    before = tree_cpu_seconds(children[interface].proc.pid)
                    result = wrk(urls[interface], c, args.duration, None, work)
                    spent = tree_cpu_seconds(children[interface].proc.pid) - before
                    runs[interface][c].append({**result, "cpu_us": spent / (result["rps"] * args.duration) * 1e6})
    finally:
        for child in children.values():
            child.stop()

    res = {i: {c: {m: statistics.median(r[m] for r in rs) for m in ("rps", "p50", "p99", "cpu_us")}
               for c, rs in by_conn.items()} for i, by_conn in runs.items()}
    print(f"\nload average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    print(f"mldeploy scorer alone, {args.workers} workers, diabetes sample; {args.rounds} interleaved rounds x "
          f"{args.duration}s, medians")
    print(f"{'interface':10} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>11}")
    for interface, by_conn in res.items():
        for c, r in by_conn.items():
            print(f"{interface:10} {c:5d} {r['rps']:8.0f} {r['p50']:8.2f} {r['p99']:8.2f} {r['cpu_us']:11.0f}")
    print("\nasgi / wsgi (this run)")
    for c in conns:
        a, w = res["asgi"][c], res["wsgi"][c]
        print(f"  at {c:2d} conns: req/s {a['rps'] / w['rps']:.2f} x, CPU per request {a['cpu_us'] / w['cpu_us']:.2f} x")


if __name__ == "__main__":
    main()
