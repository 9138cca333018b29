"""serve --containers' translation of a synthesized container app into one pod (no engine needed):
the template's two containers, their limits, probes and the gateway's secret volume."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from mldeploy.runtime.synthesized_pod import PodSourceError
from mldeploy.targets.containerapp.containers import containers
from tests.components.test_containerapp import APP, _declare

ONE_REVISION = SimpleNamespace(revisions=None)  # the service's settings as the hook reads them


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
    found = containers(synth_dir, "diabetes-aca", ONE_REVISION, lambda image: f"local/{image.rsplit('/', 1)[1]}", None)
    pod, port = found.pod, found.gateway_port
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
        containers(synth_dir, "other", ONE_REVISION, lambda image: image, None)


def test_labelled_revisions_run_as_one_pod_each_with_the_synthesized_weights(tmp_path, trained_model):
    """Stack containerapp: blue (diabetes, 90 %) and green (diabetes-v2, the template's, 10 %)."""
    from mldeploy.runtime.pod import DEPLOYMENT_LABEL
    from mldeploy.targets.serving import SplitContainers
    from tests.containers.synthesized import synth_to
    from mldeploy.targets.stack import load_stack
    from tests.harness import ROOT

    out = synth_to("containerapp", tmp_path / "synth")
    service = load_stack(ROOT, "containerapp").services["diabetes-aca"]
    split = containers(out, "diabetes-aca", service, lambda ref: f"local/{ref.split('@')[0].split('/', 1)[1]}", None)
    assert isinstance(split, SplitContainers), split
    assert {label: weight for label, (_, weight) in split.pods.items()} == {"blue": 90, "green": 10}
    scorers = {label: src.inputs.images[src.inputs.spec["containers"][0]["image"]]
               for label, (src, _) in split.pods.items()}
    assert scorers == {"blue": "local/diabetes", "green": "local/diabetes-v2"}, "each label runs its own model version"
    assert {label: src.inputs.labels for label, (src, _) in split.pods.items()} == {
        "blue": {DEPLOYMENT_LABEL: "blue"}, "green": {DEPLOYMENT_LABEL: "green"}}
    assert all(src.keys == split.keys and split.keys[0] in src.inputs.secrets["gateway"]["keys.map"]
               for src, _ in split.pods.values()), "one pair of keys (app secrets) in every revision's gateway"
    assert split.gateway_port == 8890


def test_an_app_without_app_insights_runs_its_synthesized_revisions(tmp_path, trained_model):
    """The hook reads `configuration.ingress` of the synthesized app: without App Insights it was
    masked whole (a TypeError here); now only the secrets' values are."""
    from tests.containers.synthesized import synth_to
    from tests.harness import stack_values
    from mldeploy.targets.stack import load_stack
    from tests.harness import ROOT

    values, _ = stack_values("containerapp")
    values["mldeploy:services"]["diabetes-aca"]["appInsightsEnabled"] = False
    out = synth_to("containerapp", tmp_path / "synth", values)
    service = load_stack(ROOT, "containerapp").services["diabetes-aca"]
    split = containers(out, "diabetes-aca", service, lambda ref: f"local/{ref.split('@')[0].split('/', 1)[1]}", None)
    assert {label: weight for label, (_, weight) in split.pods.items()} == {"blue": 90, "green": 10}
    scorer_env = {e["name"] for e in split.pods["green"][0].inputs.spec["containers"][0]["env"]}
    assert "AML_APP_INSIGHTS_KEY" not in scorer_env, "no App Insights key without App Insights"
    assert split.gateway_port == 8890
