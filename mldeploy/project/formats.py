"""What model `mldeploy init --model PATH` was given, read from the file's bytes (never by running
it: a pickle runs code when loaded), so that score.py, environment.yml and sample-request.json fit
it: a scikit-learn model pickled with pickle or joblib (compressed or not), an ONNX model, or an
MLflow model folder holding one of those. Anything else is refused with one line saying what was
found and what is supported: a score.py that cannot load the model gives a project that only fails
later, at `mldeploy serve`.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from mldeploy.config import ConfigError
from mldeploy.plan.pickled import decompressed as _decompressed, pickle_modules, pickle_sklearn_version
from mldeploy.project.onnx_graph import OnnxGraph, OnnxInput, read_onnx

SUPPORTED = ("init writes score.py for a scikit-learn model pickled with joblib or pickle, an ONNX model, or an "
             "MLflow model folder (MLmodel) of flavor sklearn or onnx")
# What the scoring environment of a pickled model installs (environment.yml: scikit-learn, joblib,
# numpy and their own dependencies), beside the standard library: a pickle importing anything else
# needs its package added there.
PICKLE_ENVIRONMENT = frozenset({"sklearn", "joblib", "numpy", "scipy", "threadpoolctl"})
# Top-level module -> the PyPI package to add, where the two names differ or are worth naming.
PACKAGES = {"sklearn": "scikit-learn", "xgboost": "xgboost", "lightgbm": "lightgbm", "catboost": "catboost",
            "cloudpickle": "cloudpickle", "pandas": "pandas", "lz4": "lz4", "skops": "skops"}


@dataclass(frozen=True)
class ModelFormat:
    """What init read from the model: how score.py loads it and what a request holds."""

    kind: str  # "pickle" or "onnx"
    file: str  # the file score.py loads, relative to AZUREML_MODEL_DIR (the model's own folder)
    features: int | None = None  # values per row, when the file says
    named_columns: bool = False  # a scikit-learn model fitted on a pandas DataFrame
    modules: tuple[str, ...] = ()  # top-level modules a pickle imports that its environment lacks
    inputs: tuple[OnnxInput, ...] = ()  # an ONNX model's inputs, in the graph's order
    rows: int | None = None  # an ONNX model's fixed batch size (None: any number of rows)
    external: tuple[str, ...] = ()  # files an ONNX model keeps its weights in, relative to it
    others: tuple[str, ...] = ()  # other model files in the model's folder, which score.py does not load
    sklearn_version: str | None = None  # the scikit-learn an MLflow folder says the model was saved with


def _refuse(shown: str, found: str) -> ConfigError:
    return ConfigError("--model", f"{shown}: {found}; {SUPPORTED}")


def read_model(path: Path, shown: str) -> ModelFormat:
    """The format of the model at `path` (a file, or a folder holding the model's files); `shown`
    names it in errors. Raises ConfigError (exit 2) for anything init writes no score.py for."""
    if path.is_dir():
        return _read_folder(path, shown)
    found = _read_file(path, shown)
    if isinstance(found, str):
        raise _refuse(shown, found)
    if found.external:  # init copies or names the one file: its data files would be left behind
        raise _refuse(shown, f"an ONNX model whose weights are in other files ({', '.join(found.external)}; onnx "
                             "external data): give --model the folder holding the model and its data files")
    return found


def _read_file(path: Path, shown: str, file: str | None = None) -> ModelFormat | str:
    """A file's format, or a description of what it is when it is no model init can serve."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError("--model", f"{shown}: cannot read it: {err.strerror or err}") from None
    file = file or path.name
    if not data:
        return "an empty file"
    stream, packed = _decompressed(data)
    if stream is not None and stream[:1] == b"\x80":
        return _pickle(stream, file) if _whole_pickle(stream) else (
            f"a {packed} pickle that is cut short or damaged (it does not end with pickle's STOP opcode)"
            if packed else "a pickle that is cut short or damaged (it does not end with pickle's STOP opcode)")
    if packed == "lz4-compressed":  # joblib's lz4 needs the lz4 package to load (and to be read here)
        return ModelFormat("pickle", file, modules=("lz4",))
    if packed and stream is None:
        return f"a {packed} file that does not decompress (cut short?)"
    onnx = read_onnx(data)
    if onnx is None and _old_pickle(data):
        return _pickle(data, file)
    if isinstance(onnx, OnnxGraph):
        lacking = [name for name in onnx.external if not (path.parent / name).is_file()]
        if lacking:
            return (f"an ONNX model whose weights are in {', '.join(lacking)}, which is not beside it "
                    "(onnx external data: give --model the folder holding the model and its data files)")
        columns = sum(i.width for i in onnx.inputs)
        return ModelFormat("onnx", file, features=columns or None, inputs=onnx.inputs, rows=onnx.rows,
                           external=onnx.external)
    if onnx is not None:
        return onnx
    return _what(data)


def _what(data: bytes) -> str:
    """A few words on what a file that is no model init serves holds."""
    if data.startswith(b"PK\x03\x04"):
        return "a zip archive (a PyTorch .pt or Keras .keras file?), not a model init reads"
    if data.startswith(b"\x89HDF\r\n\x1a\n"):
        return "an HDF5 file (a Keras .h5 model?), not a model init reads"
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return "neither a pickle nor an ONNX model (unrecognised binary content)"
    return "a text file, not a model"


def _old_pickle(data: bytes) -> bool:
    """A pickle of protocol 0 or 1 (no PROTO opcode): every opcode valid up to a final STOP
    (pickletools.genops checks each; joblib, whose raw array bytes genops cannot walk, writes
    protocol 2+)."""
    import pickletools

    if not data.endswith(b"."):
        return False
    try:
        end = None
        for opcode, _, pos in pickletools.genops(data):
            end = pos if opcode.name == "STOP" else None
        return end == len(data) - 1
    except Exception:  # genops raises ValueError or others on bytes that are no pickle
        return False


def _whole_pickle(stream: bytes) -> bool:
    """A pickle of protocol 2-5 (PROTO opcode first) that ends with STOP ('.'): Lib/pickletools.py.
    joblib writes numpy arrays' bytes inside the stream, but the pickle's own STOP stays last."""
    return len(stream) > 2 and stream[1] in (2, 3, 4, 5) and stream.endswith(b".")


def _pickle(stream: bytes, file: str) -> ModelFormat:
    from mldeploy.project import stream_features, stream_has_column_names

    named = stream_has_column_names(stream)
    provided = PICKLE_ENVIRONMENT | ({"pandas"} if named else set())
    lacking = sorted(m for m in pickle_modules(stream)
                     if m not in provided and (m == "__main__" or m not in sys.stdlib_module_names))
    return ModelFormat("pickle", file, features=stream_features(stream), named_columns=named, modules=tuple(lacking),
                       sklearn_version=pickle_sklearn_version(stream))


# ----- folders

def _read_folder(folder: Path, shown: str) -> ModelFormat:
    """An MLflow model folder (its MLmodel file names the model's file per flavor), or a folder with
    one model file among others (the first pickle or ONNX model by name)."""
    if (folder / "MLmodel").is_file():
        return _mlflow(folder, shown)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    models = [f for f in (_read_file(p, shown, p.relative_to(folder).as_posix()) for p in files)
              if isinstance(f, ModelFormat)]
    if models:
        return replace(models[0], others=tuple(m.file for m in models[1:]))
    listed = ", ".join(p.relative_to(folder).as_posix() for p in files[:5]) + (", ..." if len(files) > 5 else "")
    raise _refuse(shown, f"a folder without a model file ({len(files)} files: {listed})" if files else "an empty folder")


def _mlflow(folder: Path, shown: str) -> ModelFormat:
    """An MLflow model folder: MLmodel's `flavors` (mlflow/models/model.py) say which file holds the
    model: sklearn's `pickled_model` (serialization_format pickle or cloudpickle, both loaded by
    pickle: mlflow/sklearn/__init__.py _load_model_from_local_file) or onnx's `data`
    (mlflow/onnx/__init__.py). score.py loads that file itself: mlflow is not installed in the
    scoring environment (mlflow-skinny 3.17.2 alone resolves to 41 packages in an empty virtualenv:
    databricks-sdk, fastapi, uvicorn, GitPython, ...: pip install --dry-run --report)."""
    where = f"{shown}/MLmodel"
    try:
        doc = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ConfigError("--model", f"{where}: not a readable MLmodel file ({type(err).__name__}); {SUPPORTED}") from None
    flavors = doc.get("flavors") if isinstance(doc, dict) else None
    if not isinstance(flavors, dict) or not flavors:
        raise ConfigError("--model", f"{where}: no flavors: key; {SUPPORTED}")
    sklearn, onnx = flavors.get("sklearn"), flavors.get("onnx")
    if isinstance(sklearn, dict) and isinstance(sklearn.get("pickled_model"), str):
        if sklearn.get("serialization_format", "cloudpickle") not in ("pickle", "cloudpickle"):
            raise ConfigError("--model", f"{where}: flavor sklearn with serialization_format "
                                         f"{sklearn.get('serialization_format')!r}; init reads pickle and cloudpickle")
        found = _flavor_file(folder, shown, sklearn["pickled_model"], "pickle")
        version = sklearn.get("sklearn_version")
        return replace(found, sklearn_version=str(version) if version else None)
    if isinstance(onnx, dict) and isinstance(onnx.get("data"), str):
        return _flavor_file(folder, shown, onnx["data"], "onnx")
    raise ConfigError("--model", f"{where}: an MLflow model of flavor {', '.join(map(str, flavors))}; {SUPPORTED}")


def _flavor_file(folder: Path, shown: str, name: str, kind: str) -> ModelFormat:
    path = (folder / name).resolve()
    if folder.resolve() not in path.parents or not path.is_file():
        raise ConfigError("--model", f"{shown}/MLmodel: the model file {name!r} it names is not in the folder")
    found = _read_file(path, f"{shown}/{name}", path.relative_to(folder.resolve()).as_posix())
    if isinstance(found, str) or found.kind != kind:
        raise _refuse(f"{shown}/{name}", found if isinstance(found, str) else f"not the {kind} its MLmodel says")
    return found
