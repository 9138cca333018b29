"""mldeploy/config/files.py in a user's own project (the root is the folder with Pulumi.yaml): model
files anywhere under it - deep, spaced, hidden folders, whole folders - are read, registered and
put in the image; absolute paths and paths leading outside are refused with the reason."""
from __future__ import annotations

from pathlib import Path

import pytest

from mldeploy.config import ConfigError
from mldeploy.plan.models import resolve_model
from mldeploy.targets.stack import load_stack
from mldeploy.project import ProjectChoices, render_project
from mldeploy.render.build_context import render_build_context


def _project(root: Path, model_path: str, model_file: str = "model.pkl") -> Path:
    files = render_project(ProjectChoices(project="p", name="clf", model_path=model_path, model_file=model_file,
                                          features=4, targets=()))
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


@pytest.mark.parametrize("model_path", ["model.pkl", "models/v1/model.pkl", "ml/trained models/run 7/model.pkl",
                                         ".artifacts/model.pkl", "data/exports/2026-12-04/model.pkl"])
def test_a_model_file_anywhere_under_the_project_is_registered_and_baked_in(tmp_path, model_path):
    root = _project(tmp_path, model_path)
    (root / model_path).parent.mkdir(parents=True, exist_ok=True)
    (root / model_path).write_bytes(b"model bytes")
    settings = load_stack(root, "local")
    model = resolve_model("clf", settings.models["clf"], root)
    context = render_build_context("clf", settings.images["clf"], [model], root)
    assert context.files["azureml-models/clf/1/model.pkl"] == b"model bytes", sorted(context.files)


def test_a_model_folder_deep_in_the_project_keeps_its_layout(tmp_path):
    root = _project(tmp_path, "training/out/clf", "weights/model.pkl")
    (root / "training/out/clf/weights").mkdir(parents=True)
    (root / "training/out/clf/weights/model.pkl").write_bytes(b"w")
    (root / "training/out/clf/labels.txt").write_text("a\nb\n")
    settings = load_stack(root, "local")
    context = render_build_context("clf", settings.images["clf"], [resolve_model("clf", settings.models["clf"], root)],
                                   root)
    assert {k for k in context.files if k.startswith("azureml-models/")} == {
        "azureml-models/clf/1/weights/model.pkl", "azureml-models/clf/1/labels.txt"}


def test_the_project_root_is_the_folder_with_pulumi_yaml_not_the_working_directory(tmp_path, monkeypatch):
    root = _project(tmp_path / "proj", "models/model.pkl")
    (root / "models").mkdir()
    (root / "models/model.pkl").write_bytes(b"m")
    monkeypatch.chdir(root / "models")
    from mldeploy.cli import find_project_root

    assert find_project_root() == root.resolve()
    assert load_stack(find_project_root(), "local").models["clf"].path == "models/model.pkl"


@pytest.mark.parametrize("value, reason", [
    ("/{root}/models/model.pkl", "must be a path relative to the project root ({root}, the folder with Pulumi.yaml)"),
    ("/etc/hostname", "must be a path relative to the project root ({root}, the folder with Pulumi.yaml)"),
    ("../elsewhere/model.pkl", "may not contain '..': files come from inside the project root ({root}, the folder "
                               "with Pulumi.yaml)"),
    ("models/../../model.pkl", "may not contain '..'"),
    ("link/model.pkl", "leads outside the project root ({root}, the folder with Pulumi.yaml) (a symbolic link)"),
])
def test_absolute_paths_and_paths_outside_are_refused_with_the_reason(tmp_path, value, reason):
    root = _project(tmp_path / "proj", "placeholder")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "model.pkl").write_bytes(b"m")
    (root / "link").symlink_to(tmp_path / "elsewhere")
    stack = root / "stacks" / "Pulumi.local.yaml"
    stack.write_text(stack.read_text().replace("path: placeholder", f"path: {value.format(root=root)}"))
    with pytest.raises(ConfigError) as err:
        load_stack(root, "local")
    message = str(err.value)
    assert message.startswith("stacks/Pulumi.local.yaml: mldeploy:models.clf.path: "), message
    assert reason.format(root=root.resolve()) in message, message
    if value.startswith("/"):
        assert "copy or move the file into it" in message, message


@pytest.mark.parametrize("key, wrong, right", [
    ("entryScript", "scroe.py", "score.py"),
    ("condaFile", "enviroment.yml", "environment.yml"),
    ("sampleRequest", "sample-requests.json", "sample-request.json"),
])
def test_a_misspelt_file_name_gets_the_closest_name_in_its_folder(tmp_path, key, wrong, right):
    root = _project(tmp_path, "models/model.pkl")
    (root / "models").mkdir()
    (root / "models/model.pkl").write_bytes(b"m")
    stack = root / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text().replace(f"{key}: {right}", f"{key}: {wrong}"))
    with pytest.raises(ConfigError) as err:
        load_stack(root, "local")
    assert f"file not found: {wrong} (did you mean {right}?)" in str(err.value), str(err.value)
    assert f"images.clf.{key}" in str(err.value)


def test_a_misspelt_model_path_in_a_folder_keeps_the_folder_in_the_suggestion(tmp_path):
    root = _project(tmp_path, "models/v1/modle.pkl")
    (root / "models/v1").mkdir(parents=True)
    (root / "models/v1/model.pkl").write_bytes(b"m")
    with pytest.raises(ConfigError) as err:
        load_stack(root, "local")
    assert "not found: models/v1/modle.pkl (did you mean models/v1/model.pkl?)" in str(err.value), str(err.value)


def test_a_name_like_nothing_there_gets_no_suggestion(tmp_path):
    root = _project(tmp_path, "models/model.pkl")
    (root / "models").mkdir()
    (root / "models/model.pkl").write_bytes(b"m")
    stack = root / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text().replace("entryScript: score.py", "entryScript: src/zzz.py"))
    with pytest.raises(ConfigError) as err:
        load_stack(root, "local")
    assert "file not found: src/zzz.py (paths are relative to" in str(err.value), str(err.value)


def test_a_sample_request_that_is_not_json_says_what_a_rawhttp_script_does_instead(tmp_path):
    """A v1 @rawhttp score.py reading CSV rows and its sample-request.csv: the error said only that a
    sample request is JSON (new-user trial); `mldeploy test --data` sends any body."""
    root = _project(tmp_path, "models/model.pkl")
    (root / "models").mkdir()
    (root / "models/model.pkl").write_bytes(b"m")
    (root / "sample-request.csv").write_text("5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    stack = root / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text().replace("sampleRequest: sample-request.json", "sampleRequest: sample-request.csv"))
    with pytest.raises(ConfigError) as err:
        load_stack(root, "local")
    message = str(err.value)
    assert "images.clf.sampleRequest: sample-request.csv is not JSON (line 1, column 4" in message, message
    assert "leave sampleRequest out and send that file with `mldeploy test --data FILE`" in message, message
