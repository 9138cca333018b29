"""An ONNX model as a user brings one: skl2onnx of a random forest, `mldeploy init --model
forest.onnx` into an empty folder, `mldeploy synth --stack dev`, the dev image built with the
engine from that build context unchanged, and run as the dev target's scorer runs (its
WORKER_COUNT, a CPU limit of its share of the group): init's sample request answers 200 with
ONNX Runtime's own predictions (computed here, in this process), a malformed row a 400 naming
it, and the scorer reads the container's CPU limit for its math libraries' threads."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mldeploy.project import ONNXRUNTIME_PIN
from mldeploy.runtime.client import score
from mldeploy.runtime.processes import free_port
from tests.containers import RUN_PREFIX, first_200
from tests.containers.synthesized import build_images

MLDEPLOY = str(Path(sys.executable).parent / "mldeploy")
NAME = "forest"  # init names the service, the image and the model after the file


def _mldeploy(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([MLDEPLOY, *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"mldeploy {' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="module")
def onnx_model(work_dir) -> Path:
    """The same bytes every run (fixed seed): only the model's layer of the image is rebuilt when they change."""
    from skl2onnx import to_onnx
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor

    x, y = load_diabetes(return_X_y=True)
    x = x.astype(np.float32)
    path = work_dir / "onnx-training" / f"{NAME}.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    model = RandomForestRegressor(n_estimators=30, max_depth=6, random_state=0).fit(x, y)
    path.write_bytes(to_onnx(model, x[:1]).SerializeToString())
    return path


@pytest.fixture(scope="module")
def onnx_project(work_dir, onnx_model) -> Path:
    project = work_dir / "onnx-project"
    project.mkdir()
    _mldeploy("init", "--model", str(onnx_model), cwd=project)
    _mldeploy("synth", "--stack", "dev", cwd=project)
    return project


def _dev_scorer(project: Path) -> tuple[str, float]:
    """The dev stack's scorer as the container group declares it: its WORKER_COUNT and CPU."""
    resources = json.loads((project / "build" / "synth" / "dev" / "resources.json").read_text())
    group = next(r for r in resources if r["type"].endswith(":ContainerGroup"))
    scorer = next(c for c in group["inputs"]["containers"] if c["name"] == "scorer")
    env = {e["name"]: e.get("value") for e in scorer["environmentVariables"]}
    return env["WORKER_COUNT"], float(scorer["resources"]["requests"]["cpu"])


def test_an_init_project_s_onnx_model_scores_in_its_dev_image(engine, standins, work_dir, onnx_model, onnx_project):
    import onnxruntime

    assert f"onnxruntime=={onnxruntime.__version__}" == ONNXRUNTIME_PIN, "the tests' ONNX Runtime must be init's pin"
    image = build_images(engine, onnx_project / "build" / "synth" / "dev", work_dir / "logs")[NAME]
    workers, cpus = _dev_scorer(onnx_project)
    container, port = f"{RUN_PREFIX}-onnx", free_port()
    engine.remove(container)
    engine.run("run", "-d", "--name", container, "--cpus", f"{cpus:g}", "-e", f"WORKER_COUNT={workers}",
               "-p", f"127.0.0.1:{port}:5001", image)
    try:
        uri = f"http://127.0.0.1:{port}/score"
        sample = (onnx_project / "sample-request.json").read_bytes()
        reply = first_200(engine, container, uri, sample)
        rows = np.asarray(json.loads(sample)["data"], dtype=np.float32)
        expected = onnxruntime.InferenceSession(str(onnx_model), providers=["CPUExecutionProvider"]).run(
            None, {"X": rows})[0][:, 0]
        assert np.allclose(json.loads(reply.body), expected, rtol=1e-6), (reply.text(), expected.tolist())

        bad = score(uri, None, json.dumps({"data": [[0.0] * 10, [1.0] * 9]}).encode())
        assert bad.status == 400, f"{bad.status} {bad.text()}"
        assert json.loads(bad.body) == {"error": "row 1 must be a list of 10 values"}, bad.text()

        logs = engine.logs(container, 200)
        chosen = (f"mldeploy: {workers} worker(s) on {cpus:g} CPU(s): 1 math-library thread(s) per worker "
                  "(ORT_INTRA_OP_NUM_THREADS, ")
        assert chosen in logs, f"the scorer must read the container's CPU limit ({cpus:g}) for its threads:\n{logs}"
    finally:
        engine.remove(container)
