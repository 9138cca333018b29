"""serve --containers' translation of a synthesized container app into one pod (no engine needed):
the template's two containers, their limits, probes and the gateway's secret volume."""
from __future__ import annotations

import json

import pytest

from mldeploy.runtime.synthesized_pod import PodSourceError
from mldeploy.targets.containerapp.containers import containers
from tests.components.test_containerapp import APP, _declare


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    _, declared, out = _declare(appInsightsEnabled=True)
    folder = tmp_path_factory.mktemp("synth")
    app = declared.one(APP)
    (folder / "resources.json").write_text(json.dumps([{"type": APP, "name": app["name"], "inputs": app["inputs"]}]))
    (folder / "gateway" / "diabetes-aca").mkdir(parents=True)
    (folder / "gateway" / "diabetes-aca" / "nginx.conf").write_text(out["component"].gateway_conf)
    return folder


def test_the_template_runs_as_one_pod_with_its_gateway_published(synth_dir):
    pod, port = containers(synth_dir, "diabetes-aca", None, lambda image: f"local/{image.rsplit('/', 1)[1]}", None)
    spec = pod.inputs.spec
    assert port == 8890, "the ingress target port: the gateway"
    assert [c["name"] for c in spec["containers"]] == ["scorer", "gateway"]
    limits = {c["name"]: c["resources"]["limits"] for c in spec["containers"]}
    assert limits == {"scorer": {"cpu": "0.75", "memory": "1536Mi"}, "gateway": {"cpu": "0.25", "memory": "512Mi"}}
    gateway = spec["containers"][1]
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz" and "readinessProbe" in gateway
    assert sorted(pod.inputs.secrets["gateway"]) == ["keys.map", "nginx.conf"]
    assert pod.keys[0] in pod.inputs.secrets["gateway"]["keys.map"], "fresh keys fill the masked keys map"
    insights = {e["name"]: e["value"] for e in spec["containers"][0]["env"]}["AML_APP_INSIGHTS_KEY"]
    assert insights == "00000000-0000-0000-0000-000000000000", "a key of no workspace stands in for the secret"


def test_a_service_without_a_container_app_is_a_clear_error(synth_dir):
    with pytest.raises(PodSourceError, match="no container app of service 'other'"):
        containers(synth_dir, "other", None, lambda image: image, None)
