"""The build context: files, layer order, model layout, determinism."""
from __future__ import annotations

from mldeploy.targets.stack import load_stack
from mldeploy.plan.models import resolve_model
from mldeploy.render.build_context import render_build_context
from tests.harness import ROOT


def context(**image_changes):
    settings = load_stack(ROOT, "dev")
    image = settings.images["diabetes"].model_copy(update=image_changes)
    models = [resolve_model("diabetes", settings.models["diabetes"], ROOT)]
    return render_build_context("diabetes", image, models, ROOT)


def test_context_holds_dockerfile_env_script_and_model_in_azure_ml_layout():
    files = set(context().files)
    assert {"Dockerfile", "environment/conda.yml", "app/score.py",
            "azureml-models/diabetes/1/sklearn_regression_model.pkl"} <= files


def test_environment_layer_comes_before_script_and_model():
    lines = context().files["Dockerfile"].decode().splitlines()
    order = [next(i for i, l in enumerate(lines) if l.startswith(prefix))
             for prefix in ("RUN micromamba install", "COPY app/", "COPY azureml-models/")]
    assert order == sorted(order), f"layers out of order: {order}"


def test_runs_the_official_inference_server_as_non_root():
    dockerfile = context().files["Dockerfile"].decode()
    assert 'CMD ["python", "/opt/mldeploy/mldeploy_scorer_host.py", "--entry_script", "/var/azureml-app/score.py"' \
        in dockerfile, "the image runs the same scorer host as the local target"
    assert "AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/diabetes/1" in dockerfile
    assert "\nUSER " in dockerfile and "HEALTHCHECK" in dockerfile


def test_requirements_file_uses_pip_on_a_slim_python():
    ctx = context(conda_file=None, requirements_file="examples/diabetes/myenv.yml")
    dockerfile = ctx.files["Dockerfile"].decode()
    assert dockerfile.splitlines()[2] == "FROM python:3.11-slim"
    assert "pip install --no-cache-dir -r /tmp/requirements.txt" in dockerfile
    assert ctx.env_kind == "pip"


def test_server_is_added_only_when_the_environment_lacks_it(tmp_path):
    assert "pip install --no-cache-dir azureml-inference-server-http" not in context().files["Dockerfile"].decode()
    req = ROOT / "build" / "tests" / "requirements-without-server.txt"
    req.parent.mkdir(parents=True, exist_ok=True)
    req.write_text("scikit-learn\n")
    ctx = context(conda_file=None, requirements_file=str(req.relative_to(ROOT)))
    assert "azureml-inference-server-http==1.5.1" in ctx.files["Dockerfile"].decode()


def test_same_inputs_same_digest_and_any_change_a_new_one():
    assert context().digest == context().digest
    assert context(version=2).tag.startswith("2-") and context().tag.startswith("1-")
    assert context(base_image="python:3.12-slim").digest != context().digest


def test_an_azure_ml_base_image_is_azure_s_and_the_rehearsal_builds_on_micromamba():
    """A v2 endpoint image's own Azure ML base (plan/assets.endpoint_base_image) has conda, not the micromamba
    the conda path installs with: `serve --containers` would fail to build FROM it."""
    from mldeploy.render.build_context import MICROMAMBA_IMAGE
    azure = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20250701.v1"
    dockerfile = context(base_image=azure).files["Dockerfile"].decode()
    assert f"FROM {MICROMAMBA_IMAGE}" in dockerfile and f"FROM {azure}" not in dockerfile, dockerfile
    assert f"Azure ML builds this environment on {azure}" in dockerfile
    assert "FROM mambaorg/micromamba:1.5.8" in context(base_image="mambaorg/micromamba:1.5.8").files["Dockerfile"].decode()


def test_the_dockerfile_passes_checkov(tmp_path):
    import json
    import subprocess

    from tests.tools import checkov

    context().write(tmp_path / "ctx")
    proc = subprocess.run(
        [checkov(), "-d", str(tmp_path / "ctx"), "--framework", "dockerfile",
         "--skip-download", "--quiet", "--compact", "-o", "json"],
        capture_output=True, text=True,
    )
    report = json.loads(proc.stdout)
    assert report["summary"]["passed"] > 0, f"checkov checked nothing: {proc.stderr[-500:]}"
    failed = report["results"]["failed_checks"]
    assert failed == [], "checkov: " + ", ".join(f"{c['check_id']} {c['check_name']}" for c in failed)


def test_conda_image_puts_the_environment_on_path_for_healthcheck_and_exec():
    """HEALTHCHECK and `exec` bypass micromamba's activating entrypoint (issue 9 #18)."""
    lines = context().files["Dockerfile"].decode().splitlines()
    env_at = next(i for i, l in enumerate(lines) if l.startswith("ENV PATH=$MAMBA_ROOT_PREFIX/bin:$PATH"))
    assert env_at < next(i for i, l in enumerate(lines) if l.startswith("HEALTHCHECK"))


def test_conda_image_sets_user_so_the_entrypoint_keeps_the_pods_home():
    """micromamba-docker 1.5.10's entrypoint resets HOME when USER is unset (issue 9 #13)."""
    dockerfile = context().files["Dockerfile"].decode()
    assert "    USER=$MAMBA_USER" in dockerfile


V1_SCRIPT = ("from azureml.core.model import Model\n\ndef init():\n    global path\n"
             "    path = Model.get_model_path('diabetes')\n\ndef run(data):\n    return path\n")


def _v1_context(tmp_path, env_text: str):
    """The dev image with an SDK v1 entry script (the stack's own model) and `env_text`."""
    for rel, text in (("v1/score.py", V1_SCRIPT), ("v1/requirements.txt", env_text)):
        (ROOT / "build" / "tests" / rel).parent.mkdir(parents=True, exist_ok=True)
        (ROOT / "build" / "tests" / rel).write_text(text)
    return context(entry_script="build/tests/v1/score.py", conda_file=None,
                   requirements_file="build/tests/v1/requirements.txt")


def test_v1_script_gets_the_stand_in_and_the_model_manifest(tmp_path):
    import json

    ctx = _v1_context(tmp_path, "azureml-inference-server-http==1.5.1\nscikit-learn\n")
    assert {"app/azureml/__init__.py", "app/azureml/core/model.py",
            "app/azureml/contrib/services/aml_request.py"} <= set(ctx.files)
    manifest = json.loads(ctx.files["app/azureml/core/mldeploy-models.json"])
    assert manifest == {"diabetes/1": {"file": "sklearn_regression_model.pkl"}}
    assert "COPY app/azureml/ /var/azureml-app/azureml/" in ctx.files["Dockerfile"].decode()


def test_no_stand_in_when_the_environment_installs_azureml_core(tmp_path):
    ctx = _v1_context(tmp_path, "azureml-defaults==1.60\nscikit-learn\n")
    assert not any(name.startswith("app/azureml/") for name in ctx.files)
    assert "COPY app/azureml/" not in ctx.files["Dockerfile"].decode()


def test_no_stand_in_for_a_v2_script():
    assert not any(name.startswith("app/azureml/") for name in context().files)



def _include_project(tmp_path):
    """A project whose requirements file includes others, up and down the tree (pip's `-r`/`-c`)."""
    env = ROOT / "build" / "tests" / "includes"
    (env / "env").mkdir(parents=True, exist_ok=True)
    (env / "env" / "requirements.txt").write_text("-r ../common/base.txt\n-c constraints.txt\n")
    (env / "common").mkdir(exist_ok=True)
    (env / "common" / "base.txt").write_text(
        "azureml-inference-server-http==1.5.1\nscikit-learn==1.9.1 \\\n    --hash=sha256:" + "0" * 64 + "\n"
        "numpy>=2; python_version >= \"3.9\"\n")
    (env / "env" / "constraints.txt").write_text("numpy==2.4.6\n")
    return context(conda_file=None, requirements_file="build/tests/includes/env/requirements.txt")


def test_included_requirements_files_are_copied_where_pip_finds_them(tmp_path):
    ctx = _include_project(tmp_path)
    assert ctx.files["environment/env/requirements.txt"] == b"-r ../common/base.txt\n-c constraints.txt\n"
    assert b"scikit-learn==1.9.1" in ctx.files["environment/common/base.txt"]
    assert ctx.files["environment/env/constraints.txt"] == b"numpy==2.4.6\n"
    dockerfile = ctx.files["Dockerfile"].decode()
    assert "COPY environment/ /tmp/environment/\nRUN pip install --no-cache-dir -r /tmp/environment/env/requirements.txt" \
        in dockerfile
    # The one-file form (local virtualenv, Azure ML's conda file): includes inlined, hash and marker kept.
    assert ctx.env_text == ("azureml-inference-server-http==1.5.1\nscikit-learn==1.9.1      --hash=sha256:" + "0" * 64
                            + "\nnumpy>=2; python_version >= \"3.9\"\n")
    assert ctx.env_constraints == ("numpy==2.4.6",)
    assert "azureml-inference-server-http" not in dockerfile.split("COPY app/")[0].split("-r /tmp/environment")[1], \
        "base.txt's exact server pin counts: no second install of it"


def test_included_requirements_change_the_image_digest(tmp_path):
    before = _include_project(tmp_path).digest
    (ROOT / "build" / "tests" / "includes" / "env" / "constraints.txt").write_text("numpy==2.4.5\n")
    after = context(conda_file=None, requirements_file="build/tests/includes/env/requirements.txt").digest
    assert after != before, "a change in an included file must change the image"


def test_the_dockerfile_with_included_requirements_passes_checkov(tmp_path):
    import json
    import subprocess

    from tests.tools import checkov

    _include_project(tmp_path).write(tmp_path / "ctx")
    proc = subprocess.run([checkov(), "-d", str(tmp_path / "ctx"), "--framework", "dockerfile",
                           "--skip-download", "--quiet", "--compact", "-o", "json"], capture_output=True, text=True)
    report = json.loads(proc.stdout)
    assert report["summary"]["passed"] > 0, f"checkov checked nothing: {proc.stderr[-500:]}"
    failed = report["results"]["failed_checks"]
    assert failed == [], "checkov: " + ", ".join(f"{c['check_id']} {c['check_name']}" for c in failed)


def test_a_v2_endpoints_conda_file_has_the_included_requirements_inlined(tmp_path):
    import yaml

    from mldeploy.targets.online_endpoint.program import conda_text

    pip = yaml.safe_load(conda_text(_include_project(tmp_path)))["dependencies"][-1]["pip"]
    assert pip[0] == "azureml-inference-server-http==1.5.1" and pip[1].startswith("scikit-learn==1.9.1 ")
    assert not any(line.startswith(("-r", "-c")) for line in pip), f"Azure ML has no other file to include: {pip}"


def _source_project(root):
    """The diabetes example's files with score.py in src/ beside a module it imports."""
    import shutil

    (root / "src").mkdir(parents=True)
    (root / "src/score.py").write_text("import helpers\n" + (ROOT / "examples/diabetes/score.py").read_text())
    (root / "src/helpers.py").write_text("SCALE = 1\n")
    (root / "src/__pycache__").mkdir()
    (root / "src/__pycache__/helpers.cpython-311.pyc").write_bytes(b"\0")
    (root / "model.pkl").write_bytes((ROOT / "examples/diabetes/outputs/sklearn_regression_model.pkl").read_bytes())
    shutil.copy(ROOT / "examples/diabetes/myenv.yml", root / "env.yml")
    return root


def _source_context(root, entry="score.py"):
    from mldeploy.config.stack import ImageSettings, ModelSettings

    image = ImageSettings.model_validate({"sourceDirectory": "src", "entryScript": entry, "condaFile": "env.yml",
                                          "models": ["diabetes"]}, context={"root": root})
    model = ModelSettings.model_validate({"path": "model.pkl", "version": 1}, context={"root": root})
    return render_build_context("diabetes", image, [resolve_model("diabetes", model, root)], root)


def test_the_source_directory_ships_whole_beside_the_entry_script_on_the_import_path(tmp_path):
    """v1's source_directory / v2's code: score.py's `import helpers` found helpers.py there."""
    ctx = _source_context(_source_project(tmp_path))
    assert {"app/score.py", "app/helpers.py"} <= set(ctx.files), sorted(ctx.files)
    assert not [f for f in ctx.files if "__pycache__" in f], "bytecode is never shipped"
    dockerfile = ctx.files["Dockerfile"].decode()
    assert "COPY app/ /var/azureml-app/\nENV AML_APP_ROOT=/var/azureml-app\n" in dockerfile, dockerfile
    assert ctx.entry_script == "/var/azureml-app/score.py"


def test_a_change_to_any_shipped_file_is_a_new_tag_and_no_change_is_none(tmp_path):
    root = _source_project(tmp_path)
    first = _source_context(root).tag
    (root / "src/__pycache__/helpers.cpython-311.pyc").write_bytes(b"\1")
    assert _source_context(root).tag == first, "bytecode changed the tag"
    (root / "src/helpers.py").write_text("SCALE = 2\n")
    assert _source_context(root).tag != first, "a change to helpers.py must roll out (a new tag)"
