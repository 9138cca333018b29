"""A pickled model against the libraries its image installs: the scikit-learn the pickle was written by
(BaseEstimator pickles `_sklearn_version` into each estimator's state) and whether NumPy 2 wrote it (it imports
numpy._core), compared with what the environment file that loads it pins: an image's, or a section entry's own (a batch
deployment's conda or requirements file).

scikit-learn loads an estimator pickled by another release with an InconsistentVersionWarning
(sklearn/base.py BaseEstimator.__setstate__, any difference, patch releases included: "This might lead to
breaking code or invalid results. Use at your own risk."; https://scikit-learn.org/stable/model_persistence.html,
"InconsistentVersionWarning"), so a differing or unpinned scikit-learn is a warning naming both versions. A NumPy 2 pickle in an image pinning NumPy 1.x cannot
load at all (plan/pickled.py NUMPY_2_MODULE): that is refused when the stack is loaded, before anything is
built. The model is read from its bytes, never unpickled (plan/pickled.py says why).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError
from mldeploy.config.requirements import read_requirements
from mldeploy.plan.pickled import decompressed, pickle_sklearn_version, pickled_by_numpy_2
from mldeploy.scoring.environment import installed_specifier

# The files of a model folder read as pickles (joblib's and MLflow's model.pkl included); a one-file model
# is read whatever its name.
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".sav")
# Bigger files are not read a second time for this (their digest is read anyway, plan/models.py).
MAX_READ_BYTES = 2 * 1024 ** 3


@dataclass(frozen=True)
class PickledModel:
    """One model file: the model's stack name, its path (project-relative) and what its bytes say."""

    model: str
    path: str
    sklearn: str | None
    numpy_2: bool


def pickled_models(names, models, root: Path) -> list[PickledModel]:
    """Every pickle among the files of the models `names` that records a scikit-learn version or NumPy 2."""
    found = []
    for name in names:
        entry = models.get(name)
        if entry is None:
            continue
        path = root / entry.path
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()
                                                      and p.name.lower().endswith(PICKLE_SUFFIXES))
        for file in files:
            try:
                if file.stat().st_size > MAX_READ_BYTES:
                    continue
                stream, _ = decompressed(file.read_bytes())
            except OSError:
                continue  # the model's own checks report an unreadable file
            if stream is None or not (stream.startswith(b"\x80") or stream.endswith(b".")):
                continue  # no pickle (ONNX, a text file)
            sklearn, numpy_2 = pickle_sklearn_version(stream), pickled_by_numpy_2(stream)
            if sklearn or numpy_2:
                found.append(PickledModel(name, file.relative_to(root).as_posix(), sklearn, numpy_2))
    return found


def _model_environments(settings) -> list[tuple[str, str, str, str, tuple[str, ...]]]:
    """(the owner's key, the environment's key, its path, its kind, the models it loads): every image's, and
    every section entry's own (a batch deployment's)."""
    found = [(f"images.{name}", *(("requirementsFile", str(image.requirements_file), "pip")
                                  if image.requirements_file is not None else ("condaFile", str(image.conda_file), "conda")),
              tuple(image.models))
             for name, image in sorted(settings.images.items())]
    for section, entries in settings.sections.items():
        for name, entry in sorted(entries.items()):
            found += [(f"{section}.{name}", *env) for env in entry.model_environments()]
    return found


def _environment_text(path: str, kind: str, root: Path) -> str | None:
    """The file's requirements and constraints as one text (a requirements file with what it includes), or None."""
    try:
        if kind == "pip":
            tree = read_requirements(path, root)
            return "".join(line + "\n" for line in tree.requirements + tree.constraints)
        return (root / path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _exact(specifier: SpecifierSet) -> str | None:
    """The one version `==X` / `===X` allows (no wildcard), else None."""
    pins = [s.version for s in specifier if s.operator in ("==", "===") and not s.version.endswith(".*")]
    return pins[0] if len(pins) == 1 else None


def _below_numpy_2(specifier: SpecifierSet) -> bool:
    """Whether the specifier allows no NumPy 2 or later: an exact 1.x, `==1.*`, `~=1.26`, `<2`, `<=1.26.4`."""
    for spec in specifier:
        try:
            version = Version(spec.version.removesuffix(".*"))
        except InvalidVersion:
            continue
        if (spec.operator in ("==", "===", "~=") and version.major < 2) or \
                (spec.operator == "<" and version <= Version("2")) or (spec.operator == "<=" and version < Version("2")):
            return True
    return False


def _problems(settings, root: Path) -> tuple[list[ConfigError], list[str]]:
    errors, warnings = [], []
    for owner, key, env_file, kind, names in _model_environments(settings):
        pickles = pickled_models(names, settings.models, root)
        text = _environment_text(env_file, kind, root) if pickles else None
        if text is None:
            continue
        where = f"{PROJECT}:{owner}.{key}"
        sklearn_spec, numpy_spec = installed_specifier(kind, text, "scikit-learn"), installed_specifier(kind, text, "numpy")
        for found in pickles:
            what = f"model {found.model!r} ({found.path})"
            if found.numpy_2 and numpy_spec is not None and _below_numpy_2(numpy_spec):
                errors.append(ConfigError(where, f"{env_file} pins numpy{numpy_spec}, but {what} was pickled by NumPy 2 (it "
                                                 "imports numpy._core, which NumPy 1.x lacks): init() would stop "
                                                 "with \"ModuleNotFoundError: No module named 'numpy._core'\" (numpy/numpy#28340); "
                                                 "pin the numpy the model was trained with (2.x), or re-save the model under "
                                                 "NumPy 1.x"))
            if found.sklearn is None or sklearn_spec is None or _exact(sklearn_spec) == found.sklearn:
                continue
            consequence = ("loading it there warns InconsistentVersionWarning, and an estimator from another release may "
                           "fail to load or predict otherwise")
            if sklearn_spec.contains(found.sklearn, prereleases=True):  # a range, or the name alone
                asks = f"asks for scikit-learn{sklearn_spec or ' in any version'}"
                consequence = f"a build installs whichever release that resolves to then, and {consequence}"
                fix = f"pin scikit-learn=={found.sklearn} in {env_file}"
            else:
                asks = f"pins scikit-learn{sklearn_spec}"
                fix = f"pin scikit-learn=={found.sklearn} in {env_file}, or retrain and save the model with the pinned release"
            warnings.append(f"{owner}.{key}: {env_file} {asks}, but {what} was pickled by scikit-learn "
                            f"{found.sklearn}: {consequence}; {fix}")
    return errors, warnings


def check_model_libraries(settings, root: Path) -> None:
    """Refuse an image whose environment cannot load a model it bakes in (NumPy 2 pickle, NumPy 1.x pin)."""
    errors, _ = _problems(settings, root)
    if errors:
        raise errors[0]


def model_library_warnings(settings, root: Path) -> list[str]:
    """One line per model file whose recorded scikit-learn its image's environment does not pin exactly."""
    return _problems(settings, root)[1]
