"""Paths in a stack file: the one rule for every file a stack refers to.

A path is relative to the project root and stays inside it (no absolute path, no `..`, no
symlink out, not the root itself); it names the kind of thing expected (a regular file, or a
model folder that holds files), readable now; text files are UTF-8 and a conda file is YAML.
Checked at parse time, so nothing later (hashing, the build context, the image build) meets a
file it cannot use.
"""
from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Annotated

from packaging.requirements import InvalidRequirement, Requirement
from pydantic import AfterValidator, ValidationInfo

from mldeploy.config.errors import ConfigError
from mldeploy.config.strict_yaml import parse_yaml, read_text_file

MAX_MODEL_FILES = 10_000  # a model folder is walked whole at parse time: bound the walk


def project_path(value: str, root: Path) -> Path:
    """`value` resolved inside `root`, or ValueError saying why it may not be used. The reason is
    always the same: a stack names files inside its project, so that every machine deploying it
    (CI, a colleague's) builds the same image from the same files."""
    where = f"the project root ({root.resolve()}, the folder with Pulumi.yaml)"
    if not value or value in (".", "./"):
        raise ValueError(f"names the project root itself; name a file or folder inside {where}")
    if Path(value).is_absolute() or value.startswith("~"):
        raise ValueError(f"must be a path relative to {where}, got {value!r}: a stack names files inside its "
                         "project, so every machine deploying it builds the same; copy or move the file into it")
    if ".." in Path(value).parts:
        raise ValueError(f"may not contain '..': files come from inside {where} ({value!r}); copy or move the "
                         "file into it")
    root = root.resolve()
    target = root / value
    resolved = target.resolve()
    if resolved != root and root not in resolved.parents:
        raise ValueError(f"{value!r} leads outside {where} (a symbolic link): copy the file into it")
    if resolved == root:
        raise ValueError(f"names the project root itself; name a file or folder inside {where}")
    return target


def _stat(value: str, target: Path, root: Path, what: str) -> os.stat_result:
    try:
        return target.stat()
    except FileNotFoundError:
        raise ValueError(f"{what} not found: {value} (paths are relative to {root.resolve()})") from None
    except OSError as err:
        raise ValueError(f"cannot read {value}: {err.strerror}") from None


def _readable_file(value: str, path: Path) -> None:
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as err:
        raise ValueError(f"cannot read {value}: {err.strerror}") from None


def _regular_file(value: str, target: Path, root: Path) -> None:
    mode = _stat(value, target, root, "file").st_mode
    if stat.S_ISDIR(mode):
        raise ValueError(f"{value} is a folder; a file is expected here")
    if not stat.S_ISREG(mode):
        raise ValueError(f"{value} is not a regular file (a FIFO, device or socket)")
    _readable_file(value, target)


def _model_path(value: str, target: Path, root: Path) -> None:
    mode = _stat(value, target, root, "file or folder").st_mode
    if stat.S_ISREG(mode):
        _readable_file(value, target)
        return
    if not stat.S_ISDIR(mode):
        raise ValueError(f"{value} is not a regular file or folder (a FIFO, device or socket)")
    count = 0
    root = root.resolve()
    for folder, dirs, files in os.walk(target, onerror=_raise):
        dirs.sort()
        for name in sorted(files + [d for d in dirs if (Path(folder) / d).is_symlink()]):
            path = Path(folder) / name
            rel = path.relative_to(target)
            resolved = path.resolve()
            if root not in resolved.parents:
                raise ValueError(f"{value}/{rel} leads outside the project (a symbolic link)")
            if resolved.is_dir():
                raise ValueError(f"{value}/{rel} is a symbolic link to a folder; copy it into the model folder")
            if not resolved.is_file():
                raise ValueError(f"{value}/{rel} is not a regular file (a FIFO, device, socket or broken link)")
            _readable_file(f"{value}/{rel}", path)
            count += 1
            if count > MAX_MODEL_FILES:
                raise ValueError(f"{value} holds more than {MAX_MODEL_FILES} files")
    if count == 0:
        raise ValueError(f"the model folder {value} holds no files")


def _raise(err: OSError) -> None:
    raise ValueError(f"cannot read {err.filename}: {err.strerror}")


def _text(value: str, target: Path, what: str) -> str:
    try:
        return read_text_file(target, what)
    except ConfigError as err:
        raise ValueError(f"{value}: {err.message}") from None


def _conda(value: str, target: Path) -> None:
    try:
        doc = parse_yaml(_text(value, target, "conda file"))
    except ConfigError as err:
        raise ValueError(f"{value}: {err.key}: {err.message}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("dependencies", []), list):
        raise ValueError(f"{value} is not a conda environment file: a mapping with a "
                         "`dependencies:` list is expected")
    # conda's environment.yml: each dependency is a match spec (a string) or the one `pip:` list
    # of requirement strings (conda docs, "Creating an environment file manually").
    for i, dep in enumerate(doc.get("dependencies") or []):
        pip = dep.get("pip") if isinstance(dep, dict) and set(dep) == {"pip"} else None
        if isinstance(dep, str) and dep.strip():
            continue
        if isinstance(pip, list) and all(isinstance(p, str) and p.strip() for p in pip):
            continue
        raise ValueError(f"{value}: dependencies[{i}] is neither a package spec (a string) nor a "
                         "`pip:` list of requirement strings")
    for key in ("name", "channels"):
        if key in doc and not (isinstance(doc[key], str) if key == "name" else
                               isinstance(doc[key], list) and all(isinstance(c, str) for c in doc[key])):
            raise ValueError(f"{value}: `{key}:` must be {'a string' if key == 'name' else 'a list of channel names'}")


def _requirements(value: str, target: Path) -> None:
    """Each requirement line must be a PEP 508 requirement (packaging's parser, as pip's own).
    Options (`-r`, `--index-url`, `--hash`), URLs, local paths and archives are pip's to judge."""
    text = _text(value, target, "file")
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if raw.endswith("\\"):  # pip joins a line ending in a backslash with the next
            pending += raw[:-1] + " "
            continue
        line = re.split(r"(?:^|\s)#", pending + raw, maxsplit=1)[0].strip()
        pending = ""
        if (not line or line.startswith("-") or "://" in line or "${" in line or line.startswith((".", "/", "~"))
                or line.endswith((".whl", ".zip", ".tar.gz", ".tgz"))):
            continue
        spec = re.split(r"\s+--?[A-Za-z]", line, maxsplit=1)[0]  # per-requirement options: --hash=...
        try:
            Requirement(spec)
        except InvalidRequirement:
            raise ValueError(f"{value}: line {start}: {spec[:60]!r} is not a requirement (PEP 508, e.g. "
                             "`scikit-learn==1.5.2`); is this a requirements file?") from None


def _python(value: str, target: Path) -> None:
    # compile(), not ast.parse: it also runs the symbol-table pass, so `return` outside a function
    # or a misplaced `nonlocal` fail here too. Nothing is executed. The image runs the same
    # language (Python 3.11 unless the conda file pins another 3.x).
    source = _text(value, target, "file")
    try:
        compile(source, value, "exec", dont_inherit=True)
    except SyntaxError as err:
        raise ValueError(f"{value} is not valid Python: line {err.lineno}: {err.msg}") from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise ValueError(f"{value} is not valid Python: {type(err).__name__}") from None


def _json(value: str, target: Path) -> None:
    text = _text(value, target, "file")
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{value} is not JSON (line {err.lineno}, column {err.colno}: {err.msg}); "
                         "a sample request is the JSON body sent to /score") from None
    except (RecursionError, ValueError):
        raise ValueError(f"{value} is not usable JSON (nested too deep, or a number too long)") from None


def _checked(kind: str):
    def check(value: str, info: ValidationInfo) -> str:
        root = Path((info.context or {}).get("root", "."))
        target = project_path(value, root)
        if kind == "model":
            _model_path(value, target, root)
            return value
        _regular_file(value, target, root)
        if kind == "text":
            _text(value, target, "file")
        elif kind == "conda":
            _conda(value, target)
        elif kind == "requirements":
            _requirements(value, target)
        elif kind == "python":
            _python(value, target)
        elif kind == "json":
            _json(value, target)
        return value

    return AfterValidator(check)


ExistingFile = Annotated[str, _checked("file")]
"""A readable regular file inside the project (any bytes)."""

RequirementsFile = Annotated[str, _checked("requirements")]
"""A pip requirements file inside the project: UTF-8, every requirement line PEP 508."""

PythonFile = Annotated[str, _checked("python")]
"""A UTF-8 Python source file inside the project that compiles (entry scripts)."""

JsonFile = Annotated[str, _checked("json")]
"""A UTF-8 JSON file inside the project (sample requests)."""

TextFile = Annotated[str, _checked("text")]
"""A readable UTF-8 text file inside the project (entry scripts, requirements files)."""

CondaFile = Annotated[str, _checked("conda")]
"""A conda environment file inside the project: UTF-8 YAML with a `dependencies:` list."""

ExistingPath = Annotated[str, _checked("model")]
"""A model: a readable file, or a folder holding at least one, inside the project."""
