"""The prod-attach canary as synthesized: the stable and canary pods, each gateway splitting by
the rendered weights between its own scorer and the other variant's scorer Service (the
Service's cluster DNS name resolves to that pod's IP through /etc/hosts). The split is counted
in the scorers' own access logs over 1,000 requests and must be within 5 points of the weights."""
from __future__ import annotations

import re

from mldeploy.runtime.client import score
from tests.containers.prod import NAMESPACE, prepare_pod
from tests.harness import ROOT

SAMPLE = ROOT / "examples" / "diabetes" / "sample-request.json"
REQUESTS = 1000
TOLERANCE_POINTS = 5


def _scored(engine, container: str) -> int:
    done = engine.run("logs", container, check=False)
    text = (done.stdout + done.stderr).decode(errors="replace")
    # azmlinfsrv's own line for each request the scorer answered (`... azmlinfsrv - POST /score
    # 200 1.3ms 39`; gunicorn's access log, which repeated it, is off: scoring/scorer_host.py).
    return len(re.findall(r"azmlinfsrv - POST /score 200 ", text))


def test_canary_split_is_within_five_points_of_the_weights(engine, standins, canary_synth, canary_images, work_dir):
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
        weight = int(canary.spec.deployment["spec"]["template"]["metadata"]["annotations"]["mldeploy.io/traffic-weight"])
        before = {r.pod.name: _scored(engine, r.pod.cname("scorer")) for r in (stable, canary)}
        failed = 0
        for _ in range(REQUESTS):
            reply = score(f"{stable.base}/score", stable.spec.keys[0], SAMPLE.read_bytes(), cafile=stable.cafile)
            failed += reply.status != 200
        after = {r.pod.name: _scored(engine, r.pod.cname("scorer")) for r in (stable, canary)}
    finally:
        for running in (stable, canary):
            running.pod.remove()
    served = {name: after[name] - before[name] for name in after}
    total = sum(served.values())
    canary_pct = 100 * served[canary.pod.name] / total if total else 0
    print(f"canary split: {served} = {canary_pct:.1f} % canary (weight {weight} %), {failed} failed")
    assert failed == 0, f"{failed} of {REQUESTS} requests failed"
    assert total == REQUESTS, f"the scorers logged {served}, not {REQUESTS} requests"
    assert abs(canary_pct - weight) <= TOLERANCE_POINTS, f"canary got {canary_pct:.1f} %, weight {weight} %"


def _same_secrets(spec, stable) -> None:
    spec.inputs.secrets.update(stable.spec.inputs.secrets)
    spec.keys = stable.spec.keys
