"""Scoring scripts written for the Azure ML SDK v1: which of its names a script uses, read with
`ast` (never run). The guide's deployment names - `Model.get_model_path` and
`azureml.contrib.services` (AMLRequest, rawhttp, AMLResponse) - are served unchanged: the
inference server maps azureml.contrib.services to its own modules, and mldeploy places a small
stand-in for azureml-core (mldeploy/scoring/v1-shim) next to the script when the script imports
azureml.core and its environment does not install azureml-core (retired with SDK v1). Any other
azureml-core name (Workspace, Run, Webservice, Model.register, ...) cannot work in a deployment
without it: the stack stops at load with the call and its replacement.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError
from mldeploy.config.requirements import read_requirements

MODEL_CLASS = ("azureml.core.model.Model", "azureml.core.Model")
SERVED = {
    *(f"{m}.get_model_path" for m in MODEL_CLASS),
    "azureml.contrib.services.aml_request.AMLRequest",
    "azureml.contrib.services.aml_request.rawhttp",
    "azureml.contrib.services.aml_response.AMLResponse",
}
V1_PACKAGES = ("azureml.core", "azureml.contrib.services")
# Packages that install azureml-core (azureml-defaults depends on it): the real SDK then serves.
_AZUREML_CORE = re.compile(r"(?im)^[\s-]*(azureml-core|azureml-defaults)\b")
V2_WAY = "os.path.join(os.environ['AZUREML_MODEL_DIR'], '<file>')"

_DECLARE = "declare it in stacks/Pulumi.<stack>.yaml (models:, images:, services:) - mldeploy deploys it"
_REPLACEMENTS = {
    "Workspace": "a deployed script has no workspace: find model files with Model.get_model_path(name) or "
                 "AZUREML_MODEL_DIR, and settings in environment variables",
    "Run": "log with print() or logging: `mldeploy logs --stack <stack> --service <name>` shows it",
    "Experiment": "log with print() or logging: `mldeploy logs --stack <stack> --service <name>` shows it",
    "Model": "find model files with Model.get_model_path(name) or AZUREML_MODEL_DIR; registering and "
             "deploying: " + _DECLARE,
    "Dataset": "send the data in the request, or ship files with the model (AZUREML_MODEL_DIR)",
    "Datastore": "send the data in the request, or ship files with the model (AZUREML_MODEL_DIR)",
}


@dataclass(frozen=True)
class V1Call:
    line: int
    name: str  # as the script spells it: `Run.get_context`, `Workspace.from_config`
    full: str  # resolved: azureml.core.run.Run.get_context


@dataclass(frozen=True)
class ScriptScan:
    """What of SDK v1 a script uses."""

    imports_core: bool  # the script imports from azureml.core (needs azureml-core or the stand-in)
    uses_model_path: bool
    unsupported: tuple[V1Call, ...]
    model_names: tuple[tuple[int, str], ...] = ()  # (line, name) of get_model_path calls with a literal name


def replacement(call: V1Call) -> str:
    parts = call.full.split(".")
    for part in reversed(parts[2:]):
        if part in _REPLACEMENTS:
            return _REPLACEMENTS[part]
    return _DECLARE


def scan(source: str | bytes) -> ScriptScan | None:
    """The script's use of SDK v1; None when it does not parse (the scorer reports that)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # e.g. NUL bytes, nesting too deep
        return None
    names: dict[str, str] = {}  # local name -> what it stands for (dotted)
    unsupported: list[V1Call] = []
    imports_core = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("azureml."):
                    imports_core |= _is_v1(alias.name) and alias.name.startswith("azureml.core")
                    if alias.asname:
                        names[alias.asname] = alias.name
                    else:
                        names[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("azureml."):
            module = node.module or ""
            imports_core |= module == "azureml.core" or module.startswith("azureml.core.")
            for alias in node.names:
                full = f"{module}.{alias.name}"
                names[alias.asname or alias.name] = full
                if _is_v1(full) and not _served_prefix(full):
                    unsupported.append(V1Call(node.lineno, f"from {module} import {alias.name}", full))
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    calls = {id(n.func): n for n in ast.walk(tree) if isinstance(n, ast.Call)}
    called = set(calls)
    uses_model_path = False
    model_names: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        chain = None if id(node) in inner else _chain(node)  # outermost `a.b.c` only
        if chain is None or chain[0] not in names:
            continue
        full = ".".join([names[chain[0]], *chain[1:]])
        if not _is_v1(full):
            continue
        if full in SERVED:
            if full.endswith(".get_model_path"):
                uses_model_path = True
                name = _literal_model_name(calls.get(id(node)))
                if name is not None:
                    model_names.append((node.lineno, name))
        elif _served_prefix(full) and not (full in MODEL_CLASS and id(node) in called):
            continue  # a served name itself (`Model`, `AMLResponse`), or a module on the way to one
        elif not any(c.line == node.lineno and c.full == full for c in unsupported):
            called_model = full in MODEL_CLASS and id(node) in called
            unsupported.append(V1Call(node.lineno, ".".join(chain) + ("(...)" if called_model else ""), full))
    return ScriptScan(imports_core, uses_model_path, tuple(sorted(unsupported, key=lambda c: (c.line, c.name))),
                      tuple(model_names))


def _literal_model_name(call: ast.Call | None) -> str | None:
    """The model name of `get_model_path('name')` / `get_model_path(model_name='name')`, if literal."""
    if call is None:
        return None
    arg = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "model_name"), None)
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


def finds_model(name: str, models: dict[str, str | None]) -> bool:
    """Whether the stand-in's get_model_path finds `name` among `models` (stack name -> the one
    registered file's name, None for a folder): the name itself, its stack spelling (lowercase,
    '-' for '_'), or the file name of exactly one model (mldeploy/scoring/v1-shim's rules)."""
    if name in models or name.lower().replace("_", "-") in models:
        return True
    return sum(1 for file in models.values() if file == name) == 1


def _is_v1(full: str) -> bool:
    return any(full == p or full.startswith(p + ".") for p in V1_PACKAGES)


def _served_prefix(full: str) -> bool:
    """`full` is a served name or a module/class on the way to one."""
    return any(s == full or s.startswith(full + ".") for s in SERVED) or \
        full in ("azureml.contrib.services.aml_request", "azureml.contrib.services.aml_response")


def _chain(node: ast.AST) -> list[str] | None:
    """`a.b.c` of an outermost Name/Attribute chain."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def has_azureml_core(env_text: str) -> bool:
    """Whether an environment file installs azureml-core (itself, or through azureml-defaults)."""
    return bool(_AZUREML_CORE.search(env_text))


def needs_shim(script: str | bytes, env_text: str) -> bool:
    """Whether mldeploy's stand-in for azureml-core goes next to this script."""
    found = scan(script)
    return bool(found and found.imports_core and not has_azureml_core(env_text))


def env_text(image, root: Path) -> str:
    try:
        if image.requirements_file is not None:  # with the files it includes (`-r base.txt`)
            return read_requirements(image.requirements_file, root).text()
        return (root / image.conda_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return ""


def _file_name(settings, model: str, root: Path) -> str | None:
    """The one file a model registers (its name), None for a folder (or a model not there)."""
    entry = settings.models.get(model)
    path = root / entry.path if entry is not None else None
    return path.name if path is not None and path.is_file() else None


def _registered_name(settings, model: str) -> str:
    entry = settings.models.get(model)
    return (entry.registered_name if entry is not None else None) or model


def check_entry_scripts(settings, root: Path) -> None:
    """ConfigError for an image's entry script that calls SDK v1 beyond what is served, or asks
    get_model_path for a model the image does not hold, when its environment lacks azureml-core
    (with it, the real SDK runs the script)."""
    for name, image in sorted(settings.images.items()):
        path = root / image.script_path
        try:
            found = scan(path.read_bytes())
        except OSError:
            continue  # config reports a missing file
        if not found or has_azureml_core(env_text(image, root)):
            continue
        key = f"{PROJECT}:images.{name}.entryScript"
        # The image holds each model under its registered name (azureml-models/<registeredName>/...,
        # render/build_context.py), which is what the stand-in's get_model_path finds at run time.
        models = {_registered_name(settings, m): _file_name(settings, m, root) for m in image.models}
        for line, model_name in found.model_names:
            if not finds_model(model_name, models):
                raise ConfigError(key, f"{image.script_path}:{line}: Model.get_model_path({model_name!r}) names no model "
                                       f"of image {name!r} (its models: {', '.join(sorted(models))}); use one of those "
                                       "names (a stack's model names are lowercase letters, digits and '-': 'My_Model' "
                                       "finds 'my-model') or the model's file name")
        if not found.unsupported:
            continue
        # The call itself rather than its import, when the script has both.
        call = next((c for c in found.unsupported if not c.name.startswith("from ")), found.unsupported[0])
        raise ConfigError(
            key,
            f"{image.script_path}:{call.line}: {call.name} is Azure ML SDK v1 (azureml-core), which mldeploy does "
            f"not install (served of it: Model.get_model_path and azureml.contrib.services); {replacement(call)}")


def _v2_users(settings) -> dict[str, list[str]]:
    """image -> the services (`services.<name> (<target>)`) that run it on an Azure ML v2 online deployment."""
    users: dict[str, list[str]] = {}
    for name, service in sorted(settings.services.items()):
        for image in sorted(service.images_built_in_azure()):
            users.setdefault(image, []).append(f"services.{name} ({service.target})")
    return users


def v2_core_warnings(settings, root: Path) -> dict[str, str]:
    """image -> a line, for each image a v2 online deployment runs with the real azureml-core's
    get_model_path, which looks where v2 does not mount the model (synth and serve say it)."""
    warnings: dict[str, str] = {}
    for name, users in _v2_users(settings).items():
        image = settings.images[name]
        try:
            found = scan((root / image.script_path).read_bytes())
        except OSError:
            continue
        core = _AZUREML_CORE.search(env_text(image, root))
        if found and found.uses_model_path and core is not None:
            # azureml-core reads `os.path.join(os.environ['AML_APP_ROOT'], 'azureml-models')` (azureml/core/model.py
            # MODELS_DIR, 1.61), and "In online deployment, AML_APP_ROOT is set to the directory containing
            # scoring script" (Azure/azure-sdk-for-python pull request 30296), while v2 mounts the model at
            # AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/<name>/<version>. Not tried on Azure here.
            warnings[name] = (
                f"images.{name}.entryScript: {image.script_path} calls Model.get_model_path and "
                f"{image.requirements_file or image.conda_file} installs azureml-core ({core.group(1)}); on "
                f"{', '.join(users)} Azure ML sets AML_APP_ROOT to the scoring script's folder, where "
                "azureml-core looks for azureml-models/, not /var/azureml-app/azureml-models where v2 mounts the "
                "model (AZUREML_MODEL_DIR): init() would stop with ModelNotFoundException; put "
                "azureml-inference-server-http in its place (mldeploy's stand-in then finds the model there) or "
                f"open the model with {V2_WAY}")
    return warnings


def v1_warnings(settings, root: Path) -> list[str]:
    """One line per entry script that finds its model through Model.get_model_path (for an image a v2
    endpoint runs with azureml-core, v2_core_warnings' line instead)."""
    seen, warnings = set(), []
    v2_core = v2_core_warnings(settings, root)
    for name, image in sorted(settings.images.items()):
        if name in v2_core:
            warnings.append(v2_core[name])
            seen.add(image.script_path)  # said once, the v2 way included
        if image.script_path in seen:
            continue
        try:
            found = scan((root / image.script_path).read_bytes())
        except OSError:
            continue
        if found and found.uses_model_path:
            seen.add(image.script_path)
            core = _AZUREML_CORE.search(env_text(image, root))
            if core is None:
                served = "served by mldeploy's stand-in for azureml-core"
            else:  # the real SDK serves it: say which line installs it and that the stand-in would do
                env_file = image.requirements_file or image.conda_file
                served = (f"served by azureml-core itself, which {env_file} installs ({core.group(1)}: SDK v1, "
                          "retired 2026-06-30, which brings azureml-core and its Azure SDKs into every image); "
                          "with azureml-inference-server-http in its place mldeploy's stand-in serves "
                          "Model.get_model_path and azureml.contrib.services")
            warnings.append(f"images.{name}.entryScript: {image.script_path} uses Model.get_model_path (Azure ML "
                            f"SDK v1), {served}; the v2 way is {V2_WAY}")
    return warnings
