"""Real scorers behind real gateways on 127.0.0.1, started once per test session and shared."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mldeploy.targets.local.settings import LocalServiceSettings
from mldeploy.config.stack import ImageSettings
from mldeploy.plan.models import resolve_model
from mldeploy.config.stack import ModelSettings
from mldeploy.render.build_context import render_build_context
from mldeploy.runtime.env import ensure_env
from mldeploy.runtime.local import LocalServer
from tests.harness import ROOT
from tests.runtime.plans import plan_of

DIABETES = ROOT / "examples" / "diabetes"
ECHO = ROOT / "examples" / "binary-echo"
ORIGIN = "https://app.example"


def _context(script: Path, models: list, root: Path = ROOT, scoring_server: str | None = None):
    """The build context of `script` (under `root`) with the diabetes environment file."""
    image = ImageSettings.model_validate({
        "entryScript": str(script.relative_to(root)), "condaFile": "examples/diabetes/myenv.yml",
        "models": [m.name for m in models] or ["none"],
        **({"scoringServer": scoring_server} if scoring_server else {})}, context={"root": root})
    return render_build_context(script.parent.name, image, models, root)


def _script_context(tmp_path_factory, name: str, script_text: str, scoring_server: str | None = None):
    """The build context of a throwaway `<name>/score.py` in its own project folder, with the
    diabetes environment file byte for byte, so the cached scoring environment is reused."""
    root = tmp_path_factory.mktemp(f"{name}-project")
    (root / name).mkdir()
    (root / name / "score.py").write_text(script_text)
    (root / "examples" / "diabetes").mkdir(parents=True)
    shutil.copy(DIABETES / "myenv.yml", root / "examples" / "diabetes" / "myenv.yml")
    return _context(root / name / "score.py", [], root, scoring_server)


def _diabetes_model():
    return resolve_model("diabetes", ModelSettings.model_validate(
        {"path": "examples/diabetes/outputs/sklearn_regression_model.pkl", "version": 1},
        context={"root": ROOT}), ROOT)


@pytest.fixture(scope="session")
def scoring_env(trained_model):
    # The diabetes environment also serves the echo example (it holds the inference server).
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail("nginx is not installed: `apt-get install nginx-light` (the runtime tests need it)")
    return ensure_env("conda", (DIABETES / "myenv.yml").read_text(), progress=lambda m: None)


def _serve(name, service, context, env, tmp_path_factory):
    server = LocalServer(plan_of(name, service), context, env, tmp_path_factory.mktemp(name), port=0)
    server.start(timeout=120)
    return server


@pytest.fixture(scope="session")
def diabetes_server(scoring_env, tmp_path_factory):
    """Diabetes behind the gateway: auth on, CORS for one origin, a 1 MB body limit."""
    model = _diabetes_model()
    service = LocalServiceSettings.model_validate({
        "target": "local", "image": "diabetes", "workerCount": 1, "maxRequestBodyMb": 1,
        "cors": {"allowedOrigins": [ORIGIN]}})
    server = _serve("diabetes", service, _context(DIABETES / "score.py", [model]), scoring_env, tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def echo_server(scoring_env, tmp_path_factory):
    """The guide's @rawhttp example behind the gateway: auth on, CORS off (the defaults)."""
    service = LocalServiceSettings.model_validate({"target": "local", "image": "echo", "workerCount": 1})
    server = _serve("echo", service, _context(ECHO / "score.py", []), scoring_env, tmp_path_factory)
    yield server
    server.stop()
