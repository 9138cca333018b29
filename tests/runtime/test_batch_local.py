"""`mldeploy batch`: the batch driver run locally equals model.predict, with Azure ML's rules."""
from __future__ import annotations

import os
import shutil

import csv
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest

from mldeploy.targets.batch.plan import plan_local_batch
from mldeploy.runtime.batch_local import BatchRunError, input_files, run_batch
from mldeploy.config import ConfigError
from mldeploy.targets.stack import load_stack, parse_settings
from tests.harness import ROOT, stack_values

INPUT = ROOT / "examples" / "diabetes" / "batch-input"


def _expected(model_path: Path) -> dict[tuple[str, int], float]:
    model = joblib.load(model_path)
    out = {}
    for path in input_files(INPUT):
        with path.open(newline="") as handle:
            rows = [[float(v) for v in r] for r in list(csv.reader(handle))[1:] if r]
        for i, value in enumerate(model.predict(np.asarray(rows))):
            out[(path.name, i)] = float(value)
    return out


def _parse(lines) -> dict[tuple[str, int], float]:
    out = {}
    for line in lines:
        name, row, value = line.split(",")
        out[(name, int(row))] = float(value)
    return out


def test_cli_output_equals_model_predict(tmp_path, trained_model):
    output = tmp_path / "out" / "predictions.csv"
    proc = subprocess.run([sys.executable, "-m", "mldeploy", "batch", "--stack", "batch",
                           "--input", str(INPUT), "--output", str(output)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    got = _parse(output.read_text().splitlines())
    expected = _expected(trained_model)
    assert len(expected) == 25, "the example CSVs hold 25 rows"
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == value, f"{key}: batch output {got[key]} != model.predict {value}"
    assert "3 file(s) in 2 mini-batch(es): 25 row(s)" in proc.stdout


def test_an_output_that_cannot_be_written_is_one_error_line_before_the_job_runs(tmp_path, trained_model):
    # hreview's trial: an --output under a file (or on a read-only place) was OSError's traceback,
    # after the whole job had been scored.
    (tmp_path / "predictions.csv").write_text("an earlier run's rows\n")
    proc = subprocess.run([sys.executable, "-m", "mldeploy", "batch", "--stack", "batch", "--input", str(INPUT),
                           "--output", str(tmp_path / "predictions.csv" / "today.csv")], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.splitlines() == [f"error: --output {tmp_path}/predictions.csv/today.csv: cannot write it "
                                        f"there: File exists ({tmp_path}/predictions.csv)"], proc.stderr
    assert "scored" not in proc.stdout, "the check comes before the job"


@pytest.mark.parametrize("where", ["patients-1.csv", "predictions.csv", "out/predictions.csv"])
def test_an_output_inside_the_input_folder_is_refused_before_the_job_runs(where, tmp_path, trained_model):
    # hbad2's sweep: `--output <input>/patients-1.csv` replaced that input file with the rows (exit 0), and an
    # output beside the inputs was scored as an input by the next run (every file under --input is one).
    inputs = tmp_path / "input"
    shutil.copytree(INPUT, inputs)
    before = {p.name: p.read_bytes() for p in inputs.iterdir()}
    proc = subprocess.run([sys.executable, "-m", "mldeploy", "batch", "--stack", "batch", "--input", str(inputs),
                           "--output", str(inputs / where)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(f"error: --output {inputs / where} is inside --input {inputs}"), proc.stderr
    assert {p.name: p.read_bytes() for p in inputs.iterdir()} == before, "the inputs must stay as they were"


def test_mini_batches_follow_mini_batch_size():
    settings = load_stack(ROOT, "batch")
    result = run_batch(plan_local_batch(settings, None, ROOT), INPUT)
    assert (result.files, result.mini_batches) == (3, 2)  # miniBatchSize: 2


FLAKY = """
import os
calls = []
def init():
    pass
def run(mini_batch):
    calls.append(mini_batch)
    if any("patients-2" in p for p in mini_batch) and int(os.environ.get("FAILS", "0")) >= len(calls):
        raise RuntimeError("transient")
    return [os.path.basename(p) for p in mini_batch]
"""


@pytest.fixture
def driver_root(tmp_path):
    """A project root holding a copy of the batch stack, examples linked, and a custom driver."""
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    shutil.copytree(ROOT / "examples", root / "examples", ignore=shutil.ignore_patterns("__pycache__"))  # a link out of the project is refused
    return root


def _run(root: Path, script: str, **change):
    (root / "driver.py").write_text(script)
    values, keys = stack_values("batch")
    values["mldeploy:batch"]["nightly"].update({"entryScript": "driver.py", **change})
    settings = parse_settings("batch", values, keys, root, "stacks/Pulumi.batch.yaml")
    return run_batch(plan_local_batch(settings, None, root), INPUT)


def test_a_failing_mini_batch_is_retried(driver_root, monkeypatch):
    monkeypatch.setenv("FAILS", "1")
    result = _run(driver_root, FLAKY, maxRetries=1, miniBatchSize=1)
    assert result.failed_files == []
    assert sorted(result.rows) == ["patients-1.csv", "patients-2.csv", "patients-3.csv"]


def test_error_threshold_aborts_the_job(driver_root, monkeypatch):
    monkeypatch.setenv("FAILS", "99")
    with pytest.raises(BatchRunError, match=r"errorThreshold \(0\)"):
        _run(driver_root, FLAKY, maxRetries=0, miniBatchSize=1, errorThreshold=0)


def test_threshold_minus_one_ignores_failures(driver_root, monkeypatch):
    monkeypatch.setenv("FAILS", "99")
    result = _run(driver_root, FLAKY, maxRetries=0, miniBatchSize=1, errorThreshold=-1)
    assert [Path(p).name for p in result.failed_files] == ["patients-2.csv"]
    assert sorted(result.rows) == ["patients-1.csv", "patients-3.csv"]


def test_unknown_entry_name_is_a_config_error():
    with pytest.raises(ConfigError, match="no entry 'weekly'"):
        plan_local_batch(load_stack(ROOT, "batch"), "weekly", ROOT)


V1_DRIVER = """
import os
import sys
from azureml.core.model import Model
path = None
def init():
    global path
    path = Model.get_model_path('diabetes')
def run(mini_batch):
    return [path for _ in mini_batch]
"""


def test_an_sdk_v1_driver_finds_its_model_with_get_model_path(driver_root):
    """A ParallelRunStep-style driver (`Model.get_model_path`) runs here without azureml-core:
    the stand-in is on the path while it runs, and gone afterwards."""
    import importlib.util

    assert importlib.util.find_spec("azureml") is None, "this test needs a Python without azureml-core"
    result = _run(driver_root, V1_DRIVER, miniBatchSize=3)
    assert len(result.rows) == 3 and len(set(result.rows)) == 1, result.rows
    assert result.rows[0].endswith("azureml-models/diabetes/1/sklearn_regression_model.pkl"), result.rows[0]
    assert importlib.util.find_spec("azureml") is None, "the stand-in left on the path"


def test_a_driver_imports_the_modules_of_its_source_directory(tmp_path, trained_model):
    """batch.<name>.sourceDirectory: the driver's helpers import, from a copy of the shipped files
    (as from the job's code folder), and are dropped after the run."""
    root = tmp_path / "p"
    (root / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(ROOT / "examples/diabetes-src/src/features", root / "src/features")
    driver = (ROOT / "examples/diabetes/batch_score.py").read_text()
    assert "N_FEATURES = 10\n" in driver
    (root / "src/batch_score.py").write_text(driver.replace("N_FEATURES = 10\n", "from features.rows import N_FEATURES\n"))
    shutil.copy(ROOT / "examples/diabetes/batch-env.yml", root / "batch-env.yml")
    shutil.copy(trained_model, root / "sklearn_regression_model.pkl")
    (root / "stacks/Pulumi.batch.yaml").write_text("""config:
  azure-native:location: westeurope
  mldeploy:models:
    diabetes:
      path: sklearn_regression_model.pkl
      version: 1
  mldeploy:batch:
    nightly:
      model: diabetes
      sourceDirectory: src
      entryScript: batch_score.py
      condaFile: batch-env.yml
      miniBatchSize: 2
""")
    settings = load_stack(root, "batch")
    result = run_batch(plan_local_batch(settings, None, root), INPUT)
    assert _parse(result.rows) == _expected(trained_model)
    assert "features" not in sys.modules, "the source directory's modules are dropped after the run"


def test_the_jobs_environment_variables_are_set_around_init_and_run(driver_root):
    script = """import os

seen = []


def init():
    seen.append(os.environ["FEATURE_FLAG"])


def run(mini_batch):
    return [f"{seen[0]}-{os.environ['LOG_LEVEL']}" for _ in mini_batch]
"""
    result = _run(driver_root, script, environmentVariables={"FEATURE_FLAG": "on", "LOG_LEVEL": "debug"})
    assert set(result.rows) == {"on-debug"}, result.rows
    assert "FEATURE_FLAG" not in os.environ, "the job's variables leak into mldeploy's own process"


def test_a_module_the_driver_lacks_here_names_the_packages_of_the_jobs_environment(driver_root):
    # hwalk3's own-repo walk: a project's virtualenv holds mldeploy and Pulumi, not joblib, and the
    # diabetes-style driver ended `mldeploy batch` in ModuleNotFoundError's traceback.
    script = "import joblib_not_installed_here\n\n\ndef init():\n    pass\n\n\ndef run(mini_batch):\n    return []\n"
    with pytest.raises(BatchRunError) as raised:
        _run(driver_root, script)
    message = str(raised.value)
    assert message.startswith("driver.py imports module 'joblib_not_installed_here', which this Python"), message
    assert "(condaFile examples/diabetes/batch-env.yml)" in message, message
    assert message.endswith(f"{sys.executable} -m pip install 'scikit-learn==1.9.1' 'joblib==1.6.0' 'numpy==2.4.6'"), \
        "the packages of the job's environment but azureml-core (the stand-in covers a local run): " + message


def test_a_module_run_imports_lazily_and_lacks_here_stops_the_run_naming_the_packages(driver_root):
    # hwalk3: init's driver imports pandas in run() for a model fitted on a DataFrame; without pandas here every
    # mini-batch failed, was retried, and the run ended 'warning: 1 file(s) failed' saying nothing of why.
    script = "def init():\n    pass\n\n\ndef run(mini_batch):\n    import pandas_not_installed_here\n    return []\n"
    with pytest.raises(BatchRunError, match=r"^driver.py imports module 'pandas_not_installed_here', which this Python"):
        _run(driver_root, script, errorThreshold=-1)


def test_failed_files_come_with_the_last_error(driver_root, monkeypatch):
    monkeypatch.setenv("FAILS", "99")
    result = _run(driver_root, FLAKY, maxRetries=0, miniBatchSize=1, errorThreshold=-1)
    assert result.last_error == "RuntimeError('transient')", result.last_error
