"""The dev stack's ACI container group (gateway + scorer) as synthesized, run as one pod: the
group's containers, commands, ports, env, cpu/memory, probes and its secret volume (nginx.conf
as synthesized, a fresh keys map: synth masks the volume) translated to the pod runner."""
from __future__ import annotations

import json

import joblib
import numpy as np
import pytest

from mldeploy.runtime.client import score
from mldeploy.runtime.pod import LocalPod
from mldeploy.runtime.synthesized_pod import local_image, synthesized_group
from tests.containers import RUN_PREFIX
from tests.containers.synthesized import standin_for
from tests.harness import ROOT

SAMPLE = ROOT / "examples" / "diabetes" / "sample-request.json"
SERVICE = "diabetes-aci"


@pytest.fixture(scope="module")
def aci(engine, standins, dev_synth, dev_images, work_dir):
    src = synthesized_group(dev_synth, SERVICE,
                            lambda ref: local_image(ref, dev_images, dev_synth,
                                                    lambda up: standin_for(up, standins.images)))
    pod = LocalPod(engine, f"{RUN_PREFIX}-aci", src.inputs, work_dir / "aci-pod")
    pod.start()
    try:
        pod.wait_ready(240)
        yield pod, src.keys, f"http://{pod.ip}:{src.port}/score"
    finally:
        pod.remove()


def test_every_container_of_the_aci_group_becomes_ready(aci):
    pod, *_ = aci
    assert all(pod.readiness().values()), pod.describe()


def test_aci_gateway_answers_401_without_a_key(aci):
    _, _, uri = aci
    reply = score(uri, None, SAMPLE.read_bytes())
    assert reply.status == 401, f"{uri}: {reply.status}"


def test_aci_scores_like_the_model_with_the_secondary_key(aci, trained_model):
    _, keys, uri = aci
    reply = score(uri, keys[1], SAMPLE.read_bytes())
    assert reply.status == 200, f"{uri}: {reply.status} {reply.error or reply.text()[:200]}"
    rows = json.loads(SAMPLE.read_text())["data"]
    expected = joblib.load(trained_model).predict(np.asarray(rows, dtype=float))
    assert np.allclose(json.loads(reply.body), expected)
