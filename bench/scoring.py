"""Benchmark (not a test): wrk on loopback against the diabetes scorer, three ways -
azmlinfsrv with its defaults, the scorer with our settings, and the full gateway -> scorer path.

    .venv/bin/python bench/scoring.py [--duration 5] [--connections 1,4,16]

Prints req/s, p50 and p99 per setup and connection count, then the ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
import subprocess

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mldeploy.config.service import LocalServiceSettings  # noqa: E402
from mldeploy.config.stack import ImageSettings, ModelSettings  # noqa: E402
from mldeploy.models import resolve_model  # noqa: E402
from mldeploy.render.build_context import render_build_context  # noqa: E402
from mldeploy.runtime.env import ensure_env  # noqa: E402
from mldeploy.runtime.gateway import worker_counts  # noqa: E402
from mldeploy.runtime.local import LocalServer  # noqa: E402
from mldeploy.runtime.timeouts import scorer_timeouts  # noqa: E402
from mldeploy.runtime.processes import SCORER_LAUNCHER, Child, free_port, wait_until_ok  # noqa: E402

SAMPLE = (ROOT / "examples/diabetes/sample-request.json").read_text()
LUA = """wrk.method = "POST"
wrk.body = [==[%s]==]
wrk.headers["Content-Type"] = "application/json"
%s
"""


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


def scorer(env, context_dir: Path, context, workers: int | None, work: Path, tuned: bool) -> tuple[Child, int]:
    port = free_port()
    script = context_dir / "app" / Path(context.entry_script).name
    model_dir = context_dir / "azureml-models" / "diabetes" / "1"
    argv = [str(env.python), "-c", SCORER_LAUNCHER, "--entry_script", str(script), "--model_dir", str(model_dir),
            "--port", str(port)] + (["--worker_count", str(workers)] if workers else [])
    environ = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "AZUREML_MODEL_DIR": str(model_dir),
               **(scorer_timeouts(60_000) if tuned else {})}
    child = Child("scorer", argv, env=environ, cwd=work / f"cwd-{port}", log=work / f"scorer-{port}.log")
    child.start()
    wait_until_ok(child, f"http://127.0.0.1:{port}/", "the scorer", 120)
    return child, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", default="1,4,16")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: sudo apt-get install wrk")
    conns = [int(c) for c in args.connections.split(",")]
    cores = os.cpu_count() or 1
    ours, _ = worker_counts(cores)

    image = ImageSettings.model_validate({"entryScript": "examples/diabetes/score.py",
                                         "condaFile": "examples/diabetes/myenv.yml", "models": ["diabetes"]},
                                        context={"root": ROOT})
    model = resolve_model("diabetes", ModelSettings.model_validate(
        {"path": "examples/diabetes/outputs/sklearn_regression_model.pkl", "version": 1}, context={"root": ROOT}), ROOT)
    context = render_build_context("diabetes", image, [model], ROOT)
    env = ensure_env("conda", (ROOT / "examples/diabetes/myenv.yml").read_text(),
                     progress=lambda m: print(m, file=sys.stderr))
    work = Path(tempfile.mkdtemp(prefix="mldeploy-bench-"))
    context.write(work / "context")

    results: dict[str, dict[int, dict]] = {}
    setups = [("azmlinfsrv default (1 worker)", None, False), (f"our scorer settings ({ours} workers)", ours, True)]
    for label, workers, tuned in setups:
        child, port = scorer(env, work / "context", context, workers, work, tuned)
        try:
            results[label] = {c: wrk(f"http://127.0.0.1:{port}/score", c, args.duration, None, work) for c in conns}
        finally:
            child.stop()
    service = LocalServiceSettings.model_validate({"target": "local", "image": "diabetes", "cpuCores": cores})
    server = LocalServer("bench", service, context, env, work / "served", port=0)
    endpoint = server.start()
    try:
        label = f"gateway -> scorer ({ours} workers, auth on)"
        results[label] = {c: wrk(endpoint.scoringUri, c, args.duration, endpoint.primaryKey, work) for c in conns}
    finally:
        server.stop()
    shutil.rmtree(work, ignore_errors=True)

    print(f"\nwrk, {args.duration}s per run, {cores} cores, POST the two-row sample on 127.0.0.1")
    print(f"{'setup':44} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for label, by_conn in results.items():
        for c, r in by_conn.items():
            print(f"{label:44} {c:5d} {r['rps']:9.0f} {r['p50']:8.2f} {r['p99']:8.2f}")
    base, tuned_label, gw = list(results)
    print("\nratios (req/s)")
    for c in conns:
        print(f"  {c:2d} conns: our settings / default = {results[tuned_label][c]['rps'] / results[base][c]['rps']:.2f}"
              f"   gateway path / our scorer = {results[gw][c]['rps'] / results[tuned_label][c]['rps']:.2f}"
              f"   gateway path / default = {results[gw][c]['rps'] / results[base][c]['rps']:.2f}")
    print(json.dumps(results), file=sys.stderr)


if __name__ == "__main__":
    main()
