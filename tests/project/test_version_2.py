"""Version 2 of a model on a project init wrote (hv2doc's walk: on the AKS prod stack, version 2 had to
be saved as models/v2/churn-v1.joblib - version 1's file name, the one score.py opened - and its blob
read model-churn-2-churn-v1.joblib). init's score.py now loads the version's one model file whatever
its name, and every stack header says how to add version 2 on its target, in words that work as written."""
from __future__ import annotations

import importlib.util
import re

import joblib
import numpy as np
import pytest
import yaml

from mldeploy.plan.script_checks import script_warnings
from mldeploy.project import ProjectChoices, render_project
from mldeploy.project.formats import OnnxInput
from mldeploy.targets.stack import load_stack


def _choices(**kw) -> ProjectChoices:
    base = dict(project="p", name="churn", model_path="models/churn-v1.joblib", model_file="churn-v1.joblib",
                features=4, targets=("aci", "managed", "aks", "containerapp", "kubernetes-endpoint"))
    return ProjectChoices(**{**base, **kw})


def _score(tmp_path, monkeypatch, model_dir, module):
    (tmp_path / "score.py").write_bytes(render_project(_choices())["score.py"])
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(model_dir))
    # A module name of its own per test: inference-schema registers run()'s schema per module name.
    spec = importlib.util.spec_from_file_location(module, tmp_path / "score.py")
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    return score


@pytest.fixture(scope="module")
def model():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    return LogisticRegression(max_iter=500).fit(x, y)


def test_score_py_loads_version_2_saved_under_its_own_name(model, tmp_path, monkeypatch):
    version_2 = tmp_path / "azureml-models" / "churn" / "2"
    version_2.mkdir(parents=True)
    joblib.dump(model, version_2 / "churn-v2.joblib")  # not churn-v1.joblib, the file init found
    score = _score(tmp_path, monkeypatch, version_2, "generated_score_version_2")
    score.init()
    assert score.run.__wrapped__([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]) == [0, 2]


def test_score_py_prefers_the_file_init_found_and_names_the_files_it_cannot_choose_from(model, tmp_path, monkeypatch):
    folder = tmp_path / "m"
    folder.mkdir()
    joblib.dump(model, folder / "a.pkl")
    joblib.dump(model, folder / "b.joblib")
    score = _score(tmp_path, monkeypatch, folder, "generated_score_two_files")
    with pytest.raises(RuntimeError, match=r"holds no churn-v1\.joblib and 2 files ending in .*\(a\.pkl, b\.joblib\)"):
        score.init()
    joblib.dump(model, folder / "churn-v1.joblib")
    score.init()  # version 1's name wins over the others
    assert score.model is not None


@pytest.mark.parametrize("inputs", [(OnnxInput("X", "float32", 4),), (OnnxInput("X", "float32", 0, (None, 4)),)])
def test_the_onnx_score_py_finds_a_version_s_one_onnx_file_too(inputs, model, tmp_path, monkeypatch):
    from skl2onnx import to_onnx

    script = render_project(_choices(kind="onnx", model_path="models/churn-v1.onnx", model_file="churn-v1.onnx",
                                     onnx_inputs=inputs))["score.py"]
    assert b"MODEL_SUFFIXES = ('.onnx',)" in script
    (tmp_path / "score.py").write_bytes(script)
    folder = tmp_path / "2"
    folder.mkdir()
    rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    (folder / "churn-v2.onnx").write_bytes(to_onnx(model, np.asarray(rows, dtype=np.float32)).SerializeToString())
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(folder))
    spec = importlib.util.spec_from_file_location(f"generated_onnx_score_{len(inputs[0].shape)}", tmp_path / "score.py")
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    score.init()
    assert score.run.__wrapped__(rows) == [0, 2]


def _project(tmp_path, choices):
    for rel, data in render_project(choices).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)


def _entry(text):
    found = re.search(r"^#\s+(churn-v2: \{registeredName: churn, path: (\S+), version: 2, description: churn\})$",
                      text, re.M)
    assert found, text[:1200]
    return yaml.safe_load(found.group(1)), found.group(2)


def test_the_prod_stack_s_comment_adds_version_2_as_a_canary_as_written(model, tmp_path):
    _project(tmp_path, _choices())
    (tmp_path / "models").mkdir()
    joblib.dump(model, tmp_path / "models" / "churn-v1.joblib")
    stack = tmp_path / "stacks" / "Pulumi.prod.yaml"
    text = stack.read_text()
    entry, path = _entry(text)
    assert path == "models/churn-v2.joblib", "version 2's file may have a name of its own"
    joblib.dump(model, tmp_path / path)
    assert "with models: [churn-v2]" in text and "`canary: {image: churn-v2, trafficPercent: 10}`" in text
    assert "Promote: `image: churn-v2` and remove\n# canary" in text and "docs/aks.md" in text
    values = yaml.safe_load(text)
    config = values["config"]
    config["mldeploy:models"].update(entry)
    config["mldeploy:images"]["churn-v2"] = {**config["mldeploy:images"]["churn"], "models": ["churn-v2"]}
    config["mldeploy:services"]["churn"]["canary"] = {"image": "churn-v2", "trafficPercent": 10}
    stack.write_text(yaml.safe_dump(values))
    settings = load_stack(tmp_path, "prod")
    assert {(m.registered_name or k, m.version) for k, m in settings.models.items()} == {("churn", 1), ("churn", 2)}
    assert settings.services["churn"].canary.image == "churn-v2"
    assert script_warnings(settings, tmp_path) == []
    # Promote, then retire version 1 - as the comment says.
    service = config["mldeploy:services"]["churn"]
    service["image"] = "churn-v2"
    del service["canary"]
    del config["mldeploy:images"]["churn"], config["mldeploy:models"]["churn"]
    stack.write_text(yaml.safe_dump(values))
    assert load_stack(tmp_path, "prod").services["churn"].image == "churn-v2"


@pytest.mark.parametrize("stack", ["dev", "managed", "prod", "containerapp", "kubernetes-endpoint"])
def test_every_stack_header_says_how_to_add_version_2(stack):
    text = render_project(_choices())[f"stacks/Pulumi.{stack}.yaml"].decode()
    header = text[:text.index("config:")]
    _entry(header)
    assert "any file name: score.py loads the version's one model file" in header
    assert all(len(line) <= 120 for line in header.splitlines()), header


def test_a_project_s_own_score_py_keeps_version_1_s_file_name_in_a_folder_of_its_own():
    files = render_project(_choices(keep_script=True, conda_file="myenv.yml"))
    _, path = _entry(files["stacks/Pulumi.prod.yaml"].decode())
    assert path == "models/v2/churn-v1.joblib"
    assert "your score.py opens churn-v1.joblib: keep that name" in files["stacks/Pulumi.managed.yaml"].decode()
