"""Benchmark (not a test): adaptive batching (`images.<name>.batching`, issue 23) against the same
image without it, through the local gateway, in ONE run: `bench/scoring.py --batching` (or this
file) [--duration 3] [--rounds 3] [--connections 1,64] [--models forest,diabetes].

For each example model two local services are started side by side - the stack's image with its
`batching` and the same image without it (2 workers each, auth on) - and wrk drives each with a
one-row request (`{"data": [[1, ..., 10]]}`): with a one-row request a batch of maxBatchSize rows
holds maxBatchSize requests. The wrk runs of the two are interleaved round by round and the
medians reported, so foreign load hits both alike; the load average is printed first. Only the
ratios mean anything on a shared machine.

Goals (issue 23): >= 5x requests/s at 64 connections for the forest, >= 1.2x for the diabetes
ridge; at 1 connection >= 0.95x and p99 within maxLatencyMs + 1 ms of the unbatched p99.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mldeploy.targets.local.settings import LocalServiceSettings  # noqa: E402
from mldeploy.plan.batching import worker_load  # noqa: E402
from mldeploy.plan.models import resolve_model  # noqa: E402
from mldeploy.plan.serve import plan_serve  # noqa: E402
from mldeploy.render.build_context import render_build_context  # noqa: E402
from mldeploy.runtime.env import ensure_env  # noqa: E402
from mldeploy.runtime.local import LocalServer  # noqa: E402
from mldeploy.targets.stack import load_stack  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scoring import tree_cpu_seconds  # noqa: E402

BODY = '{"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}'
LUA = """wrk.method = "POST"
wrk.body = [==[%s]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
"""
# example -> (stack, image, batching): the forest stack's own batching; the diabetes image (stack local) this one.
MODELS = {"forest": ("forest", "forest", None), "diabetes": ("local", "diabetes", {"maxBatchSize": 32, "maxLatencyMs": 5})}


def wrk(port: int, key: str, connections: int, duration: int, work: Path) -> dict:
    script = work / "post.lua"
    script.write_text(LUA % (BODY, key))
    out = subprocess.run(["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{duration}s",
                          "--timeout", "10s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}/score"],
                         capture_output=True, text=True, check=True).stdout
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if failed:
        raise SystemExit(f"{failed.group(1)} failed requests:\n{out}")

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms("50%"), "p99": ms("99%")}


def drained(server) -> None:
    """Wait until the requests wrk left behind are answered: when wrk stops, the requests of its
    connections still queue for the workers (the forest's unbatched backlog at 64 connections
    held the next 1-connection run at 0 requests). One more request waits behind them."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
    try:
        conn.request("POST", "/score", BODY, {"Content-Type": "application/json",
                                              "Authorization": f"Bearer {server.keys[0]}"})
        conn.getresponse().read()
    finally:
        conn.close()


def measured(server, connections: int, duration: int, work: Path) -> dict:
    """One wrk run, with the CPU the scorer and the gateway (nginx) spent on it, us a request;
    after the server has answered what the previous run left behind."""
    drained(server)
    before = {name: tree_cpu_seconds(child.proc.pid) for name, child in (("scorer", server.scorer),
                                                                         ("nginx", server.gateway))}
    result = wrk(server.port, server.keys[0], connections, duration, work)
    requests = max(1.0, result["rps"] * duration)
    for name, child in (("scorer", server.scorer), ("nginx", server.gateway)):
        result[f"{name}_us"] = (tree_cpu_seconds(child.proc.pid) - before[name]) / requests * 1e6
    return result


def servers(example: str, work: Path):
    """The example's image with and without batching, each behind its own gateway."""
    stack, image_name, batching = MODELS[example]
    settings = load_stack(ROOT, stack)
    image = settings.images[image_name]
    batched_image = image if batching is None else image.model_copy(update={"batching": _batching(batching)})
    plain_image = image.model_copy(update={"batching": None})
    models = [resolve_model(m, settings.models[m], ROOT) for m in image.models]
    env = ensure_env("conda", (ROOT / image.conda_file).read_text(), progress=lambda m: print(m, file=sys.stderr))
    service = LocalServiceSettings.model_validate({"target": "local", "image": image_name, "workerCount": 2,
                                                   "cpuCores": 2})
    out = {}
    for label, img in (("batched", batched_image), ("unbatched", plain_image)):
        context = render_build_context(image_name, img, models, ROOT)
        plan = plan_serve(f"{example}-{label}", service, production=False, load=worker_load(img.batching))
        server = LocalServer(plan, context, env, work / f"{example}-{label}", port=0)
        server.start(timeout=180)
        out[label] = server
    return out, batched_image.batching


def _batching(values: dict):
    from mldeploy.config.batching import BatchingSettings

    return BatchingSettings.model_validate(values)


def run(duration: int, rounds: int, connections: list[int], examples: list[str]) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: sudo apt-get install wrk")
    print(f"load average before the run: {' / '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores); {rounds} rounds x {duration} s, medians; body {BODY}")
    work = Path(tempfile.mkdtemp(prefix="mldeploy-bench-batching-"))
    for example in examples:
        started, batching = servers(example, work)
        try:
            for s in started.values():  # warm up: first requests, and the batcher's run-time estimate
                wrk(s.port, s.keys[0], 8, 1, work)
            results = {label: {c: [] for c in connections} for label in started}
            for _ in range(rounds):
                for c in connections:
                    for label, s in started.items():
                        results[label][c].append(measured(s, c, duration, work))
        finally:
            for s in started.values():
                s.stop()
        print(f"\n{example}: maxBatchSize {batching.max_batch_size}, maxLatencyMs {batching.max_latency_ms}, "
              "2 workers, through the gateway")
        print("| conns | unbatched req/s | batched req/s | batched / unbatched | p99 unbatched ms | p99 batched ms "
              "| scorer CPU us/req unbatched, batched | nginx CPU us/req unbatched, batched |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for c in connections:
            med = {label: {k: statistics.median(r[k] for r in results[label][c])
                           for k in ("rps", "p50", "p99", "scorer_us", "nginx_us")} for label in started}
            ratio = med["batched"]["rps"] / med["unbatched"]["rps"] if med["unbatched"]["rps"] else float("nan")
            u, b = med["unbatched"], med["batched"]
            print(f"| {c} | {u['rps']:,.0f} | {b['rps']:,.0f} | {ratio:.2f} | {u['p99']:.1f} | {b['p99']:.1f} "
                  f"| {u['scorer_us']:,.0f}, {b['scorer_us']:,.0f} | {u['nginx_us']:,.0f}, {b['nginx_us']:,.0f} |")
            if c == 1:
                bound = med["unbatched"]["p99"] + batching.max_latency_ms + 1
                print(f"  1 connection: ratio >= 0.95 {'met' if ratio >= 0.95 else 'NOT met'}; p99 within "
                      f"maxLatencyMs + 1 ms of unbatched ({bound:.1f} ms) "
                      f"{'met' if med['batched']['p99'] <= bound else 'NOT met'}")
            if c == 64:
                goal = 5.0 if example == "forest" else 1.2
                print(f"  64 connections: ratio >= {goal} {'met' if ratio >= goal else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", default="1,64")
    parser.add_argument("--models", default="forest,diabetes")
    args, _ = parser.parse_known_args()
    run(args.duration, args.rounds, [int(c) for c in args.connections.split(",")], args.models.split(","))


if __name__ == "__main__":
    main()
