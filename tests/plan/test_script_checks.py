"""mldeploy/plan/script_checks.py: `synth`'s warnings for what an entry script asks of its image -
a model file its one model does not hold, PandasParameterType without pandas - only where the
script says it literally."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mldeploy.plan.script_checks import script_warnings
from mldeploy.project import ProjectChoices, render_project
from mldeploy.targets.stack import load_stack

PANDAS_RUN = '''
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.schema_decorators import input_schema
import pandas as pd


def init():
    pass


@input_schema("data", PandasParameterType(pd.DataFrame({"a": [1.0]})))
def run(data):
    return data.sum().tolist()
'''


def _project(root: Path, model_path: str = "models/model.pkl", model_file: str = "model.pkl",
             named_columns: bool = False, own_script: bool = True) -> Path:
    """A project init wrote; with own_script, its score.py opens the one literal name a script of one's own
    (or init's before hv2doc) opens - os.path.join(AZUREML_MODEL_DIR, "model.pkl") - what the checks read."""
    files = render_project(ProjectChoices(project="p", name="clf", model_path=model_path, model_file=model_file,
                                          features=4, targets=("aci",), named_columns=named_columns))
    if own_script:
        opened = f'os.path.join(os.environ["AZUREML_MODEL_DIR"], "{model_file}")'.encode()
        files["score.py"] = files["score.py"].replace(b'model_path(os.environ["AZUREML_MODEL_DIR"])', opened)
        assert opened in files["score.py"]
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / model_path).parent.mkdir(parents=True, exist_ok=True)
    (root / model_path).write_bytes(b"model")
    return root


def _warnings(root: Path) -> list[str]:
    return script_warnings(load_stack(root, "local"), root)


def test_the_generated_project_gets_no_warning(tmp_path):
    assert _warnings(_project(tmp_path, own_script=False)) == []
    assert _warnings(_project(tmp_path / "own")) == []


def _add_version_2(root: Path, path: str) -> None:
    stack = root / "stacks" / "Pulumi.local.yaml"
    text = stack.read_text()
    text = text.replace("  mldeploy:images:", f"    clf-v2:\n      registeredName: clf\n      path: {path}\n"
                        "      version: 2\n  mldeploy:images:", 1)
    text = text.replace("  mldeploy:services:", "    clf-v2:\n      entryScript: score.py\n      condaFile: environment.yml\n"
                        "      models: [clf-v2]\n  mldeploy:services:", 1)
    stack.write_text(text)


def test_init_s_score_py_takes_a_second_version_under_another_file_name(tmp_path):
    """hv2doc: init's score.py loads a version's one model file whatever its name (model_path())."""
    root = _project(tmp_path, own_script=False)
    (root / "models" / "model-v2.pkl").write_bytes(b"model 2")
    _add_version_2(root, "models/model-v2.pkl")
    assert _warnings(root) == []


def test_init_s_score_py_is_warned_of_a_version_with_no_or_two_model_files(tmp_path):
    root = _project(tmp_path, own_script=False)
    (root / "models" / "v2").mkdir()
    for name in ("a.pkl", "b.joblib", "notes.txt"):
        (root / "models" / "v2" / name).write_bytes(b"x")
    _add_version_2(root, "models/v2")
    [warning] = _warnings(root)
    assert warning.startswith("images.clf-v2.entryScript: score.py:"), warning
    assert "loads MODEL_FILE 'model.pkl', else the one file ending in .pkl, .pickle, .joblib of model 'clf-v2' " \
           "(models/v2), which holds no model.pkl and 2 such files (a.pkl, b.joblib): the scorer stops in init()" \
           in warning, warning
    (root / "models" / "v2" / "b.joblib").unlink()
    assert _warnings(root) == []


def test_a_script_opening_a_file_the_model_does_not_hold_is_warned_with_the_closest_name(tmp_path):
    root = _project(tmp_path)
    script = root / "score.py"
    script.write_text(script.read_text().replace('"model.pkl"', '"modle.pkl"'))
    [warning] = _warnings(root)
    assert warning.startswith("images.clf.entryScript: score.py:"), warning
    assert "opens 'modle.pkl' in AZUREML_MODEL_DIR, which model 'clf' (models/model.pkl) does not hold " \
           "(did you mean model.pkl?); it holds: model.pkl" in warning, warning


def test_a_second_version_under_another_file_name_is_told_to_keep_the_name_score_py_opens(tmp_path):
    """hday2's day 2: version 2 saved as models/model-v2.pkl beside version 1's models/model.pkl, one
    score.py for both. 'did you mean model-v2.pkl?' pointed at score.py, whose change would break
    version 1: the new file is to get the old name, in a folder of its own."""
    root = _project(tmp_path)
    (root / "models" / "model-v2.pkl").write_bytes(b"model 2")
    stack = root / "stacks" / "Pulumi.local.yaml"
    text = stack.read_text()
    text = text.replace("  mldeploy:images:", "    clf-v2:\n      registeredName: clf\n      path: models/model-v2.pkl\n"
                        "      version: 2\n  mldeploy:images:", 1)
    text = text.replace("  mldeploy:services:", "    clf-v2:\n      entryScript: score.py\n      condaFile: environment.yml\n"
                        "      models: [clf-v2]\n  mldeploy:services:", 1)
    stack.write_text(text)
    [warning] = _warnings(root)
    assert warning.startswith("images.clf-v2.entryScript: score.py:"), warning
    assert "opens 'model.pkl' in AZUREML_MODEL_DIR, which model 'clf-v2' (models/model-v2.pkl) does not hold (model " \
           "'clf', another version of 'clf', holds model.pkl: give this version's file that name too, in a folder " \
           "of its own such as models/v2/model.pkl, so that one score.py opens either version); it holds: " \
           "model-v2.pkl" in warning, warning
    assert "did you mean" not in warning


def test_a_second_version_already_in_its_own_folder_is_told_that_folder(tmp_path):
    """hwalk's day 2: version 2 saved as models/v2/churn-v2.joblib (the managed stack's header says
    models/v2/); the hint said 'such as models/v2/v2/churn-v1.joblib', a folder too many."""
    root = _project(tmp_path)
    (root / "models" / "v2").mkdir()
    (root / "models" / "v2" / "model-v2.pkl").write_bytes(b"model 2")
    stack = root / "stacks" / "Pulumi.local.yaml"
    text = stack.read_text()
    text = text.replace("  mldeploy:images:", "    clf-v2:\n      registeredName: clf\n      path: models/v2/model-v2.pkl\n"
                        "      version: 2\n  mldeploy:images:", 1)
    text = text.replace("  mldeploy:services:", "    clf-v2:\n      entryScript: score.py\n      condaFile: environment.yml\n"
                        "      models: [clf-v2]\n  mldeploy:services:", 1)
    stack.write_text(text)
    [warning] = _warnings(root)
    assert "in a folder of its own such as models/v2/model.pkl, so that" in warning, warning


def test_a_folder_model_s_files_are_found_by_their_path_in_the_folder(tmp_path):
    root = _project(tmp_path, "training/clf/weights/model.pkl", "weights/model.pkl")
    stack = root / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text().replace("path: training/clf/weights/model.pkl", "path: training/clf"))
    script = root / "score.py"
    assert _warnings(root) == []  # os.path.join(AZUREML_MODEL_DIR, "weights/model.pkl")
    script.write_text(script.read_text().replace('"weights/model.pkl"', '"weights", "model.pkl"'))
    assert _warnings(root) == []
    script.write_text(script.read_text().replace('"weights", "model.pkl"', '"model.pkl"'))
    assert "(did you mean weights/model.pkl?)" in _warnings(root)[0]


def test_a_computed_file_name_is_not_guessed_at(tmp_path):
    root = _project(tmp_path)
    script = root / "score.py"
    script.write_text(script.read_text().replace('"model.pkl"', 'os.environ.get("MODEL_FILE", "x.pkl")'))
    assert _warnings(root) == []


def test_pandas_parameter_type_without_pandas_in_the_environment_is_warned(tmp_path):
    root = _project(tmp_path)
    (root / "score.py").write_text(PANDAS_RUN)
    [warning] = _warnings(root)
    assert warning.startswith("images.clf.entryScript: score.py:2 uses PandasParameterType, which needs pandas: "
                              "environment.yml installs none; write inference-schema[numpy-support,pandas-support]==1.8"), warning


def test_pandas_parameter_type_with_pandas_support_is_quiet(tmp_path):
    root = _project(tmp_path, named_columns=True)  # init's environment for a DataFrame-fitted model
    (root / "score.py").write_text(PANDAS_RUN)
    assert _warnings(root) == []


def test_synth_prints_the_warning_and_still_succeeds(tmp_path):
    root = _project(tmp_path)
    script = root / "score.py"
    script.write_text(script.read_text().replace('"model.pkl"', '"modle.pkl"'))
    run = subprocess.run([sys.executable, "-c", "import sys; from mldeploy.cli import main; sys.argv[0] = 'mldeploy'; main()",
                          "synth", "--stack", "local"], cwd=root, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "warning: stacks/Pulumi.local.yaml: images.clf.entryScript: score.py:" in run.stderr, run.stderr
    assert "did you mean model.pkl?" in run.stderr, run.stderr


def test_a_script_importing_a_module_next_to_it_is_warned_that_the_image_does_not_carry_it(tmp_path):
    """A v1 project's score.py with `import helpers` (its source_directory held helpers.py): the
    image holds score.py alone, so the scorer stopped with ModuleNotFoundError and a hint to add
    a package (new-user trial)."""
    root = _project(tmp_path)
    (root / "helpers.py").write_text("CLASSES = ['a', 'b']\n")
    (root / "features").mkdir()
    (root / "features/__init__.py").write_text("")
    script = root / "score.py"
    script.write_text("import os\nimport helpers\nfrom features.scaling import Scaler\ntry:\n    import optional\n"
                      "except ImportError:\n    pass\n" + script.read_text())
    warnings = _warnings(root)
    assert warnings == [
        "images.clf.entryScript: score.py:2 imports 'helpers', a module next to it (helpers.py), which the image "
        "does not carry: without sourceDirectory (v1's source_directory, v2's code) an image holds the entry script "
        "alone, so the scorer stops with ModuleNotFoundError; move score.py and its modules into a folder (src/) and "
        "set images.clf.sourceDirectory: src",
        "images.clf.entryScript: score.py:3 imports 'features', a module next to it (features/__init__.py), which "
        "the image does not carry: without sourceDirectory (v1's source_directory, v2's code) an image holds the "
        "entry script alone, so the scorer stops with ModuleNotFoundError; move score.py and its modules into a "
        "folder (src/) and set images.clf.sourceDirectory: src"], warnings


def _in_folder(root: Path, source_directory: bool) -> Path:
    """The project with score.py in src/ beside helpers.py, which it imports."""
    (root / "src").mkdir()
    (root / "src/helpers.py").write_text("X = 1\n")
    script = root / "score.py"
    (root / "src/score.py").write_text("import helpers\n" + script.read_text())
    script.unlink()
    stack = root / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text().replace(
        "entryScript: score.py", "sourceDirectory: src\n      entryScript: score.py" if source_directory
        else "entryScript: src/score.py"))
    return root


def test_a_script_in_a_folder_is_pointed_at_that_folder_as_its_source_directory(tmp_path):
    root = _in_folder(_project(tmp_path), source_directory=False)
    assert _warnings(root) == [
        "images.clf.entryScript: src/score.py:1 imports 'helpers', a module next to it (src/helpers.py), which the "
        "image does not carry: without sourceDirectory (v1's source_directory, v2's code) an image holds the entry "
        "script alone, so the scorer stops with ModuleNotFoundError; set images.clf.sourceDirectory: src "
        "(entryScript then relative to it: score.py)"]


def test_no_warning_when_the_source_directory_ships_the_module(tmp_path):
    assert _warnings(_in_folder(_project(tmp_path), source_directory=True)) == []


def test_a_module_the_ignore_file_leaves_out_is_warned(tmp_path):
    root = _in_folder(_project(tmp_path), source_directory=True)
    (root / "src/.amlignore").write_text("helpers.py\n")
    assert _warnings(root) == [
        "images.clf.entryScript: src/score.py:1 imports 'helpers' (src/helpers.py), which src/.amlignore leaves out "
        "of the image: the scorer stops with ModuleNotFoundError; remove its line there"]


def test_serve_says_the_warnings_before_the_scorer_fails_on_them(tmp_path, capsys, monkeypatch):
    """`serve` printed only the scorer's ModuleNotFoundError and a hint to add a package; synth's
    warning says why (the image holds the entry script alone)."""
    from mldeploy.cli.serve import _Serving

    root = _project(tmp_path)
    (root / "helpers.py").write_text("X = 1\n")
    script = root / "score.py"
    script.write_text("import helpers\n" + script.read_text())
    serving = _Serving(root, load_stack(root, "local"), port=None, timeout=1, as_json=False, tls_files=None,
                       max_concurrent=None)
    err = _serve_stderr(serving, monkeypatch, capsys,
                        "the scorer exited (code 3) before it was ready: ModuleNotFoundError: No module named 'helpers'")
    assert "warning: stacks/Pulumi.local.yaml: images.clf.entryScript: score.py:1 imports 'helpers'" in err, err
    assert err.index("imports 'helpers'") < err.index("error: the scorer exited"), err


def test_serve_of_a_v2_endpoint_warns_of_azureml_core_s_get_model_path(tmp_path, capsys, monkeypatch):
    """`serve --stack managed` runs a v1 score.py with azureml-core fine (its app root holds the models);
    on Azure the v2 deployment's AML_APP_ROOT is the script's folder: serve says so as synth does."""
    from mldeploy.cli.serve import _Serving
    from mldeploy.project import ProjectChoices, render_project

    files = render_project(ProjectChoices(project="p", name="clf", model_path="models/model.pkl",
                                          model_file="model.pkl", features=4, targets=("managed",)))
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "model.pkl").write_bytes(b"model")
    (tmp_path / "score.py").write_text("import joblib\nfrom azureml.core.model import Model\n\ndef init():\n"
                                       "    global m\n    m = joblib.load(Model.get_model_path('clf'))\n\n"
                                       "def run(data):\n    return data\n")
    env = tmp_path / "environment.yml"
    env.write_text(env.read_text().replace("      - joblib", "      - azureml-defaults\n      - joblib"))
    serving = _Serving(tmp_path, load_stack(tmp_path, "managed"), port=None, timeout=1, as_json=False,
                       tls_files=None, max_concurrent=None)

    err = _serve_stderr(serving, monkeypatch, capsys, "stopped here: the test needs only what serve says before it starts")
    assert "warning: stacks/Pulumi.managed.yaml: images.clf.entryScript: score.py calls Model.get_model_path and " \
           "environment.yml installs azureml-core (azureml-defaults); on services.clf (managed)" in err, err


def _serve_stderr(serving, monkeypatch, capsys, start_error: str) -> str:
    """What `serve` prints when its start fails with `start_error` (the scorer itself is never started)."""
    import signal

    import pytest

    from mldeploy.runtime.processes import StartError

    def fails(name):
        raise StartError(start_error)

    monkeypatch.setattr(serving, "_start", fails)
    monkeypatch.setattr(signal, "signal", lambda *args: None)
    with pytest.raises(SystemExit):
        serving.run(["clf"])
    return capsys.readouterr().err


def _v2_in_subfolder(root: Path) -> Path:
    """A managed project whose code folder is src/ with score.py in src/online/, beside helpers.py,
    and bands.py at src/'s root; score.py imports both."""
    files = render_project(ProjectChoices(project="p", name="clf", model_path="models/model.pkl",
                                          model_file="model.pkl", features=4, targets=("managed",)))
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "models").mkdir(exist_ok=True)
    (root / "models/model.pkl").write_bytes(b"model")
    (root / "src/online").mkdir(parents=True)
    (root / "src/online/helpers.py").write_text("X = 1\n")
    (root / "src/bands.py").write_text("Y = 2\n")
    (root / "src/online/score.py").write_text("import helpers\nimport bands\n" + (root / "score.py").read_text())
    (root / "score.py").unlink()
    for stack in ("local", "managed"):
        path = root / f"stacks/Pulumi.{stack}.yaml"
        path.write_text(path.read_text().replace("entryScript: score.py",
                                                 "sourceDirectory: src\n      entryScript: online/score.py"))
    return root


def test_a_v2_script_in_a_subfolder_imports_its_neighbours_not_the_code_folder_s_root(tmp_path):
    """On a v2 online deployment AML_APP_ROOT is the scoring script's folder (runtime/local.py
    v2_deployment_env), so the image targets' rule (the root imports, neighbours do not) is reversed."""
    root = _v2_in_subfolder(tmp_path)
    managed = script_warnings(load_stack(root, "managed"), root)
    assert managed == [
        "images.clf.entryScript: src/online/score.py:2 imports 'bands' (src/bands.py), a module at sourceDirectory's "
        "root; on a v2 online deployment Azure ML puts the scoring script's folder (src/online) on the import path "
        "(AML_APP_ROOT), not the root, so the scorer stops with ModuleNotFoundError there (and under `serve`); move "
        "it next to score.py, or score.py to the root (entryScript: score.py)"], managed
    local = script_warnings(load_stack(root, "local"), root)
    assert len(local) == 1 and "imports 'helpers', a module next to it" in local[0], local


def test_the_v1_stand_in_is_beside_a_script_in_a_subfolder_where_a_v2_deployment_imports_it(tmp_path):
    """A v1 score.py (Model.get_model_path, no azureml-core) in src/online/: a v2 deployment's import path
    is src/online (AML_APP_ROOT), the image's is src/: the stand-in is in both."""
    from mldeploy.render.build_context import render_build_context
    from mldeploy.plan.models import resolve_model

    root = _v2_in_subfolder(tmp_path)
    script = root / "src/online/score.py"
    script.write_text("import helpers\nimport joblib\nfrom azureml.core.model import Model\n\ndef init():\n"
                      "    global m\n    m = joblib.load(Model.get_model_path('clf'))\n\ndef run(data):\n    return data\n")
    settings = load_stack(root, "managed")
    models = [resolve_model(m, settings.models[m], root) for m in settings.images["clf"].models]
    files = render_build_context("clf", settings.images["clf"], models, root).files
    assert "app/online/azureml/core/model.py" in files and "app/azureml/core/model.py" in files, sorted(files)
    assert files["app/online/azureml/core/mldeploy-models.json"] == files["app/azureml/core/mldeploy-models.json"]
