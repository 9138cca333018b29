"""What an image's entry script asks of its image, read with `ast` (never run): the model file it
opens in AZUREML_MODEL_DIR, pandas for inference-schema's PandasParameterType, and modules of the
project next to it that the image does not carry. Warnings, not errors: a script may build its
paths or imports in ways no reading can follow, so only what is literal in the source is compared,
and only where the answer is certain."""
from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path, PurePosixPath

from mldeploy.config.files import MAX_MODEL_FILES
from mldeploy.config.source_directory import ignore_spec, image_source_files
from mldeploy.plan.v1_script import env_text

MODEL_DIR_VARIABLE = "AZUREML_MODEL_DIR"
# A requirement line installing pandas, itself or through inference-schema's pandas-support extra.
_PANDAS = re.compile(r"(?im)^[\s-]*(pandas\b|inference[-_]schema\[[^\]]*pandas-support)")
PANDAS_SCHEMA_LINE = "inference-schema[numpy-support,pandas-support]==1.8"


def _mentions_model_dir(node: ast.AST) -> bool:
    """`os.environ["AZUREML_MODEL_DIR"]`, `os.getenv("AZUREML_MODEL_DIR")` and the like."""
    return any(isinstance(n, ast.Constant) and n.value == MODEL_DIR_VARIABLE for n in ast.walk(node))


def _is_path_join(func: ast.AST) -> bool:
    return isinstance(func, ast.Attribute) and func.attr == "join" and isinstance(func.value, ast.Attribute) \
        and func.value.attr == "path" and isinstance(func.value.value, ast.Name) and func.value.value.id == "os"


def opened_model_files(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, path) of each `os.path.join(<AZUREML_MODEL_DIR>, "a", "b")` whose other parts are all
    string literals; a join with any computed part says nothing certain and is left out."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _is_path_join(node.func) and len(node.args) >= 2
                and not node.keywords and _mentions_model_dir(node.args[0])):
            continue
        rest = node.args[1:]
        if all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in rest):
            found.append((node.lineno, "/".join(a.value.strip("/") for a in rest)))
    return found


def found_model_file(tree: ast.Module) -> tuple[int, str, tuple[str, ...]] | None:
    """(line, MODEL_FILE, MODEL_SUFFIXES) of a score.py `mldeploy init` wrote (project/templates/
    score-model-path.py.tmpl): it loads MODEL_FILE, else the model folder's one file ending in a suffix."""
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = (node.lineno, ast.literal_eval(node.value))
            except ValueError:
                continue
    defines = any(isinstance(n, ast.FunctionDef) and n.name == "model_path" for n in tree.body)
    line, file = values.get("MODEL_FILE", (0, None))
    _, suffixes = values.get("MODEL_SUFFIXES", (0, None))
    if not (defines and isinstance(file, str) and isinstance(suffixes, tuple)
            and all(isinstance(s, str) for s in suffixes)):
        return None
    return line, file, suffixes


def uses_pandas_schema(tree: ast.AST) -> int | None:
    """The line of the script's first mention of PandasParameterType, or None."""
    for node in ast.walk(tree):
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if isinstance(node, ast.alias):
            name = node.name.rsplit(".", 1)[-1]
        if name == "PandasParameterType":
            return getattr(node, "lineno", None) or 1
    return None


def _model_files(path: Path) -> set[str] | None:
    """The names under AZUREML_MODEL_DIR of a model that is the image's only one: the file's name,
    or a folder's files and folders (relative, posix); None when it cannot be read whole."""
    if path.is_file():
        return {path.name}
    if not path.is_dir():
        return None
    names: set[str] = set()
    for i, child in enumerate(path.rglob("*")):
        if i >= MAX_MODEL_FILES:
            return None
        names.add(child.relative_to(path).as_posix())
    return names


def sibling_imports(tree: ast.Module, folder: Path) -> list[tuple[int, str, str]]:
    """(line, module, file) of each import at the script's top level (not under `try`/`if`) of a
    module that is a file or package next to the script (`helpers.py`, `features/`), in `folder`."""
    found = []
    for node in tree.body:
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
        for name in names:
            top = name.split(".", 1)[0]
            for candidate in (f"{top}.py", f"{top}/__init__.py"):
                if (folder / candidate).is_file():
                    found.append((node.lineno, top, candidate))
                    break
    return found


def _unshipped_imports(name: str, image, tree: ast.Module, settings, root: Path) -> list[tuple[int, str]]:
    """(line, what) for each top-level import of a module of the project that the image does not
    carry. Without sourceDirectory an image holds the entry script alone; with it, the folder's root
    is on the import path (AML_APP_ROOT), minus what its ignore file leaves out."""
    script = PurePosixPath(image.script_path)
    found = []
    if image.source_directory is None:
        folder = script.parent.as_posix()
        how = (f"move {script.name} and its modules into a folder (src/) and set images.{name}.sourceDirectory: src"
               if folder == "." else f"set images.{name}.sourceDirectory: {folder} (entryScript then relative to it: "
               f"{script.name})")
        for line, module, file in sibling_imports(tree, root / folder):
            found.append((line, f"imports {module!r}, a module next to it ({(script.parent / file).as_posix()}), which "
                                f"the image does not carry: without sourceDirectory (v1's source_directory, v2's code) "
                                f"an image holds the entry script alone, so the scorer stops with ModuleNotFoundError; "
                                f"{how}"))
        return found
    try:
        shipped = {rel for rel, _ in image_source_files(image, settings, root)}
    except ValueError:
        return []  # the load-time rule reports it
    source = PurePosixPath(image.source_directory)
    sub = PurePosixPath(image.script_in_source).parent  # the script's folder inside sourceDirectory
    if sub != PurePosixPath(".") and any(name in s.images_built_in_azure() for s in settings.services.values()):
        return _v2_subfolder_imports(script, source, sub, tree, shipped, root)
    for line, module, file in sibling_imports(tree, root / script.parent):
        if f"{module}.py" in shipped or f"{module}/__init__.py" in shipped:
            continue  # at the folder's root: importable
        beside = (script.parent / file).as_posix()
        if sub == PurePosixPath("."):
            ignore, _ = ignore_spec(root / source)
            found.append((line, f"imports {module!r} ({beside}), which {source}/{ignore or '.amlignore'} leaves out "
                                "of the image: the scorer stops with ModuleNotFoundError; remove its line there"))
        else:
            found.append((line, f"imports {module!r}, a module next to it ({beside}); only sourceDirectory's root "
                                f"({source}) is on the scorer's import path (AML_APP_ROOT, as in Azure ML v2), so the "
                                f"scorer stops with ModuleNotFoundError; import it as "
                                f"{sub.as_posix().replace('/', '.')}.{module}, or move it to {source}/"))
    return found


def _v2_subfolder_imports(script: PurePosixPath, source: PurePosixPath, sub: PurePosixPath, tree: ast.Module,
                          shipped: set[str], root: Path) -> list[tuple[int, str]]:
    """A script in a subfolder of its code folder on an Azure ML v2 online deployment: Azure sets
    AML_APP_ROOT (the server's import path) and the working folder to the script's folder, not to the
    code folder's root (runtime/local.py v2_deployment_env, with its sources; `serve` rehearses it so).
    Its neighbours import; a module at the root does not."""
    found = []
    for line, module, file in sibling_imports(tree, root / script.parent):
        if (sub / file).as_posix() not in shipped:
            ignore, _ = ignore_spec(root / source)
            found.append((line, f"imports {module!r} ({(script.parent / file).as_posix()}), which "
                                f"{source}/{ignore or '.amlignore'} leaves out of the code: the scorer stops with "
                                "ModuleNotFoundError; remove its line there"))
    for line, module, file in sibling_imports(tree, root / source):
        if (root / script.parent / file).is_file() or file not in shipped:
            continue  # a neighbour of that name is what imports; an ignored one is said above or not shipped
        found.append((line, f"imports {module!r} ({(source / file).as_posix()}), a module at sourceDirectory's root; "
                            f"on a v2 online deployment Azure ML puts the scoring script's folder ({source / sub}) on "
                            "the import path (AML_APP_ROOT), not the root, so the scorer stops with ModuleNotFoundError "
                            f"there (and under `serve`); move it next to {script.name}, or {script.name} to the root "
                            f"(entryScript: {script.name})"))
    return found


def _other_version_holding(settings, model: str, opened: str, root: Path) -> str:
    """The hint for a new version of a registered model saved under another file name than the one
    the shared score.py opens (hday2's day 2: models/iris-v2.pkl beside models/iris.pkl): not
    "did you mean iris-v2.pkl" - changing score.py would break the version that holds iris.pkl -
    but to give the new file the old name, in a folder of its own."""
    entry = settings.models[model]
    registered = entry.registered_name or model
    for other, o in sorted(settings.models.items()):
        if other == model or (o.registered_name or other) != registered:
            continue
        if opened in (_model_files(root / o.path) or ()):
            held = f"model {other!r}, another version of {registered!r}, holds {opened}"
            if (root / entry.path).is_dir():
                return f" ({held}: put it at {entry.path}/{opened} in this version too, so that one score.py opens either)"
            folder = PurePosixPath(entry.path).parent
            own = f"v{entry.version}" if entry.version else model
            # Already in a folder named for this version (models/v2/churn-v2.joblib): that folder, not models/v2/v2.
            place = folder if folder.name == own else folder / own
            return (f" ({held}: give this version's file that name too, in a folder of its own such as "
                    f"{place}/{opened}, so that one score.py opens either version)")
    return ""


def script_warnings(settings, root: Path) -> list[str]:
    """One line per image whose entry script opens a model file its one model does not register,
    uses PandasParameterType without pandas in its environment, or imports a module of the project
    that sits next to it (the image does not carry it)."""
    warnings = []
    for name, image in sorted(settings.images.items()):
        try:
            tree = ast.parse((root / image.script_path).read_bytes())
        except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # the stack's own checks (and the scorer) report an unreadable script
        where = f"images.{name}.entryScript: {image.script_path}"
        if len(image.models) == 1:  # AZUREML_MODEL_DIR is that model's folder (render/build_context.py)
            model = image.models[0]
            entry = settings.models.get(model)
            files = _model_files(root / entry.path) if entry is not None else None
            for line, opened in opened_model_files(tree) if files is not None else ():
                if opened not in files:
                    close = difflib.get_close_matches(opened, sorted(files), n=1)
                    hint = _other_version_holding(settings, model, opened, root) or \
                        (f" (did you mean {close[0]}?)" if close else "")
                    shown = ", ".join(sorted(files)[:10]) + (", ..." if len(files) > 10 else "")
                    warnings.append(f"{where}:{line} opens {opened!r} in {MODEL_DIR_VARIABLE}, which model {model!r} "
                                    f"({entry.path}) does not hold{hint}; it holds: {shown}")
            found = found_model_file(tree) if files is not None else None
            if found is not None and found[1] not in files:
                line, file, suffixes = found
                candidates = sorted(f for f in files if f.endswith(suffixes))
                if len(candidates) != 1:
                    shown = ", ".join(candidates[:5]) or "none"
                    warnings.append(f"{where}:{line} loads MODEL_FILE {file!r}, else the one file ending in "
                                    f"{', '.join(suffixes)} of model {model!r} ({entry.path}), which holds no "
                                    f"{file} and {len(candidates)} such files ({shown}): the scorer stops in init(); "
                                    "register one model file for this version, or set MODEL_FILE in score.py")
        warnings += [f"{where}:{line} {text}" for line, text in _unshipped_imports(name, image, tree, settings, root)]
        line = uses_pandas_schema(tree)
        if line is not None and not _PANDAS.search(env_text(image, root)):
            env = image.conda_file or image.requirements_file
            warnings.append(f"{where}:{line} uses PandasParameterType, which needs pandas: {env} installs none; "
                            f"write {PANDAS_SCHEMA_LINE} in place of its inference-schema line and add "
                            "pandas==<the version you trained with>")
    return warnings
