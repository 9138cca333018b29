"""The dev stack's ACI container group (gateway + scorer) as synthesized, run as one pod: the
group's containers, commands, ports, env, cpu/memory, probes and its secret volume (nginx.conf
as synthesized, a fresh keys map: synth masks the volume) translated to the pod runner."""
from __future__ import annotations

import json

import joblib
import numpy as np
import pytest

from mldeploy.runtime.client import score
from mldeploy.runtime.gateway import KEYS_MAP_NAME, render_keys_map
from mldeploy.runtime.pod import LocalPod, PodInputs
from mldeploy.runtime.synthesized_pod import local_image, new_key
from tests.containers import RUN_PREFIX
from tests.containers.synthesized import standin_for
from tests.harness import ROOT

SAMPLE = ROOT / "examples" / "diabetes" / "sample-request.json"
SERVICE = "diabetes-aci"
FAKE_SECURE = "00000000-0000-0000-0000-000000000000"  # AML_APP_INSIGHTS_KEY (masked in synth)


def group_inputs(synth_dir) -> dict:
    resources = json.loads((synth_dir / "resources.json").read_text())
    return next(r["inputs"] for r in resources if r["type"].endswith(":ContainerGroup"))


def _probe(p: dict) -> dict:
    out = {k: int(v) for k, v in p.items() if k != "httpGet"}
    h = p["httpGet"]
    out["httpGet"] = {"path": h["path"], "port": int(h["port"]), "scheme": h["scheme"].upper()}
    return out


def as_pod_spec(group: dict, volume_mounts_for: dict) -> dict:
    """ACI container group -> the pod runner's (Kubernetes-shaped) spec; requests are ACI's limits."""
    containers = []
    for c in group["containers"]:
        res = c["resources"]["requests"]
        spec = {
            "name": c["name"], "image": c["image"],
            "ports": [{"containerPort": int(p["port"])} for p in c.get("ports", [])],
            "env": [{"name": e["name"], "value": e["value"] if "value" in e else FAKE_SECURE}
                    for e in c.get("environmentVariables", [])],
            "resources": {"limits": {"cpu": str(res["cpu"]), "memory": f"{int(res['memoryInGB'] * 1024)}Mi"}},
            "volumeMounts": [{"name": m["name"], "mountPath": m["mountPath"], "readOnly": m.get("readOnly", False)}
                             for m in c.get("volumeMounts", [])],
        }
        if "command" in c:
            spec["command"] = c["command"]
        for kind in ("livenessProbe", "readinessProbe"):
            if kind in c:
                spec[kind] = _probe(c[kind])
        containers.append(spec)
    volumes = [{"name": name, "secret": {"secretName": name}} for name in volume_mounts_for]
    return {"containers": containers, "volumes": volumes, "terminationGracePeriodSeconds": 30}


@pytest.fixture(scope="module")
def aci(engine, standins, dev_synth, dev_images, work_dir):
    group = group_inputs(dev_synth)
    keys = (new_key(), new_key())
    secrets = {"gateway": {"nginx.conf": (dev_synth / "gateway" / SERVICE / "nginx.conf").read_text(),
                           KEYS_MAP_NAME: render_keys_map(*keys)}}
    spec = as_pod_spec(group, secrets)
    images = {c["image"]: local_image(c["image"], dev_images, dev_synth, lambda up: standin_for(up, standins.images))
              for c in spec["containers"]}
    pod = LocalPod(engine, f"{RUN_PREFIX}-aci", PodInputs(spec=spec, secrets=secrets, images=images),
                   work_dir / "aci-pod")
    pod.start()
    port = int(group["ipAddress"]["ports"][0]["port"])
    try:
        pod.wait_ready(240)
        yield pod, keys, f"http://{pod.ip}:{port}/score"
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
