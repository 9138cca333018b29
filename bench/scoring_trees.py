"""Benchmark (not a test): the whole local gateway path (nginx -> scorer, as `serve` runs it) of
two or more source trees of mldeploy against each other, in ONE run:
`bench/scoring.py --trees old=/tmp/old,new=.` (or this file) [--duration 2] [--rounds 3]
[--connections 1,4,16,64] [--workers N].

What it is for: a change to the gateway's config (render/gateway.py) or to the scorer host
(scoring/) measured against the tree before it on a shared machine, where two runs an hour apart
say nothing. Make the old tree with `git worktree add --detach /tmp/old main` (and copy
examples/diabetes/outputs into it: the model is not in git). Each tree serves the diabetes sample
from its own code (a child process with the tree first on its path); wrk drives them one after
the other, round by round, in reverse order every other round (medians reported), so foreign
load hits every tree alike. Printed per tree and connection count: requests/s, p50, p99, p99/p50
and the CPU nginx and the scorer spent per request (user + system from /proc: less sensitive to
a busy machine than requests/s), with nginx / scorer - issue 23's "gateway's own cost"; then each
tree against the first as ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

TREE_ENV = "MLDEPLOY_BENCH_TREE"


def serve(tree: Path) -> None:
    """In the child: serve the diabetes sample from `tree`'s code (the gateway path of the local
    target), print its endpoint and processes as one JSON line, stop when stdin closes."""
    # Written out here like bench/scoring_interfaces.py's setup, not shared with it: this runs
    # against another tree's mldeploy, whose bench/ may not have any shared helper.
    sys.path.insert(0, str(tree))
    from mldeploy.config.stack import ImageSettings, ModelSettings
    from mldeploy.plan.models import resolve_model
    from mldeploy.plan.serve import plan_serve
    from mldeploy.render.build_context import render_build_context
    from mldeploy.runtime.env import ensure_env
    from mldeploy.runtime.local import LocalServer
    from mldeploy.targets.local.settings import LocalServiceSettings

    image = ImageSettings.model_validate({"entryScript": "examples/diabetes/score.py",
                                         "condaFile": "examples/diabetes/myenv.yml", "models": ["diabetes"],
                                         "scoringServer": "mldeploy"}, context={"root": tree})
    model = resolve_model("diabetes", ModelSettings.model_validate(
        {"path": "examples/diabetes/outputs/sklearn_regression_model.pkl", "version": 1}, context={"root": tree}), tree)
    context = render_build_context("diabetes", image, [model], tree)
    env = ensure_env("conda", (tree / "examples/diabetes/myenv.yml").read_text(),
                     progress=lambda m: print(m, file=sys.stderr), scoring_server="mldeploy")
    workers = os.environ.get("MLDEPLOY_BENCH_WORKERS")
    service = LocalServiceSettings.model_validate({"target": "local", "image": "diabetes", "cpuCores": os.cpu_count(),
                                                   **({"workerCount": int(workers)} if workers else {})})
    run_dir = Path(tempfile.mkdtemp(prefix="mldeploy-bench-tree-"))
    server = LocalServer(plan_serve("trees", service, production=False), context, env, run_dir, port=0)
    endpoint = server.start()
    try:
        print(json.dumps({"url": endpoint.scoringUri, "key": endpoint.primaryKey,
                          "gateway": server.gateway.proc.pid, "scorer": server.scorer.proc.pid}), flush=True)
        sys.stdin.read()
    finally:
        server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trees", required=True, help="label=path,... (the first is the baseline)")
    parser.add_argument("--duration", type=int, default=2, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median reported)")
    parser.add_argument("--connections", default="1,4,16,64")
    parser.add_argument("--workers", type=int, default=None, help="the scorer's workers; default: one per core")
    args, _ = parser.parse_known_args()
    if TREE_ENV in os.environ:
        return serve(Path(os.environ[TREE_ENV]))
    from scoring import THREAD_KINDS, scorer_threads_cpu, tree_cpu_seconds, wrk

    trees = {label: Path(path).resolve() for label, path in (t.split("=", 1) for t in args.trees.split(","))}
    conns = [int(c) for c in args.connections.split(",")]
    load = os.getloadavg()
    children: dict[str, subprocess.Popen] = {}
    runs: dict[str, dict[int, list[dict]]] = {label: {c: [] for c in conns} for label in trees}
    work = Path(tempfile.mkdtemp(prefix="mldeploy-bench-trees-"))
    try:
        served = {}
        for label, tree in trees.items():
            env = {**os.environ, TREE_ENV: str(tree), "PYTHONPATH": str(tree),
                   **({"MLDEPLOY_BENCH_WORKERS": str(args.workers)} if args.workers else {})}
            children[label] = subprocess.Popen([sys.executable, __file__, "--trees", args.trees], env=env, text=True,
                                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=work)
            line = children[label].stdout.readline()
            if not line:
                raise SystemExit(f"tree {label} ({tree}) did not start: see the lines above")
            served[label] = json.loads(line)
        for round_no in range(args.rounds):
            order = list(trees) if round_no % 2 == 0 else list(trees)[::-1]
            for c in conns:
                for label in order:
                    s = served[label]
                    before = {who: tree_cpu_seconds(s[who]) for who in ("gateway", "scorer")}
                    threads_before = scorer_threads_cpu(s["scorer"])
                    result = wrk(s["url"], c, args.duration, s["key"], work)
                    requests = result["rps"] * args.duration
                    threads_after = scorer_threads_cpu(s["scorer"])
                    result.update({who: (tree_cpu_seconds(s[who]) - before[who]) / requests * 1e6
                                   for who in ("gateway", "scorer")})
                    result.update({kind: (threads_after[kind] - threads_before[kind]) / requests * 1e6
                                   for kind in THREAD_KINDS})
                    runs[label][c].append(result)
    finally:
        for child in children.values():
            child.stdin.close()
            child.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)

    def median(label: str, c: int, key) -> float:
        return statistics.median(key(r) for r in runs[label][c])

    print(f"\nload average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"the local gateway path of each tree, {args.rounds} interleaved rounds x {args.duration}s, medians")
    print(f"{'tree':10} {'conns':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'p99/p50':>7} "
          f"{'nginx us':>8} {'scorer us':>9} {'nginx/scorer':>12}")
    for label in trees:
        for c in conns:
            print(f"{label:10} {c:5d} {median(label, c, lambda r: r['rps']):7.0f} {median(label, c, lambda r: r['p50']):7.2f} "
                  f"{median(label, c, lambda r: r['p99']):7.2f} {median(label, c, lambda r: r['p99'] / r['p50']):7.1f} "
                  f"{median(label, c, lambda r: r['gateway']):8.0f} {median(label, c, lambda r: r['scorer']):9.0f} "
                  f"{median(label, c, lambda r: r['gateway'] / r['scorer']):12.1%}")
    print("the scorer's CPU a request by thread, us (medians; loop: each worker's asyncio loop thread, rust:\n"
          "granian's runtime, other: the app's threads, granian's hand-over thread, the watchdog)")
    print(f"{'tree':10} {'conns':>5} " + " ".join(f"{kind:>6}" for kind in THREAD_KINDS))
    for label in trees:
        for c in conns:
            print(f"{label:10} {c:5d} " + " ".join(f"{median(label, c, lambda r, k=kind: r[k]):6.0f}"
                                                   for kind in THREAD_KINDS))
    base = next(iter(trees))
    for label in list(trees)[1:]:
        for c in conns:
            def ratio(key):
                return median(label, c, key) / median(base, c, key)
            print(f"  {label} / {base} at {c:2d} conns: req/s {ratio(lambda r: r['rps']):.2f}x, nginx CPU "
                  f"{ratio(lambda r: r['gateway']):.2f}x, scorer CPU {ratio(lambda r: r['scorer']):.2f}x, nginx/scorer "
                  f"{median(base, c, lambda r: r['gateway'] / r['scorer']):.1%} -> "
                  f"{median(label, c, lambda r: r['gateway'] / r['scorer']):.1%}")


if __name__ == "__main__":
    main()
