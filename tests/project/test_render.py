"""mldeploy/project: the files `mldeploy init` writes, rendered without a folder."""
from __future__ import annotations

import json
import pickle

import joblib
import numpy as np
import pytest
import yaml

from mldeploy.project import (PANDAS_PIN, SCORING_PINS, ProjectChoices, model_features, model_file,
                              model_has_column_names, project_name, render_project, safe_name)
from tests.harness import ROOT


def _choices(**kw) -> ProjectChoices:
    base = dict(project="iris-service", name="iris", model_path="models/iris.pkl", model_file="iris.pkl",
                features=4, targets=("aci", "managed", "aks"))
    return ProjectChoices(**{**base, **kw})


@pytest.fixture(scope="module")
def iris_model():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_iris(return_X_y=True)
    return LogisticRegression(max_iter=500).fit(x, y), make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)


def test_the_input_width_is_read_from_joblib_and_pickle_files_without_running_them(iris_model, tmp_path):
    model, pipeline = iris_model
    joblib.dump(model, tmp_path / "a.pkl")
    (tmp_path / "b.pickle").write_bytes(pickle.dumps(model))
    joblib.dump(pipeline, tmp_path / "c.joblib")
    (tmp_path / "d.onnx").write_bytes(b"\x08\x07\x12\x04onnx not a pickle")
    # joblib writes array bytes into the stream: an estimator whose arrays come before the key.
    joblib.dump({"coef_": np.ones((3, 300)), "n_features_in_": 300}, tmp_path / "e.pkl")
    (tmp_path / "f.pkl").write_bytes(pickle.dumps(model, protocol=2))  # BINPUT memo, not MEMOIZE
    joblib.dump({"coef_": np.ones((1, 70000)), "n_features_in_": 70000}, tmp_path / "g.pkl")  # BININT
    assert [model_features(tmp_path / n) for n in ("a.pkl", "b.pickle", "c.joblib", "e.pkl", "f.pkl", "g.pkl")] == [
        4, 4, 4, 300, 4, 70000]
    assert model_features(tmp_path / "d.onnx") is None, "a file that is no pickle must give 'unknown'"


def test_every_file_of_a_project_is_written():
    files = render_project(_choices())
    assert set(files) == {
        "Pulumi.yaml", "requirements.txt", "__main__.py", "score.py", "environment.yml", "sample-request.json",
        ".gitignore", ".github/dependabot.yml", "stacks/Pulumi.local.yaml", "stacks/Pulumi.dev.yaml",
        "stacks/Pulumi.managed.yaml",
        "stacks/Pulumi.prod.yaml", ".github/workflows/pull-request.yml", ".github/workflows/deploy.yml",
        "policies/PulumiPolicy.yaml", "policies/__main__.py", "policies/config.json"}


def test_pulumi_yaml_is_a_python_project_reading_stacks_from_stacks():
    doc = yaml.safe_load(render_project(_choices())["Pulumi.yaml"])
    assert doc["name"] == "iris-service" and doc["runtime"]["name"] == "python"
    assert doc["stackConfigDir"] == "stacks" and doc["runtime"]["options"]["virtualenv"] == ".venv"


def test_the_program_is_the_repository_s_own_entry():
    assert render_project(_choices())["__main__.py"] == (ROOT / "__main__.py").read_bytes()


def test_the_policy_pack_is_wired_as_in_this_repository():
    files = render_project(_choices())
    for name in ("PulumiPolicy.yaml", "__main__.py", "config.json"):
        assert files[f"policies/{name}"] == (ROOT / "policies" / name).read_bytes(), name


def test_the_scoring_pins_are_the_example_s_tested_pins():
    doc = yaml.safe_load((ROOT / "examples" / "diabetes" / "myenv.yml").read_text())
    example = next(d["pip"] for d in doc["dependencies"] if isinstance(d, dict))
    assert list(SCORING_PINS) == example
    env = yaml.safe_load(render_project(_choices())["environment.yml"])
    assert next(d["pip"] for d in env["dependencies"] if isinstance(d, dict)) == example


def test_environment_yml_pins_python_and_pip_exactly_as_the_example_does():
    """`python=3.11` and a bare `pip` would solve conda-forge's newest 3.11.x and pip at each rebuild: init
    writes the dated table's exact versions (plan/versions.py CONDA_PYTHONS), as the examples do."""
    from mldeploy.plan.versions import CONDA_PYTHONS
    env = yaml.safe_load(render_project(_choices())["environment.yml"])
    pinned = CONDA_PYTHONS["3.11"]
    assert env["dependencies"][:2] == [f"python=={pinned.python}", f"pip=={pinned.pip}"], env["dependencies"]
    for example in ("diabetes/myenv.yml", "diabetes/batch-env.yml", "forest/myenv.yml"):
        doc = yaml.safe_load((ROOT / "examples" / example).read_text())
        assert doc["dependencies"][:2] == env["dependencies"][:2], example


def test_the_sample_and_score_py_fit_the_model_s_width():
    files = render_project(_choices(features=7, model_file="clf.joblib"))
    sample = json.loads(files["sample-request.json"])
    assert [len(row) for row in sample["data"]] == [7, 7]
    script = files["score.py"].decode()
    assert "N_FEATURES = 7\n" in script and '"clf.joblib"' in script and "AZUREML_MODEL_DIR" in script
    compile(script, "score.py", "exec")


def test_each_target_gets_its_stack_and_its_deploy_job():
    files = render_project(_choices(targets=("managed",)))
    assert {p for p in files if p.startswith("stacks/")} == {"stacks/Pulumi.local.yaml", "stacks/Pulumi.managed.yaml"}
    jobs = yaml.safe_load(files[".github/workflows/deploy.yml"])["jobs"]
    assert list(jobs) == ["managed"] and jobs["managed"]["environment"] == "production"
    jobs = yaml.safe_load(render_project(_choices())[".github/workflows/deploy.yml"])["jobs"]
    assert list(jobs) == ["dev", "managed", "prod"]
    assert jobs["prod"]["needs"] == ["dev"] and jobs["prod"]["environment"] == "production"
    assert jobs["dev"]["environment"] == "dev" and "needs" not in jobs["dev"]


def test_every_stack_names_the_same_model_image_and_files():
    for path, data in render_project(_choices()).items():
        if path.startswith("stacks/"):
            config = yaml.safe_load(data)["config"]
            assert config["mldeploy:models"] == {"iris": {"path": "models/iris.pkl", "version": 1,
                                                          "description": "iris"}}, path
            assert config["mldeploy:images"]["iris"]["entryScript"] == "score.py", path


@pytest.mark.parametrize("text, name", [("iris", "iris"), ("My_Model v2", "my-model-v2"), ("2024-model", "model"),
                                         ("x", "model"), ("a" * 40, "a" * 32)])
def test_names_follow_the_config_s_name_rule(text, name):
    assert safe_name(text) == name


def test_a_folder_model_loads_its_one_pickle(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "README.md").write_text("about")
    (tmp_path / "m" / "clf.joblib").write_bytes(b"x")
    assert model_file(tmp_path / "m", "m") == "clf.joblib"
    assert model_file(tmp_path / "m" / "clf.joblib", "m/clf.joblib") == "clf.joblib"


def test_the_project_is_named_after_its_folder(tmp_path):
    assert project_name(tmp_path / "My Iris!") == "My-Iris"


def test_the_managed_stack_says_green_needs_the_policy_s_instances_before_traffic():
    # A new user promoting green as the header says met the policy pack's production minimum only
    # at `mldeploy diff`; the header names it, with the pack's own default.
    from mldeploy.policies.endpoints import SETTINGS
    minimum = SETTINGS["production-endpoint-instances"]["minimumInstances"]["default"]
    text = render_project(_choices(targets=("managed",)))["stacks/Pulumi.managed.yaml"].decode()
    assert f"raise its instanceCount to {minimum}" in text


# A row whose starting point names a template that is not there: the default one of another stack,
# or one of the target's own package data.
MISSING_TEMPLATES = {
    "default": ('StartingPoint("qa", order=1)', "mldeploy/project/templates/stacks/qa.yaml.tmpl"),
    "own": ('StartingPoint("dev", order=1, template=resources.files("mldeploy.targets.aci") / "stack.yaml.tmpl")',
            "mldeploy/targets/aci/stack.yaml.tmpl"),
}


@pytest.mark.parametrize("case", sorted(MISSING_TEMPLATES))
def test_a_row_naming_a_missing_stack_template_fails_on_import_naming_the_row_and_the_path(case):
    import subprocess
    import sys

    point, path = MISSING_TEMPLATES[case]
    code = ("import dataclasses\nfrom importlib import resources\nimport mldeploy.targets as table\n"
            "from mldeploy.targets.target import StartingPoint\n"
            f"table.TARGETS = tuple(dataclasses.replace(t, starting_point={point}) if t.name == 'aci' else t "
            "for t in table.TARGETS)\nimport mldeploy.project\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0, "mldeploy.project imported with a row naming a missing template"
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: target table (mldeploy/targets/__init__.py) row 'aci': its "
                           "StartingPoint's stack template ") and last.endswith(f"{path} does not exist"), run.stderr


def _fitted_on_a_dataframe(model):
    """`model` as scikit-learn leaves it after fit() on a DataFrame: with the columns' names (set by
    hand: this test environment has no pandas)."""
    named = pickle.loads(pickle.dumps(model))
    named.feature_names_in_ = np.array(["sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                                        "petal width (cm)"], dtype=object)
    return named


def test_a_model_fitted_on_a_dataframe_is_told_from_one_fitted_on_an_array(iris_model, tmp_path):
    model, pipeline = iris_model
    joblib.dump(_fitted_on_a_dataframe(model), tmp_path / "named.pkl")
    (tmp_path / "named-p2.pkl").write_bytes(pickle.dumps(_fitted_on_a_dataframe(model), protocol=2))
    joblib.dump(model, tmp_path / "plain.pkl")
    joblib.dump(pipeline, tmp_path / "pipeline.pkl")
    assert model_has_column_names(tmp_path / "named.pkl") and model_has_column_names(tmp_path / "named-p2.pkl")
    assert not model_has_column_names(tmp_path / "plain.pkl") and not model_has_column_names(tmp_path / "pipeline.pkl")
    assert not model_has_column_names(tmp_path / "missing.pkl")


def test_a_model_fitted_on_a_dataframe_gets_pandas_in_its_environment():
    def pip_list(**kw):
        files = render_project(_choices(**kw))
        return yaml.safe_load(files["environment.yml"])["dependencies"][-1]["pip"]

    assert pip_list() == list(SCORING_PINS) and not any(p.startswith("pandas") for p in pip_list())
    named = pip_list(named_columns=True)
    assert PANDAS_PIN in named and "inference-schema[numpy-support,pandas-support]==1.8" in named, named
    assert [p for p in named if not p.startswith(("pandas", "inference-schema"))] == \
        [p for p in SCORING_PINS if not p.startswith("inference-schema")]


def test_score_py_hands_a_dataframe_fitted_model_its_own_columns(iris_model, tmp_path, monkeypatch):
    """The generated score.py, run: a model fitted on a DataFrame gets a DataFrame with its columns
    (no per-request "X does not have valid feature names"), one fitted on an array gets the array."""
    import importlib.util
    import sys
    import types
    import warnings

    seen = []

    class Frame:  # pandas.DataFrame's stand-in (no pandas here): records what score.py builds
        def __init__(self, rows, columns):
            seen.append(list(columns))
            self.rows = rows

        def __array__(self, dtype=None, copy=None):
            return self.rows

    monkeypatch.setitem(sys.modules, "pandas", types.SimpleNamespace(DataFrame=Frame, Series=type("Series", (), {})))
    model, _ = iris_model
    named = _fitted_on_a_dataframe(model)
    # scikit-learn's own name check needs the real pandas: the stand-in's frame goes to predict as rows.
    named.predict = lambda frame: model.predict(np.asarray(frame.rows))
    (tmp_path / "score.py").write_bytes(render_project(_choices())["score.py"])
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path))
    # Loaded once under a name of its own: inference-schema registers run()'s schema per module name.
    spec = importlib.util.spec_from_file_location("generated_score_under_test", tmp_path / "score.py")
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    as_array = score.model_input
    for fitted, columns in ((named, [list(named.feature_names_in_)]), (model, [])):
        seen.clear()
        joblib.dump(fitted, tmp_path / "iris.pkl")
        score.model_input = as_array  # as a fresh scorer process starts
        score.init()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning per request fails the test
            assert score.run.__wrapped__([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]) == [0, 2]
        assert seen == columns


def test_score_py_takes_text_values_only_for_a_dataframe_fitted_model(iris_model, tmp_path, monkeypatch):
    """A model fitted on a DataFrame may have text columns (a OneHotEncoder's categories): the generated
    score.py hands it rows with text as sent (pandas types each column), where it used to cast every
    value to float (a 500) and refuse text with a 400; a model fitted on an array still gets a 400."""
    import importlib.util
    import sys
    import types

    given = []

    class Frame:  # pandas.DataFrame's stand-in (no pandas here): records the rows score.py hands it
        def __init__(self, rows, columns):
            given.append(rows)

    monkeypatch.setitem(sys.modules, "pandas", types.SimpleNamespace(DataFrame=Frame))
    model, _ = iris_model
    named = _fitted_on_a_dataframe(model)
    named.predict = lambda frame: np.array(["a"])
    (tmp_path / "score.py").write_bytes(render_project(_choices())["score.py"])
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path))
    spec = importlib.util.spec_from_file_location("generated_score_with_text", tmp_path / "score.py")
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    as_array, text_values = score.model_input, score.text_values
    row = [5.1, 3, "Sat", 0.2]
    joblib.dump(named, tmp_path / "iris.pkl")
    score.init()
    assert score.run.__wrapped__([row]) == ["a"] and given == [[row]]
    refused = score.run.__wrapped__([[5.1, 3, None, 0.2]])
    assert refused.status_code == 400 and b"finite numbers or texts" in refused.get_data(), refused.get_data()
    joblib.dump(model, tmp_path / "iris.pkl")
    score.model_input, score.text_values = as_array, text_values  # as a fresh scorer process starts
    score.init()
    refused = score.run.__wrapped__([row])
    assert refused.status_code == 400 and refused.get_data() == b'{"error": "row 0 must hold only finite numbers"}'


def test_score_py_takes_a_row_as_an_object_of_the_model_s_columns(iris_model, tmp_path, monkeypatch):
    """hwalk's day 1 with a churn Pipeline over named columns: a client of a model with column names
    sends each row as {"tenure_months": 12, "contract": "two-year", ...}; the generated score.py
    answered 'row 0 must be a list of 4 values'. Such a row is taken in the model's column order
    (any key order); missing or unknown keys are a 400 naming them; an array-fitted model still
    takes lists only."""
    import importlib.util
    import sys
    import types

    given = []

    class Frame:  # pandas.DataFrame's stand-in (no pandas here): records the rows score.py hands it
        def __init__(self, rows, columns):
            given.append(rows)

    monkeypatch.setitem(sys.modules, "pandas", types.SimpleNamespace(DataFrame=Frame))
    model, _ = iris_model
    named = _fitted_on_a_dataframe(model)
    named.predict = lambda frame: np.array(["a"] * len(frame.rows) if hasattr(frame, "rows") else ["a"])
    (tmp_path / "score.py").write_bytes(render_project(_choices())["score.py"])
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path))
    spec = importlib.util.spec_from_file_location("generated_score_with_objects", tmp_path / "score.py")
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    as_array, text_values, names = score.model_input, score.text_values, score.column_names
    joblib.dump(named, tmp_path / "iris.pkl")
    score.init()
    cols = list(named.feature_names_in_)
    obj = {cols[3]: 0.2, cols[0]: 5.1, cols[2]: "Sat", cols[1]: 3}
    assert score.run.__wrapped__([obj, [6.7, 3.0, 5.2, 2.3]]) == ["a"]
    assert given == [[[5.1, 3, "Sat", 0.2], [6.7, 3.0, 5.2, 2.3]]], given
    refused = score.run.__wrapped__([{**{k: v for k, v in obj.items() if k != cols[1]}, "colour": 1}])
    assert refused.status_code == 400 and refused.get_data() == (
        b'{"error": "row 0 must have the model\'s columns ' + ", ".join(cols).encode()
        + b'; missing: sepal width (cm); unknown: colour"}'), refused.get_data()
    joblib.dump(model, tmp_path / "iris.pkl")
    score.model_input, score.text_values, score.column_names = as_array, text_values, names  # a fresh scorer
    score.init()
    refused = score.run.__wrapped__([obj])
    assert refused.status_code == 400 and refused.get_data() == b'{"error": "row 0 must be a list of 4 numbers"}'


def test_score_py_answers_400_when_the_model_refuses_rows_with_text(iris_model, tmp_path, monkeypatch):
    """hwalk's day 1: a text in a numeric column of the churn Pipeline ({"tenure_months": "abc"}) was a
    500 from scikit-learn's 'could not convert string to float'; rows with text are checked only by the
    model, so its ValueError is the request's fault: a 400 with the model's words. Rows of numbers only,
    which score.py checks itself, still reach predict as before (its errors stay 500s)."""
    import importlib.util
    import sys
    import types

    class Frame:
        def __init__(self, rows, columns):
            self.rows = rows

    monkeypatch.setitem(sys.modules, "pandas", types.SimpleNamespace(DataFrame=Frame))
    model, _ = iris_model
    named = _fitted_on_a_dataframe(model)

    def predict(frame):
        if any(isinstance(v, str) for row in frame.rows for v in row):
            raise ValueError("could not convert string to float: 'abc'")
        return np.array([0] * len(frame.rows))

    named.predict = predict
    (tmp_path / "score.py").write_bytes(render_project(_choices())["score.py"])
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path))
    spec = importlib.util.spec_from_file_location("generated_score_refused_text", tmp_path / "score.py")
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    joblib.dump(named, tmp_path / "iris.pkl")
    score.init()
    refused = score.run.__wrapped__([[5.1, "abc", 1.4, 0.2]])
    assert refused.status_code == 400 and refused.get_data() == \
        b'{"error": "the model cannot take these rows: could not convert string to float: \'abc\'"}', refused.get_data()
