"""Checks over running containers that return what is wrong (None when all is well), so the
same check runs on the synthesized artifacts (must pass) and on mutated ones (must fail)."""
from __future__ import annotations

import json
import time
import uuid

from mldeploy.runtime.containers import Engine


def healthcheck_problem(engine: Engine, image: str, timeout: float = 90.0) -> str | None:
    """Run `image` as built; None once its HEALTHCHECK reports healthy, else what went wrong."""
    data = json.loads(engine.out("image", "inspect", image))[0]
    # podman reports it at the top level, docker under Config.
    test = (data.get("Healthcheck") or (data.get("Config") or {}).get("Healthcheck") or {}).get("Test")
    if not test or test == ["NONE"]:
        return f"{image} has no HEALTHCHECK"
    name = f"mldeploy-hc-{uuid.uuid4().hex[:8]}"
    engine.run("run", "-d", "--name", name, image)
    try:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            done = engine.run("healthcheck", "run", name, check=False, timeout=30)
            if done.returncode == 0:
                return None
            last = (done.stdout or done.stderr).decode(errors="replace").strip().splitlines()[-1:] or [""]
            state = (engine.inspect(name) or {}).get("State", {})
            if not state.get("Running"):
                return f"{image}: the container exited ({state.get('ExitCode')}): {engine.logs(name, 5)}"
            time.sleep(2)
        return f"{image}: HEALTHCHECK {test} never healthy within {timeout:g} s (last: {last[0]})"
    finally:
        engine.remove(name)


def scorer_answered(pod) -> int:
    """How many `POST /score 200` lines the pod's scorer container has logged: both servers write
    one per answered request (azmlinfsrv's own line, and ours the same)."""
    done = pod.engine.run("logs", pod.cname("scorer"), check=False)
    return sum(" /score 200 " in line for line in (done.stdout + done.stderr).decode(errors="replace").splitlines())


def drain_losses(counts: dict[str, int], answered: int, connections: int, errors: tuple[str, ...]) -> str | None:
    """What a drain-under-wrk run lost, None when nothing: any non-2xx answer or timeout, or an
    answer the scorer made (`answered`, scorer_answered's difference over the run) that wrk never
    read. wrk's socket errors in `errors` are allowed only up to one per connection: a connection
    the kernel completed into the gateway's listen queue in the instant nginx closed its listener
    is reset by the kernel (inet_csk_listen_stop), and wrk counts that as a read or write error
    like a dropped request. No server closes a listener without that race unless something in
    front stops sending first (a Service's endpoints, a balancer); such a request reached no
    process, so the scorer's count tells the two apart."""
    lost = {k: counts[k] for k in ("non2xx", "timeout") if counts[k]}
    if lost:
        return f"requests lost: {lost}"
    if answered != counts["status 200"]:
        return f"the scorer answered {answered} requests, wrk read {counts['status 200']}: answers lost"
    socket_errors = sum(counts[k] for k in errors)
    if socket_errors > connections:
        return f"{socket_errors} {'/'.join(errors)} errors for {connections} connections"
    return None

