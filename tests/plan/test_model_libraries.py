"""A pickled model against its image's pins (mldeploy/plan/model_libraries.py): the scikit-learn the pickle
records, NumPy 2's numpy._core, read from the bytes - never unpickled."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import joblib
import numpy
import pytest
import sklearn
import yaml
from sklearn.linear_model import LogisticRegression

from mldeploy.config import ConfigError
from mldeploy.config.stack import ImageSettings
from mldeploy.plan.model_libraries import check_model_libraries, model_library_warnings, pickled_models
from tests.harness import MLDEPLOY, copy_project

TRAINED = sklearn.__version__  # what this test's models are pickled by
ENV = "dependencies:\n  - python==3.11.15\n  - pip==26.0.1\n  - pip:\n{pins}"


class _Model:
    def __init__(self, path: str):
        self.path = path


class _Settings:
    """One image `iris` baking model `iris` (`model`: a file or folder under root) with the conda file's `pins`."""

    def __init__(self, root: Path, model: str, *pins: str):
        (root / "score.py").write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
        (root / "env.yml").write_text(ENV.format(pins="".join(f"      - {p}\n" for p in pins)))
        self.models = {"iris": _Model(model)}
        self.sections = {}
        self.images = {"iris": ImageSettings.model_validate(
            {"entryScript": "score.py", "condaFile": "env.yml", "models": ["iris"]}, context={"root": root})}


def _fitted() -> LogisticRegression:
    return LogisticRegression(max_iter=200).fit([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.2, 0.9]], [0, 1, 1, 0])


def test_a_model_pickled_by_another_scikit_learn_is_one_warning_naming_both_versions_and_the_fix(tmp_path):
    joblib.dump(_fitted(), tmp_path / "iris.pkl")
    warnings = model_library_warnings(_Settings(tmp_path, "iris.pkl", "scikit-learn==1.5.2"), tmp_path)
    assert warnings == [
        f"images.iris.condaFile: env.yml pins scikit-learn==1.5.2, but model 'iris' (iris.pkl) was pickled by "
        f"scikit-learn {TRAINED}: loading it there warns InconsistentVersionWarning, and an estimator from another "
        f"release may fail to load or predict otherwise; pin scikit-learn=={TRAINED} in env.yml, or retrain and save "
        "the model with the pinned release"], warnings


def test_the_same_scikit_learn_pinned_exactly_says_nothing(tmp_path):
    joblib.dump(_fitted(), tmp_path / "iris.pkl")
    assert model_library_warnings(_Settings(tmp_path, "iris.pkl", f"scikit-learn=={TRAINED}"), tmp_path) == []


def test_a_range_that_holds_the_version_still_warns_that_a_build_may_install_another(tmp_path):
    with open(tmp_path / "iris.pkl", "wb") as f:
        pickle.dump(_fitted(), f, protocol=2)
    (warning,) = model_library_warnings(_Settings(tmp_path, "iris.pkl", "scikit-learn>=1.5"), tmp_path)
    assert "env.yml asks for scikit-learn>=1.5, but model 'iris' (iris.pkl) was pickled by scikit-learn" in warning
    assert f"pin scikit-learn=={TRAINED} in env.yml" in warning, warning


def test_a_compressed_joblib_file_in_a_model_folder_is_read_too(tmp_path):
    (tmp_path / "model").mkdir()
    joblib.dump(_fitted(), tmp_path / "model" / "clf.joblib", compress=("xz", 3))
    (tmp_path / "model" / "notes.txt").write_text("not a model")
    (found,) = pickled_models(["iris"], {"iris": _Model("model")}, tmp_path)
    assert (found.path, found.sklearn) == ("model/clf.joblib", TRAINED), found


@pytest.mark.skipif(numpy.__version__ < "2", reason="needs a NumPy 2 pickle")
def test_a_numpy_2_pickle_where_numpy_1_is_pinned_is_refused_naming_the_key_the_file_and_the_fix(tmp_path):
    with open(tmp_path / "iris.pkl", "wb") as f:  # pickle writes each array through numpy._core.multiarray
        pickle.dump(_fitted(), f)
    with pytest.raises(ConfigError) as err:
        check_model_libraries(_Settings(tmp_path, "iris.pkl", f"scikit-learn=={TRAINED}", "numpy==1.26.4"), tmp_path)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith("mldeploy:images.iris.condaFile: env.yml pins numpy==1.26.4, but model 'iris' (iris.pkl) "
                           "was pickled by NumPy 2"), text
    assert "No module named 'numpy._core'" in text and "pin the numpy the model was trained with" in text, text
    for allowed in ("numpy==2.4.6", "numpy>=2", "numpy"):
        check_model_libraries(_Settings(tmp_path, "iris.pkl", f"scikit-learn=={TRAINED}", allowed), tmp_path)


@pytest.mark.skipif(numpy.__version__ < "2", reason="needs a NumPy 2 pickle")
def test_numpy_installed_by_pip_over_conda_or_pinned_under_markers_is_not_refused(tmp_path):
    """What the image surely installs counts: pip's lines over conda's packages, and no line under a marker
    (tests/config/valid_stacks.py's corpus: both stacks were refused when pins were merged blindly)."""
    with open(tmp_path / "iris.pkl", "wb") as f:
        pickle.dump(_fitted(), f)
    settings = _Settings(tmp_path, "iris.pkl", 'numpy==1.26.4; python_version < "3.10"',
                         'numpy==2.4.6; python_version >= "3.10"')
    check_model_libraries(settings, tmp_path)
    env = tmp_path / "env.yml"
    env.write_text("dependencies:\n  - python==3.11.15\n  - numpy=1.26\n  - pip==26.0.1\n  - pip:\n      - numpy==2.4.6\n")
    check_model_libraries(settings, tmp_path)  # pip installs 2.4.6 over conda's 1.26
    env.write_text("dependencies:\n  - python==3.11.15\n  - numpy=1.26\n  - pip==26.0.1\n")
    with pytest.raises(ConfigError, match=r"env.yml pins numpy==1\.26\.\*, but model 'iris'"):
        check_model_libraries(settings, tmp_path)  # conda's numpy 1.26 alone


def test_a_batch_deployment_s_own_environment_is_compared_too(tmp_path):
    """The batch stack's entry loads model diabetes with examples/diabetes/batch-env.yml (not an image's file)."""
    from mldeploy.targets.stack import load_stack
    project = copy_project(tmp_path, "batch")
    env_file = project / "examples" / "diabetes" / "batch-env.yml"
    env_file.write_text(env_file.read_text().replace(f"scikit-learn=={TRAINED}", "scikit-learn==1.5.2"))
    warnings = model_library_warnings(load_stack(project, "batch"), project)
    batch = [w for w in warnings if w.startswith("batch.")]
    expected = ".condaFile: examples/diabetes/batch-env.yml pins scikit-learn==1.5.2, but model 'diabetes'"
    assert len(batch) == 1 and expected in batch[0], warnings


class _Boom:
    """Unpickling this runs a command that leaves a file behind: a model file nobody should load to read it."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_the_model_is_read_from_its_bytes_never_unpickled(tmp_path):
    marker = tmp_path / "ran"
    payload = {"_sklearn_version": "1.0.2", "x": _Boom(marker)}
    with open(tmp_path / "iris.pkl", "wb") as f:
        pickle.dump(payload, f, protocol=4)
    (warning,) = model_library_warnings(_Settings(tmp_path, "iris.pkl", f"scikit-learn=={TRAINED}"), tmp_path)
    assert "was pickled by scikit-learn 1.0.2" in warning, warning
    assert not marker.exists(), "reading the model's versions ran the pickle's code"


@pytest.mark.slow
def test_synth_warns_and_refuses_as_the_environment_file_says(tmp_path):
    """The whole path: `mldeploy synth` of the dev stack with the example's myenv.yml pinning another
    scikit-learn (a warning, exit 0), then NumPy 1.x (one error line, exit 2)."""
    project = copy_project(tmp_path, "dev")
    env_file = project / "examples" / "diabetes" / "myenv.yml"
    doc = yaml.safe_load(env_file.read_text())
    pip = doc["dependencies"][-1]["pip"]

    def synth_with(**pins: str) -> subprocess.CompletedProcess:
        doc["dependencies"][-1]["pip"] = [next((f"{k}=={v}" for k, v in pins.items() if line.startswith(f"{k}==")), line)
                                          for line in pip]
        env_file.write_text(yaml.safe_dump(doc))
        return subprocess.run([*MLDEPLOY, "synth", "--stack", "dev"], cwd=project, capture_output=True, text=True,
                              timeout=600, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})

    done = synth_with(**{"scikit-learn": "1.5.2"})
    assert done.returncode == 0, done.stderr[-2000:]
    # (the program's own pulumi.log.warn prints the line bare under the mocks too, as it does stack_warnings')
    lines = [line for line in done.stderr.splitlines() if "InconsistentVersionWarning" in line and line.startswith("warning:")]
    assert lines == [f"warning: stacks/Pulumi.dev.yaml: images.diabetes.condaFile: examples/diabetes/myenv.yml pins "
                     f"scikit-learn==1.5.2, but model 'diabetes' (examples/diabetes/outputs/sklearn_regression_model.pkl) "
                     f"was pickled by scikit-learn {TRAINED}: loading it there warns InconsistentVersionWarning, and an "
                     f"estimator from another release may fail to load or predict otherwise; pin scikit-learn=={TRAINED} "
                     "in examples/diabetes/myenv.yml, or retrain and save the model with the pinned release"], done.stderr
    done = synth_with(**{"scikit-learn": TRAINED, "numpy": "1.26.4"})
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "numpy._core" in errors[0] and "mldeploy:images.diabetes.condaFile" in errors[0], \
        done.stderr
    assert "Traceback" not in done.stderr
