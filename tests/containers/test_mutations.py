"""Mutations of the synthesized pod that the suite must catch: each mutated pod is run exactly
like the real one (tests/containers/prod.py) and must not become Ready, where the unmutated pod
is Ready in about ten seconds on this machine (the wait: three 10 s readiness periods)."""
from __future__ import annotations

import pytest
import yaml

from mldeploy.runtime.pod import PodError
from tests.containers.prod import start_pod
from tests.containers.synthesized import SynthesizedPod

NOT_READY_WITHIN_S = 30  # three of the slowest readiness periods (10 s); Ready takes ~10 s


def collector_on_loopback(spec: SynthesizedPod) -> None:
    for name, data in spec.inputs.config_maps.items():
        if "vector.yaml" in data:
            conf = yaml.safe_load(data["vector.yaml"])
            port = conf["sources"]["mdc"]["address"].rsplit(":", 1)[1]
            conf["sources"]["mdc"]["address"] = f"127.0.0.1:{port}"
            data["vector.yaml"] = yaml.safe_dump(conf)


def _container(spec: SynthesizedPod, name: str) -> dict:
    return next(c for c in spec.inputs.spec["containers"] if c["name"] == name)


def gateway_run_dir_unmounted(spec: SynthesizedPod) -> None:
    """nginx's pid/temp folder falls back to the read-only root filesystem."""
    gateway = _container(spec, "gateway")
    gateway["volumeMounts"] = [m for m in gateway["volumeMounts"] if m["name"] not in ("gateway-run", "gateway-temp")]


def keys_secret_unmounted(spec: SynthesizedPod) -> None:
    """The keys Secret mounted, but not where nginx.conf includes it from."""
    gateway = _container(spec, "gateway")
    for m in gateway["volumeMounts"]:
        if m["name"] == "gateway-keys":
            m["mountPath"] = "/etc/mldeploy/elsewhere"


@pytest.mark.parametrize("mutate", [collector_on_loopback, gateway_run_dir_unmounted, keys_secret_unmounted])
def test_mutated_pod_never_becomes_ready(engine, standins, prod_synth, prod_images, work_dir, mutate):
    running = start_pod(engine, prod_synth, prod_images, standins.images, work_dir,
                        f"mut-{mutate.__name__.replace('_', '-')}", mutate=mutate)
    try:
        with pytest.raises(PodError) as caught:
            running.pod.wait_ready(NOT_READY_WITHIN_S)
        assert "not Ready" in str(caught.value)
    finally:
        running.pod.remove()
