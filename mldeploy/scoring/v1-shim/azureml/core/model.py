"""`Model.get_model_path` of the Azure ML SDK v1 (azureml-core), for scoring scripts served by
mldeploy without azureml-core installed. Standard library only.

The search follows azureml-core's own (azureml/core/model.py, `get_model_path` and
`_get_model_path_local`, 1.x): models live in `<AML_APP_ROOT>/azureml-models/<name>/<version>/`;
without `version` the highest version there is taken; a version folder holding one file or
folder gives that path, and the model name as a path relative to the working folder is the last
resort. On top of that, for the layouts mldeploy deploys to:
- the models folder is also the `azureml-models` folder that AZUREML_MODEL_DIR is or lies in
  (the local target keeps the script and the models apart; v2 online endpoints mount a model at
  /var/azureml-app/azureml-models/<name>/<version>, Microsoft's how-to-deploy-custom-container.md);
- versions need not be numbers (mldeploy derives one from the content when the stack sets none);
- a stack's model names are lowercase with '-': `My_Model` finds `my-model`, and a name that is
  the file name of exactly one model (v1 scripts often register a file under its own name) finds
  that model;
- a registered folder is given as its folder: mldeploy's images hold the folder's files directly
  in the version folder, which `mldeploy-models.json` (written next to this file) records, so a
  folder holding a single file is still returned as the folder - what the script joins names to.
"""
from __future__ import annotations

import json
import os

MODELS_FOLDER = "azureml-models"
MANIFEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mldeploy-models.json")


class ModelNotFoundException(Exception):
    """As azureml.exceptions.ModelNotFoundException: no such model (or version) is deployed."""


class _ModelType(type):
    def __getattr__(cls, name):
        raise AttributeError(
            f"Model.{name} is part of the Azure ML SDK v1 (azureml-core), which mldeploy does not install: a "
            "deployed script can use Model.get_model_path only (the v2 way: os.environ['AZUREML_MODEL_DIR'])")


class Model(metaclass=_ModelType):
    """Only the class method a scoring script uses: `Model.get_model_path(name, version=None)`."""

    def __init__(self, *args, **kwargs):
        raise TypeError("Model(workspace, ...) needs the Azure ML SDK v1 and a workspace; a deployed script "
                        "finds its model files with Model.get_model_path(name) or AZUREML_MODEL_DIR")

    @staticmethod
    def get_model_path(model_name, version=None, _workspace=None):
        """The path of model `model_name` (its file, or its folder) in this deployment."""
        if _workspace is not None:
            raise ModelNotFoundException("get_model_path(_workspace=...) downloads from a workspace, which a "
                                         "deployment has none of: the deployed models are found without it")
        if not isinstance(model_name, str) or not model_name:
            raise ModelNotFoundException(f"model_name must be a model's name, not {model_name!r}")
        if version is not None and (isinstance(version, bool) or not isinstance(version, (int, str))):
            raise ModelNotFoundException(f"version should be an int, not {version!r}")
        roots = _models_roots()
        for root in roots:
            name = _deployed_name(root, model_name)
            if name is not None:
                folder = os.path.join(root, name)
                chosen = _version(folder, name, version)
                return _entry(os.path.join(folder, chosen), name, chosen)
        if version is None and os.path.exists(model_name):  # azureml-core's last resort: ./<name>
            return model_name
        deployed = sorted({f"{name}:{v}" for root in roots for name in _listdir(root)
                           for v in _listdir(os.path.join(root, name))})
        raise ModelNotFoundException(
            f"model {model_name!r}{'' if version is None else f' version {version}'} is not deployed here "
            f"(searched {', '.join(roots) or 'no models folder'}); deployed: {', '.join(deployed) or 'none'}")


def _models_roots() -> list[str]:
    roots = [os.path.join(os.environ.get("AML_APP_ROOT", ""), MODELS_FOLDER)]
    model_dir = os.environ.get("AZUREML_MODEL_DIR")
    if model_dir:
        path = os.path.abspath(model_dir)
        while True:
            if os.path.basename(path) == MODELS_FOLDER:
                roots.append(path)
                break
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
    return [r for r in dict.fromkeys(os.path.abspath(r) for r in roots) if os.path.isdir(r)]


def stack_name(model_name: str) -> str:
    """The name a v1 registered name has in a stack file, whose model names are lowercase
    letters, digits and '-': `My_Model` -> `my-model`."""
    return model_name.lower().replace("_", "-")


def _deployed_name(root: str, model_name: str):
    """The folder of `model_name` under `root`: the name itself, its stack spelling, or the model
    whose one registered file has that name (v1 scripts often register a file under its name,
    e.g. get_model_path('sklearn_regression_model.pkl'))."""
    for name in (model_name, stack_name(model_name)):
        if os.path.isdir(os.path.join(root, name)):
            return name
    owners = sorted({key.split("/")[0] for key, known in _manifest().items() if known.get("file") == model_name})
    if len(owners) == 1 and os.path.isdir(os.path.join(root, owners[0])):
        return owners[0]
    return None


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _version(folder: str, model_name: str, version) -> str:
    versions = [v for v in _listdir(folder) if os.path.isdir(os.path.join(folder, v))]
    if version is not None:
        if str(version) in versions:
            return str(version)
        raise ModelNotFoundException(f"model {model_name!r} has no version {version} here; deployed versions: "
                                     f"{', '.join(versions) or 'none'}")
    if len(versions) == 1:
        return versions[0]
    if versions and all(v.isdigit() for v in versions):
        return max(versions, key=int)  # azureml-core: the latest (highest) version
    raise ModelNotFoundException(f"model {model_name!r} is deployed in versions {', '.join(versions) or 'none'}: "
                                 "pass version= to get_model_path")


def _manifest() -> dict:
    try:
        with open(MANIFEST, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _entry(folder: str, model_name: str, version: str) -> str:
    entries = _listdir(folder)
    known = _manifest().get(f"{model_name}/{version}") or {}
    if "file" in known and known["file"] in entries:
        return os.path.join(folder, known["file"])
    if "folder" in known and sorted(known["folder"]) == entries:
        return folder  # mldeploy's layout: the registered folder's files directly in the version folder
    if len(entries) == 1:  # azureml-core's rule: the one file or folder registered
        return os.path.join(folder, entries[0])
    return folder
