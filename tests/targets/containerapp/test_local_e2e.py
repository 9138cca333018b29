"""`serve` of a containerapp service, on real nginx + scorers: each labelled revision runs its own
model version behind its own gateway, and the ingress splits the requests by trafficPercent."""
from __future__ import annotations

import json

import pytest

from mldeploy.config.stack import ImageSettings, ModelSettings
from mldeploy.plan.models import resolve_model
from mldeploy.render.build_context import render_build_context
from mldeploy.runtime.client import score
from mldeploy.runtime.env import ensure_env
from mldeploy.targets.containerapp.config import ContainerAppServiceSettings
from mldeploy.targets.containerapp.local import LocalRevisions
from tests.harness import ROOT

SAMPLE = (ROOT / "examples" / "diabetes" / "sample-request.json").read_bytes()
MODELS = {"diabetes": ("diabetes", "examples/diabetes/outputs/sklearn_regression_model.pkl", 1),
          "diabetes-v2": ("diabetes", "examples/diabetes/outputs/v2/sklearn_regression_model.pkl", 2)}


@pytest.fixture(scope="module")
def assets(trained_model):
    contexts = {}
    for image, (registered, path, version) in MODELS.items():
        model = resolve_model(image, ModelSettings.model_validate(
            {"path": path, "version": version, "registeredName": registered}, context={"root": ROOT}), ROOT)
        settings = ImageSettings.model_validate({"entryScript": "examples/diabetes/score.py",
                                                 "condaFile": "examples/diabetes/myenv.yml", "models": [image]},
                                                context={"root": ROOT})
        contexts[image] = render_build_context(image, settings, [model], ROOT)
    env = ensure_env("conda", (ROOT / "examples/diabetes/myenv.yml").read_text(), progress=lambda m: None)
    return contexts, {image: env for image in contexts}


def _serve(assets, tmp_path, blue: int, green: int) -> LocalRevisions:
    service = ContainerAppServiceSettings.model_validate({
        "target": "containerapp", "image": "diabetes-v2",
        "revisions": {"blue": {"image": "diabetes", "trafficPercent": blue},
                      "green": {"image": "diabetes-v2", "trafficPercent": green}}})
    runner = LocalRevisions("diabetes-aca", service, *assets, tmp_path, port=0)
    runner.start(timeout=120)
    return runner


def _answers(endpoint, n: int) -> list[str]:
    replies = [score(endpoint.scoringUri, endpoint.primaryKey, SAMPLE, "application/json") for _ in range(n)]
    assert all(r.ok for r in replies), [(r.status, r.text()[:200]) for r in replies if not r.ok]
    return [json.dumps(json.loads(r.text()), sort_keys=True) for r in replies]


def test_the_split_follows_the_revision_labels(assets, tmp_path):
    runner = _serve(assets, tmp_path, 50, 50)
    try:
        endpoint = runner.endpoint()
        answers = _answers(endpoint, 8)
        assert len(set(answers)) == 2, f"blue (diabetes:1) and green (diabetes:2) both answer at 50/50: {answers}"
        unauthorized = score(endpoint.scoringUri, None, SAMPLE, "application/json")
        assert unauthorized.status == 401, "the keys are checked"
    finally:
        runner.stop()


def test_a_revision_at_zero_percent_gets_no_request(assets, tmp_path):
    runner = _serve(assets, tmp_path, 0, 100)
    try:
        green_only = set(_answers(runner.endpoint(), 6))
    finally:
        runner.stop()
    runner = _serve(assets, tmp_path / "blue", 100, 0)
    try:
        blue_only = set(_answers(runner.endpoint(), 6))
    finally:
        runner.stop()
    assert len(green_only) == 1 and len(blue_only) == 1 and green_only != blue_only, \
        f"100 % to one label: only its model version answers (green {green_only}, blue {blue_only})"
