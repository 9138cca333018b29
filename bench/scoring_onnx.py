"""Benchmark (not a test): ONNX Runtime's intra-op threads beside the scorer's worker processes,
in ONE run: `.venv/bin/python bench/scoring_onnx.py [--duration 2] [--rounds 3] [--connections 1,8]
[--workers 2] [--models forest,mlp] [--rows 100]`.

Each worker process of the scorer holds its own InferenceSession (score.py's init()), and ONNX
Runtime's default intra-op pool is one thread per core in every session: N workers x N threads
on N cores. Served here, on 127.0.0.1, scored by wrk with requests of `--rows` rows (the diabetes
sample's two, repeated), for models made by skl2onnx from scikit-learn on the diabetes data
(forest: 300 trees, depth 12; mlp: two hidden layers of 256), `mldeploy init`'s score.py as it
writes it for each model, under this tree's scorer host, in variants that differ only in the sessions' threads:
  ort-default   ORT_INTRA_OP_NUM_THREADS=0: ONNX Runtime's default, one intra-op thread per core
  ort-default2  the same again, to show how far two equal setups differ in this run
  host          what the scorer host sets (scoring/scorer_host.py, change 13; a tree before it: the
                default too)
Every variant's scorer (WORKER_COUNT workers, scoringServer mldeploy) runs at once; wrk drives
them one after the other, round by round, in reverse order every other round (medians
reported), so foreign load hits all alike. Printed: requests/s, p50, p99 and the scorer's CPU
per request (user + system from /proc: ONNX Runtime's pool threads spin while they wait).
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
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import scoring  # noqa: E402
from scoring import tree_cpu_seconds, wrk  # noqa: E402

from mldeploy.config.stack import ImageSettings, ModelSettings  # noqa: E402
from mldeploy.plan.models import resolve_model  # noqa: E402
from mldeploy.render.build_context import render_build_context  # noqa: E402
from mldeploy.runtime.env import ensure_env  # noqa: E402
from mldeploy.runtime.local import scorer_child  # noqa: E402
from mldeploy.runtime.processes import listen_socket, wait_until_ok  # noqa: E402

# Each variant's environment beside what the scorer host sets. ORT_INTRA_OP_NUM_THREADS=0 is
# ONNX Runtime's own default (one thread per core; microsoft/onnxruntime#29688), which a host that
# sets nothing leaves too; the host leaves a variable the environment sets alone.
VARIANTS = {
    "ort-default": {"ORT_INTRA_OP_NUM_THREADS": "0"},
    "ort-default2": {"ORT_INTRA_OP_NUM_THREADS": "0"},  # the same again: how far two equal setups differ
    "host": {},
}


def make_models(folder: Path, names: list[str]) -> dict[str, Path]:
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.neural_network import MLPRegressor

    x, y = load_diabetes(return_X_y=True)
    x = x.astype(np.float32)
    makers = {"forest": lambda: RandomForestRegressor(n_estimators=300, max_depth=12, random_state=0),
              "mlp": lambda: MLPRegressor(hidden_layer_sizes=(256, 256), max_iter=50, random_state=0)}
    paths = {}
    for name in names:
        paths[name] = folder / f"{name}.onnx"
        paths[name].write_bytes(to_onnx(makers[name]().fit(x, y), x[:1]).SerializeToString())
    return paths


def project_for(model: Path, folder: Path) -> Path:
    """`mldeploy init --model` of `model` into `folder`, as a user runs it."""
    folder.mkdir(parents=True)
    subprocess.run([str(Path(sys.executable).parent / "mldeploy"), "init", "--model", str(model)], cwd=folder,
                   check=True, stdout=subprocess.DEVNULL)
    return folder


def start_variant(project: Path, name: str, variant: str, workers: int, work: Path):
    image = ImageSettings.model_validate({"entryScript": "score.py",
                                         "condaFile": "environment.yml", "models": [name],
                                         "scoringServer": "mldeploy"}, context={"root": project})
    model = resolve_model(name, ModelSettings.model_validate({"path": f"models/{name}.onnx", "version": 1},
                                                             context={"root": project}), project)
    context = render_build_context(name, image, [model], project)
    env = ensure_env("conda", (project / "environment.yml").read_text(),
                     progress=lambda m: print(m, file=sys.stderr), scoring_server="mldeploy")
    run_dir = work / f"{name}-{variant}"
    context.write(run_dir / "context")
    sock = listen_socket(0)
    port = sock.getsockname()[1]
    child = scorer_child(context, env, run_dir / "context", run_dir, sock=sock, workers=workers,
                         scoring_timeout_ms=60_000, name="scorer", extra_env=VARIANTS[variant])
    child.start()
    wait_until_ok(child, f"http://127.0.0.1:{port}/", f"{name} {variant}", 120)
    return child, f"http://127.0.0.1:{port}/score"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=2, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median reported)")
    parser.add_argument("--connections", default="1,8")
    parser.add_argument("--workers", type=int, default=2, help="the scorer's workers (WORKER_COUNT)")
    parser.add_argument("--models", default="forest,mlp")
    parser.add_argument("--rows", type=int, default=100,
                        help="rows per request (the sample's two, repeated); with 2 the server's own cost hides the model's")
    args = parser.parse_args()
    rows = json.loads(scoring.SAMPLE)["data"]
    scoring.SAMPLE = json.dumps({"data": [rows[i % len(rows)] for i in range(args.rows)]})
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: sudo apt-get install wrk")
    conns = [int(c) for c in args.connections.split(",")]
    load = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="mldeploy-bench-onnx-"))
    children, served = [], {}
    runs: dict[tuple[str, str], dict[int, list[dict]]] = {}
    try:
        for name, path in make_models(work, args.models.split(",")).items():
            project = project_for(path, work / f"project-{name}")
            for variant in VARIANTS:
                child, url = start_variant(project, name, variant, args.workers, work)
                children.append(child)
                served[(name, variant)] = (child, url)
                runs[(name, variant)] = {c: [] for c in conns}
        for round_no in range(args.rounds):
            order = list(served) if round_no % 2 == 0 else list(served)[::-1]
            for c in conns:
                for key in order:
                    child, url = served[key]
                    before = tree_cpu_seconds(child.proc.pid)
                    result = wrk(url, c, args.duration, None, work)
                    result["cpu_us"] = (tree_cpu_seconds(child.proc.pid) - before) / (result["rps"] * args.duration) * 1e6
                    runs[key][c].append(result)
    finally:
        for child in children:
            child.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nload average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    print(f"the scorer alone, {args.workers} workers, wrk with {args.rows}-row requests, {args.rounds} interleaved rounds x "
          f"{args.duration}s, medians")
    print(f"{'model':7} {'variant':12} {'conns':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'cpu us/req':>10}")
    for (name, variant), by_conn in runs.items():
        for c, rs in by_conn.items():
            med = {m: statistics.median(r[m] for r in rs) for m in ("rps", "p50", "p99", "cpu_us")}
            print(f"{name:7} {variant:12} {c:5d} {med['rps']:7.0f} {med['p50']:7.2f} {med['p99']:7.2f} "
                  f"{med['cpu_us']:10.0f}")
    print("ratios to ort-default of the same model (requests/s; p99)")
    for (name, variant), by_conn in runs.items():
        if variant == "ort-default":
            continue
        for c, rs in by_conn.items():
            base = runs[(name, "ort-default")][c]
            rps = statistics.median(r["rps"] for r in rs) / statistics.median(r["rps"] for r in base)
            p99 = statistics.median(r["p99"] for r in rs) / statistics.median(r["p99"] for r in base)
            print(f"  {name:7} {variant:12} at {c:2d} conns: req/s x{rps:4.2f}, p99 x{p99:4.2f}")


if __name__ == "__main__":
    main()
