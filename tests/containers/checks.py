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
