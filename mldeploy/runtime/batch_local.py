"""Run a batch entry's driver script on this machine, the way an Azure ML batch deployment does:
the registered model's files under AZUREML_MODEL_DIR, init() once, run(mini_batch) over the
input files in mini-batches of `miniBatchSize`, retries and the error threshold as configured -
all decided in its plan (plan/batch.py, LocalBatchPlan)."""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from unittest import mock

from mldeploy.plan.batch import LocalBatchPlan
from mldeploy.plan.models import ResolvedModel
from mldeploy.plan.v1_script import scan
from mldeploy.scoring import V1_SHIM


class BatchRunError(Exception):
    """The job failed as Azure ML would fail it (error threshold passed, or init() raised)."""


@dataclass
class BatchRunResult:
    rows: list[str]
    files: int
    mini_batches: int
    failed_files: list[str] = field(default_factory=list)
    last_error: str = ""  # what run() raised for the last failed mini-batch (its repr)


def input_files(folder: Path) -> list[Path]:
    """Every non-hidden file under the folder, in a stable order (Azure ML hands a job every
    file of its input folder, too)."""
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


@contextmanager
def _model_dir(model: ResolvedModel) -> Iterator[Path]:
    """The model's files in Azure ML's layout, `azureml-models/<name>/<version>/` (the folder
    AZUREML_MODEL_DIR names, and where an SDK v1 driver's Model.get_model_path looks)."""
    with tempfile.TemporaryDirectory(prefix="mldeploy-batch-model-") as tmp:
        folder = Path(tmp) / "azureml-models" / model.name / model.version
        for rel, path in model.files:
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        yield folder


@contextmanager
def _v1_stand_in(script: Path) -> Iterator[None]:
    """An SDK v1 driver (`from azureml.core.model import Model`) runs here without azureml-core:
    mldeploy's stand-in (mldeploy/scoring/v1-shim) on the path while it runs, unless this
    Python has azureml-core; its modules are dropped afterwards."""
    found = scan(script.read_bytes())
    if not found or not found.imports_core or importlib.util.find_spec("azureml") is not None:
        yield
        return
    sys.path.append(str(V1_SHIM))
    try:
        yield
    finally:
        sys.path.remove(str(V1_SHIM))
        for name in [n for n in sys.modules if n == "azureml" or n.startswith("azureml.")]:
            del sys.modules[name]


@contextmanager
def _code_folder(entry: LocalBatchPlan) -> Iterator[Path]:
    """The driver to load: with a sourceDirectory, its copy in a folder of the shipped files, which
    is on the import path while the run lasts (the job's code folder); the modules imported from it
    are dropped afterwards, so a second run imports them afresh. Else the project's own file."""
    if not entry.code_files:
        yield entry.script
        return
    with tempfile.TemporaryDirectory(prefix="mldeploy-batch-code-") as tmp:
        folder = Path(tmp)
        for rel, path in entry.code_files:
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, folder / rel)
        sys.path.insert(0, str(folder))
        try:
            yield folder / entry.script_in_source
        finally:
            sys.path.remove(str(folder))
            for name, module in list(sys.modules.items()):
                if str(getattr(module, "__file__", None) or "").startswith(str(folder)):
                    del sys.modules[name]


def _load_script(path: Path) -> Any:
    # A fresh module each time: two runs never share the script's globals.
    spec = importlib.util.spec_from_file_location(f"mldeploy_batch_driver_{uuid.uuid4().hex}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for fn in ("init", "run"):
        if not callable(getattr(module, fn, None)):
            raise BatchRunError(f"{path}: the batch driver must define {fn}()")
    return module


def run_batch(entry: LocalBatchPlan, input_dir: Path) -> BatchRunResult:
    """Score every file of `input_dir` with the entry's driver script; return the output rows."""
    files = input_files(input_dir)
    if not files:
        raise BatchRunError(f"no input files in {input_dir}")
    with _model_dir(entry.model) as model_dir, _code_folder(entry) as script, _v1_stand_in(script), \
            mock.patch.dict(os.environ, {**dict(entry.environment_variables), "AZUREML_MODEL_DIR": str(model_dir)}):
        try:
            driver = _load_script(script)
            driver.init()
        except ModuleNotFoundError as exc:
            raise BatchRunError(_missing_module(entry, exc)) from None
        except BatchRunError:
            raise
        except Exception as exc:  # the job fails before any mini-batch, as on Azure ML
            raise BatchRunError(f"init() failed: {exc!r}") from exc
        size = entry.mini_batch_size
        batches = [files[i:i + size] for i in range(0, len(files), size)]
        rows: list[str] = []
        failed: list[str] = []
        last_error: Exception | None = None
        for batch in batches:
            result, error = None, None
            for _ in range(entry.max_retries + 1):
                try:
                    result = driver.run([str(p) for p in batch])
                    error = None
                    break
                except ModuleNotFoundError as exc:  # this Python's, not the data's: no retry mends it
                    raise BatchRunError(_missing_module(entry, exc)) from None
                except Exception as exc:  # retried like a failed mini-batch
                    error = exc
            if error is not None:
                failed.extend(str(p) for p in batch)
                last_error = error
                if entry.error_threshold != -1 and len(failed) > entry.error_threshold:
                    raise BatchRunError(
                        f"{len(failed)} failed file(s) > errorThreshold ({entry.error_threshold}); "
                        f"last error: {error!r}")
                continue
            rows.extend(str(item) for item in _as_rows(result))
    return BatchRunResult(rows=rows, files=len(files), mini_batches=len(batches), failed_files=failed,
                          last_error=repr(last_error) if last_error is not None else "")


def _missing_module(entry: LocalBatchPlan, exc: ModuleNotFoundError) -> str:
    """A driver that imports what mldeploy's Python lacks (joblib, scikit-learn: the job's environment has
    them, a project's virtualenv holds mldeploy and Pulumi): which module, and the packages to install here."""
    python = Path(sys.executable)
    pins = " ".join(f"'{pin}'" for pin in entry.environment_pins)
    return (f"{entry.script.name} imports module {exc.name!r}, which this Python ({python}) does not have: "
            f"`mldeploy batch` runs the driver in the Python mldeploy runs in, not in the job's environment "
            f"({entry.environment_file}); install that environment's packages here: "
            f"{python} -m pip install {pins}")


def _as_rows(result: Any) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, (str, bytes)):
        return [result]
    return list(result)
