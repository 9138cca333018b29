"""What an image's entry script asks of its image, read with `ast` (never run): the model file it
opens in AZUREML_MODEL_DIR, pandas for inference-schema's PandasParameterType, and modules of the
project next to it that the image does not carry. Warnings, not errors: a script may build its
paths or imports in ways no reading can follow, so only what is literal in the source is compared,
and only where the answer is certain."""
from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path

from mldeploy.config.files import MAX_MODEL_FILES
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
    module that is a file or package next to the script (`helpers.py`, `features/`): an image holds
    the entry script alone (render/build_context.py), so such an import fails when the scorer starts."""
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


def script_warnings(settings, root: Path) -> list[str]:
    """One line per image whose entry script opens a model file its one model does not register,
    uses PandasParameterType without pandas in its environment, or imports a module of the project
    that sits next to it (the image does not carry it)."""
    warnings = []
    for name, image in sorted(settings.images.items()):
        try:
            tree = ast.parse((root / image.entry_script).read_bytes())
        except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # the stack's own checks (and the scorer) report an unreadable script
        where = f"images.{name}.entryScript: {image.entry_script}"
        if len(image.models) == 1:  # AZUREML_MODEL_DIR is that model's folder (render/build_context.py)
            model = image.models[0]
            entry = settings.models.get(model)
            files = _model_files(root / entry.path) if entry is not None else None
            for line, opened in opened_model_files(tree) if files is not None else ():
                if opened not in files:
                    close = difflib.get_close_matches(opened, sorted(files), n=1)
                    hint = f" (did you mean {close[0]}?)" if close else ""
                    shown = ", ".join(sorted(files)[:10]) + (", ..." if len(files) > 10 else "")
                    warnings.append(f"{where}:{line} opens {opened!r} in {MODEL_DIR_VARIABLE}, which model {model!r} "
                                    f"({entry.path}) does not hold{hint}; it holds: {shown}")
        script = Path(image.entry_script)
        for line, module, file in sibling_imports(tree, (root / image.entry_script).parent):
            warnings.append(f"{where}:{line} imports {module!r}, a module next to it "
                            f"({(script.parent / file).as_posix()}), which the image does not carry: an image "
                            f"holds the entry script alone, so the scorer stops with ModuleNotFoundError; put "
                            f"what {script.name} needs of it into {script.name}")
        line = uses_pandas_schema(tree)
        if line is not None and not _PANDAS.search(env_text(image, root)):
            env = image.conda_file or image.requirements_file
            warnings.append(f"{where}:{line} uses PandasParameterType, which needs pandas: {env} installs none; "
                            f"write {PANDAS_SCHEMA_LINE} in place of its inference-schema line and add "
                            "pandas==<the version you trained with>")
    return warnings
