"""An image with a sourceDirectory (examples/diabetes-src: score.py importing bands.py and the
features/ package beside it), built from its synthesized build context and run: the modules are in
/var/azureml-app with the script, on its import path, and it scores."""
from __future__ import annotations

import json

import joblib
import numpy as np

from mldeploy.runtime.processes import free_port
from tests.containers import RUN_PREFIX, first_200
from tests.containers.synthesized import build_images, synth_to
from tests.harness import ROOT, stack_values

SAMPLE = ROOT / "examples" / "diabetes" / "sample-request.json"


def assert_banded_predictions(body: bytes, trained_model) -> None:
    """examples/diabetes-src's answer for SAMPLE: each row's prediction, and the band its helper
    module (bands.py) gives it."""
    rows = json.loads(SAMPLE.read_text())["data"]
    expected = joblib.load(trained_model).predict(np.asarray(rows, dtype=float))
    answer = json.loads(body)
    assert np.allclose([r["progression"] for r in answer], expected), answer
    assert [r["band"] for r in answer] == ["high" if v >= 200 else "low" for v in expected], answer


def test_the_modules_beside_score_py_are_in_the_image_and_it_scores(engine, standins, work_dir, trained_model):
    values, _ = stack_values("local")
    image = values["mldeploy:images"]["diabetes"]
    image.update(sourceDirectory="examples/diabetes-src/src", entryScript="score.py")
    out = synth_to("local", work_dir / "synth-local-src", values=values)
    assert "COPY app/ /var/azureml-app/" in (out / "images" / "diabetes" / "Dockerfile").read_text()
    built = build_images(engine, out, work_dir / "logs")["diabetes"]
    container, port = f"{RUN_PREFIX}-src", free_port()
    engine.remove(container)
    engine.run("run", "-d", "--name", container, "-p", f"127.0.0.1:{port}:5001", built)
    try:
        reply = first_200(engine, container, f"http://127.0.0.1:{port}/score", SAMPLE.read_bytes())
        assert_banded_predictions(reply.body, trained_model)
    finally:
        engine.remove(container)
