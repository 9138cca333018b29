"""A rolling update of the prod Deployment to a new model version, as its strategy says
(maxSurge 1, maxUnavailable 0, minReadySeconds): the new pod starts beside the old one, gets
traffic only once Ready, then the old pod is deleted (preStop, drain). A steady client through
a Service on 127.0.0.1 (tests/containers/service_proxy.py playing kube-proxy) sees no failure."""
from __future__ import annotations

import threading
import time

from mldeploy.runtime.client import score
from tests.containers.prod import READY_WITHIN_S, start_pod
from tests.containers.service_proxy import ServiceProxy
from tests.containers.synthesized import build_images, synth_to
from tests.harness import ROOT, stack_values

SAMPLE = ROOT / "examples" / "diabetes" / "sample-request.json"


def test_rolling_update_to_a_new_model_version_fails_no_request(engine, standins, prod_synth, prod_images, work_dir):
    values, _ = stack_values("prod")
    values["mldeploy:models"]["diabetes"]["version"] = 2
    v2_synth = synth_to("prod", work_dir / "synth-prod-v2", values=values)
    v2_images = build_images(engine, v2_synth, work_dir / "logs")
    assert v2_images["diabetes"] != prod_images["diabetes"], "version 2 must be a new image"

    old = start_pod(engine, prod_synth, prod_images, standins.images, work_dir, "roll-v1")
    new = None
    proxy = None
    statuses: list[int | None] = []
    stop = threading.Event()
    try:
        old.pod.wait_ready(READY_WITHIN_S)
        strategy = old.spec.deployment["spec"]["strategy"]["rollingUpdate"]
        assert (strategy["maxUnavailable"], strategy["maxSurge"]) == (0, 1), strategy
        min_ready_s = old.spec.deployment["spec"].get("minReadySeconds", 0)
        proxy = ServiceProxy(int(old.base.rsplit(":", 1)[1]))
        proxy.pods.append(old.pod)
        uri = f"https://127.0.0.1:{proxy.port}/score"

        def client() -> None:
            while not stop.is_set():
                statuses.append(score(uri, old.spec.keys[0], SAMPLE.read_bytes(), cafile=old.cafile, timeout=30).status)
                time.sleep(0.05)

        steady = threading.Thread(target=client)
        steady.start()
        # The new pod (its own keys: the test gives the same Secret values to both, as one stack does).
        new = start_pod(engine, v2_synth, v2_images, standins.images, work_dir, "roll-v2",
                        mutate=lambda spec: _same_secrets(spec, old))
        new.pod.wait_ready(READY_WITHIN_S)
        time.sleep(min_ready_s)  # available only after minReadySeconds
        proxy.pods.append(new.pod)
        before_delete = len(statuses)
        old.pod.terminate()  # leaves the endpoints at once, then preStop and drain
        time.sleep(3)
        stop.set()
        steady.join()
    finally:
        stop.set()
        if proxy:
            proxy.close()
        old.pod.remove()
        if new:
            new.pod.remove()
    failed = [s for s in statuses if s != 200]
    assert statuses and not failed, f"{len(failed)} of {len(statuses)} requests failed: {sorted(set(map(str, failed)))}"
    assert len(statuses) > before_delete and proxy.routed.get(new.pod.name), \
        f"the new pod took no traffic: routed {proxy.routed}"
    print(f"rolling update: {len(statuses)} requests, {len(failed)} failed, routed {proxy.routed}")


def _same_secrets(spec, old) -> None:
    """Both pods of one Deployment mount the same Secrets (keys, certificate)."""
    spec.inputs.secrets.update(old.spec.inputs.secrets)
    spec.keys = old.spec.keys
