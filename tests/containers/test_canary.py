"""The prod-attach canary as synthesized: the stable and canary pods, each gateway splitting by
the weights of the service's traffic ConfigMap between its own scorer and the other variant's
scorer Service (the Service's cluster DNS name resolves to that pod's IP through /etc/hosts). The
split is counted in the scorers' own access logs over 1,000 requests and must be within 5 points
of the weights. Then the weights move the way `pulumi up` + the kubelet move them - the mounted
traffic files replaced by a rename, nothing else - and the running gateway (same container,
same nginx master) splits by the new weights."""
from __future__ import annotations

import json
import os
import re
import time

from mldeploy.runtime.client import score
from tests.containers.prod import NAMESPACE, prepare_pod
from tests.containers.synthesized import load_objects
from tests.harness import ROOT

SAMPLE = ROOT / "examples" / "diabetes" / "sample-request.json"
REQUESTS = 1000
TOLERANCE_POINTS = 5
MOVED_WEIGHT = 50


def _scored(engine, container: str) -> int:
    done = engine.run("logs", container, check=False)
    text = (done.stdout + done.stderr).decode(errors="replace")
    # azmlinfsrv's own line for each request the scorer answered (`... azmlinfsrv - POST /score
    # 200 1.3ms 39`; gunicorn's access log, which repeated it, is off: scoring/scorer_host.py).
    return len(re.findall(r"azmlinfsrv - POST /score 200 ", text))


def _split(engine, stable, canary) -> tuple[float, int, dict]:
    before = {r.pod.name: _scored(engine, r.pod.cname("scorer")) for r in (stable, canary)}
    failed = 0
    for _ in range(REQUESTS):
        reply = score(f"{stable.base}/score", stable.spec.keys[0], SAMPLE.read_bytes(), cafile=stable.cafile)
        failed += reply.status != 200
    after = {r.pod.name: _scored(engine, r.pod.cname("scorer")) for r in (stable, canary)}
    served = {name: after[name] - before[name] for name in after}
    total = sum(served.values())
    assert total == REQUESTS, f"the scorers logged {served}, not {REQUESTS} requests"
    return 100 * served[canary.pod.name] / total, failed, served


def _gateway_identity(engine, running) -> tuple[str, str]:
    """(the gateway container's start time, its nginx master's pid): both stay on a reload."""
    started = (engine.inspect(running.pod.cname("gateway")) or {}).get("State", {}).get("StartedAt", "")
    pid = (running.pod.workdir / "volumes" / "gateway-run" / "nginx.pid").read_text().strip()
    return started, pid


def _move_weights(running, weight: int) -> None:
    """What the kubelet does with an updated ConfigMap volume: the new content appears by a
    rename (its atomic writer swaps a symlinked folder); here each file is replaced by a rename."""
    folder = running.pod.workdir / "volumes" / "gateway-traffic"
    for path in folder.glob("*.conf"):
        staged = folder / f".{path.name}.new"
        staged.write_text(re.sub(r"weight=\d+", f"weight={weight}", path.read_text()))
        staged.chmod(0o644)
        os.replace(staged, path)


def _reloaded(engine, running, deadline_s: float = 90) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if "changed: reloading nginx" in engine.logs(running.pod.cname("gateway"), tail=200):
            return True
        time.sleep(1)
    return False


def test_canary_split_follows_the_traffic_config_map_without_a_restart(engine, standins, canary_synth,
                                                                        canary_images, work_dir):
    traffic = load_objects(canary_synth, NAMESPACE)[("ConfigMap", "diabetes-traffic")]
    weight = json.loads(traffic["metadata"]["annotations"]["mldeploy.io/traffic-weights"])["diabetes-canary"]
    stable = prepare_pod(engine, canary_synth, canary_images, standins.images, work_dir, "canary-stable",
                         deployment="diabetes")
    canary = prepare_pod(engine, canary_synth, canary_images, standins.images, work_dir, "canary-canary",
                         deployment="diabetes-canary", mutate=lambda spec: _same_secrets(spec, stable))
    try:
        ips = {"diabetes": stable.pod.create_sandbox(), "diabetes-canary": canary.pod.create_sandbox()}
        # Cluster DNS: each variant's scorer Service name -> its (single) pod.
        hosts = {f"{dep}-scorer.{NAMESPACE}.svc.cluster.local": ip for dep, ip in ips.items()}
        for running in (stable, canary):
            running.pod.append_hosts(hosts)
            running.pod.start()
            running.base = f"https://{running.pod.ip}:{running.port}"
        for running in (stable, canary):
            running.pod.wait_ready(240)
        first, failed_first, served_first = _split(engine, stable, canary)
        identity = _gateway_identity(engine, stable)
        for running in (stable, canary):
            _move_weights(running, MOVED_WEIGHT)
        reloaded = all(_reloaded(engine, r) for r in (stable, canary))
        time.sleep(2)  # the old workers finish; new connections go to the reloaded ones
        moved, failed_moved, served_moved = _split(engine, stable, canary) if reloaded else (0.0, 0, {})
        identity_after = _gateway_identity(engine, stable)
        restarts = {r.pod.name: r.pod.restarts() for r in (stable, canary)}
    finally:
        for running in (stable, canary):
            running.pod.remove()
    print(f"canary split: {served_first} = {first:.1f} % canary (weight {weight} %), {failed_first} failed; "
          f"after the move to {MOVED_WEIGHT} %: {served_moved} = {moved:.1f} %, {failed_moved} failed")
    assert failed_first == 0, f"{failed_first} of {REQUESTS} requests failed"
    assert abs(first - weight) <= TOLERANCE_POINTS, f"canary got {first:.1f} %, weight {weight} %"
    assert reloaded, "the gateways never logged a reload after their traffic file changed"
    assert failed_moved == 0, f"{failed_moved} of {REQUESTS} requests failed after the weight move"
    assert abs(moved - MOVED_WEIGHT) <= TOLERANCE_POINTS, f"canary got {moved:.1f} %, new weight {MOVED_WEIGHT} %"
    assert identity_after == identity, f"the stable gateway was restarted: {identity} -> {identity_after}"
    assert all(n == 0 for r in restarts.values() for n in r.values()), f"no container restarts: {restarts}"


def _same_secrets(spec, stable) -> None:
    spec.inputs.secrets.update(stable.spec.inputs.secrets)
    spec.keys = stable.spec.keys
