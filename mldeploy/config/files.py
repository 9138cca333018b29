"""Paths in a stack file: the one rule for every file a stack refers to.

A path is relative to the project root and stays inside it (no absolute path, no `..`, no
symlink out, not the root itself); it names the kind of thing expected (a regular file, or a
model folder that holds files), readable now; text files are UTF-8 and a conda file is YAML.
Checked at parse time, so nothing later (hashing, the build context, the image build) meets a
file it cannot use.
"""
from __future__ import annotations

import ast
import difflib
import itertools
import json
import os
import re
import stat
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from packaging.requirements import InvalidRequirement, Requirement
from pydantic import AfterValidator, ValidationInfo

from mldeploy.config.errors import ConfigError
from mldeploy.config.requirements import include_of, logical_lines, read_requirements
from mldeploy.config.strict_yaml import parse_yaml, read_text_file
from mldeploy.scoring.environment import installed_names
from mldeploy.contract import STACKS_DIR

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


# How many names of a folder a "did you mean" reads: a misspelt name is looked for among its
# neighbours, and a folder of a million files must not make the stack slow to load.
MAX_NEIGHBOURS = 2_000


def _did_you_mean(value: str, target: Path) -> str:
    """' (did you mean score.py?)' for a misspelt file name: the closest name in its folder, if any."""
    try:
        names = [p.name for p in itertools.islice(target.parent.iterdir(), MAX_NEIGHBOURS)]
    except OSError:  # the folder itself is missing (or unreadable): nothing to suggest
        return ""
    close = difflib.get_close_matches(target.name, sorted(names), n=1, cutoff=0.6)
    return f" (did you mean {PurePosixPath(value).with_name(close[0])}?)" if close else ""


def _stat(value: str, target: Path, root: Path, what: str) -> os.stat_result:
    try:
        return target.stat()
    except FileNotFoundError:
        raise ValueError(f"{what} not found: {value}{_did_you_mean(value, target)} "
                         f"(paths are relative to {root.resolve()})") from None
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
    _not_project_config(value, target, root)
    if stat.S_ISREG(mode):
        _readable_file(value, target)
        if target.stat().st_size == 0:
            raise ValueError(f"the model file {value} is empty (0 bytes): no model can be loaded from it")
        return
    if not stat.S_ISDIR(mode):
        raise ValueError(f"{value} is not a regular file or folder (a FIFO, device or socket)")
    count, filled = 0, False
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
            filled = filled or resolved.stat().st_size > 0
            if count > MAX_MODEL_FILES:
                raise ValueError(f"{value} holds more than {MAX_MODEL_FILES} files")
    if count == 0:
        raise ValueError(f"the model folder {value} holds no files")
    if not filled:  # a `.gitkeep` left where the training run's output was never copied
        raise ValueError(f"the model folder {value} holds only empty files (0 bytes): no model can be loaded "
                         "from it")


def _not_project_config(value: str, target: Path, root: Path) -> None:
    """A model is uploaded whole to the workspace's storage: the stack files (every stack's config,
    secrets' ciphertext and the `secure:` salt among them) and Pulumi.yaml are never part of it."""
    root = root.resolve()
    resolved = target.resolve()
    stacks = root / STACKS_DIR
    if resolved == stacks or stacks in resolved.parents or resolved == root / "Pulumi.yaml":
        raise ValueError(f"names the project's stack configuration ({value!r}; {STACKS_DIR}/ and Pulumi.yaml hold "
                         "every stack's settings and encrypted secrets), not a model: it would be uploaded to the "
                         "workspace as the model; name the model's own file or folder")


def _raise(err: OSError) -> None:
    raise ValueError(f"cannot read {err.filename}: {err.strerror}")


def _text(value: str, target: Path, what: str) -> str:
    try:
        return read_text_file(target, what)
    except ConfigError as err:
        raise ValueError(f"{value}: {err.message}") from None


# The Pythons the scorer host runs on: azureml-inference-server-http 1.5 declares Requires-Python >= 3.9
# (its wheel's METADATA); granian 2 the same. A conda pin outside them builds an image that cannot serve.
SUPPORTED_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
_CONDA_PYTHON = re.compile(r"^(?:[\w.-]+::)?python(?![\w.-])\s*(.*)$", re.IGNORECASE)
# scheme://user:password@host in an index URL, a channel or a `pkg @ url` requirement. A password that
# is wholly an environment variable (`https://build:${PIP_TOKEN}@...`) is not in the file: pip expands
# `${VAR}` (uppercase, digits, '_') in requirements files - its documented way to keep a token out of
# them (pip docs, "Requirements File Format", "Using environment variables"); conda hands its pip: list
# to pip as a requirements file.
_URL_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:(?!(?-i:\$\{[A-Z0-9_]+\})@)[^/\s@]+@", re.IGNORECASE)


def conda_python_spec(doc: dict) -> str | None:
    """The version part of the conda file's `python` dependency ("" when unpinned), None without one."""
    specs = conda_python_specs(doc)
    return specs[0] if specs else None


def conda_python_specs(doc: dict) -> list[str]:
    """The version part of each `python` dependency in the conda file ("" when unpinned), in order."""
    return [match.group(1).strip() for dep in doc.get("dependencies") or []
            if isinstance(dep, str) and (match := _CONDA_PYTHON.match(dep.strip()))]


def _conda_allows(spec: str, version: str) -> bool:
    """Whether a conda match spec's version part (`=3.11`, `3.11.*`, `>=3.9,<3.12`, `==2.7`) admits
    `version` (a minor release: any of its patch releases)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    if not spec:
        return True
    clauses = []
    for part in spec.replace(" ", "").split(","):
        if re.fullmatch(r"=?\d+(\.\d+)*(\.\*)?", part):  # conda's `=3.11` / `3.11` / `3.11.*`: that prefix
            clauses.append("==" + part.lstrip("=").removesuffix(".*") + ".*")
        else:
            clauses.append(part)
    try:
        specifier = SpecifierSet(",".join(clauses))
    except InvalidSpecifier:
        return True  # a spec conda reads and we do not: conda judges it
    return any(specifier.contains(f"{version}.{patch}", prereleases=True) for patch in range(0, 30))


def _no_credentials(value: str, line: str) -> None:
    if isinstance(line, str) and _URL_PASSWORD.search(line):
        raise ValueError(f"{value}: a URL with a user name and password in plain text ({line.split('@')[0][:30]}...@): "
                         "the file is committed and copied into the image; give pip or conda the credentials at "
                         "build time (PIP_INDEX_URL, a netrc) instead")


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
    pythons = conda_python_specs(doc)
    if pythons and not any(all(_conda_allows(p, v) for p in pythons) for v in SUPPORTED_PYTHONS):
        if len(pythons) > 1 and all(any(_conda_allows(p, v) for v in SUPPORTED_PYTHONS) for p in pythons):
            # conda merges every spec of one package name into one (conda/conda conda/models/match_spec.py
            # MatchSpec.merge; an exact component that differs raises "Incompatible component merge"):
            # `python=3.11` and `python=3.9` together match no package, so the environment does not solve.
            raise ValueError(f"{value}: its python dependencies ({', '.join(repr(p) for p in pythons)}) admit no one "
                             "Python together, so conda cannot solve the environment: keep one python line")
        python = next(p for p in pythons if not any(_conda_allows(p, v) for v in SUPPORTED_PYTHONS))
        raise ValueError(f"{value}: its python dependency ({python!r}) excludes every Python the scorer host runs on "
                         f"({', '.join(SUPPORTED_PYTHONS)}: azureml-inference-server-http needs Python >= 3.9)")
    for dep in doc.get("dependencies") or []:
        for line in (dep.get("pip") if isinstance(dep, dict) else [dep]):
            _no_credentials(value, line)
            if isinstance(dep, dict) and re.match(r"(-r|-c|--requirement|--constraint)(\s|=|$)", line.strip()):
                raise ValueError(f"{value}: pip line {line.strip()[:60]!r} includes another file, which the image build "
                                 "does not have (it copies this conda file alone): put those requirements here, or use "
                                 "a requirementsFile, which may include others")
        if isinstance(dep, dict):
            # conda hands its `pip:` list to pip as a requirements file: each line must be one pip reads.
            for number, line in enumerate(dep["pip"], 1):
                _requirement_line(f"{value}: `pip:` list", number, line.strip())
    for channel in doc.get("channels") or []:
        _no_credentials(value, channel)
    for key in ("name", "channels"):
        if key in doc and not (isinstance(doc[key], str) if key == "name" else
                               isinstance(doc[key], list) and all(isinstance(c, str) for c in doc[key])):
            raise ValueError(f"{value}: `{key}:` must be {'a string' if key == 'name' else 'a list of channel names'}")


# A batch deployment's environment must install azureml-core: "Do not forget to include the library
# `azureml-core` in your deployment as it is required by the executor" (MicrosoftDocs/azure-docs,
# articles/machine-learning/batch-inference/how-to-use-batch-endpoint.md, "Create a batch deployment").
# azureml-defaults depends on it. A requirementsFile gets it added (targets/batch/plan.py conda_text);
# a conda file is handed to Azure ML as it is, so it must name it itself.
BATCH_EXECUTOR_PACKAGES = ("azureml-core", "azureml-defaults")


def _batch_conda(value: str, target: Path) -> None:
    """A batch job's conda file installs what Azure ML's batch executor imports (azureml-core)."""
    if not installed_names("conda", _text(value, target, "conda file")) & set(BATCH_EXECUTOR_PACKAGES):
        raise ValueError(f"{value} does not install azureml-core, which Azure ML's batch executor imports before "
                         "init()/run() (Microsoft: \"required by the executor\"): add `azureml-core` to its `pip:` list")


def _requirements(value: str, root: Path, single_file: bool = False) -> None:
    """Each requirement line, in the file and in every file it includes (`-r`/`-c`, read as pip
    does: config/requirements.py), must be a PEP 508 requirement (packaging's parser, as pip's own).
    Options (`--index-url`, `--hash`), URLs and archives are pip's to judge. `single_file`: the
    environment is handed on as one file (Azure ML's conda file), where a constraints file has no place."""
    tree = read_requirements(value, root)
    if single_file and tree.constraints:
        raise ValueError(f"{value}: includes a constraints file (`-c`), but Azure ML builds this environment from one "
                         "conda file, where pip finds no other file: pin those versions in the requirements instead")
    for rel, text in tree.files:
        for number, line in logical_lines(text):
            _requirement_line(rel, number, line)


# The options a requirements file's line may hold, -> whether each takes a value: pip's own table
# (pip 26, src/pip/_internal/req/req_file.py SUPPORTED_OPTIONS + SUPPORTED_OPTIONS_REQ, built with
# optparse from cmdoptions.py), plus the per-requirement --global-option/--build-option/--install-option
# older pips took (no refusal of what some pip reads). pip parses a line's options with optparse, which
# stops at any other name ("no such option") or at a value-taking option without its value ("requires 1
# argument"), so the image build fails on such a line.
PIP_FILE_OPTIONS = {
    "-i": True, "--index-url": True, "--pypi-url": True, "--extra-index-url": True, "--no-index": False,
    "-c": True, "--constraint": True, "-r": True, "--requirement": True, "-e": True, "--editable": True,
    "-f": True, "--find-links": True, "--no-binary": True, "--only-binary": True, "--prefer-binary": False,
    "--require-hashes": False, "--no-require-hashes": False, "--pre": False, "--all-releases": True,
    "--only-final": True, "--trusted-host": True, "--use-feature": True, "--hash": True, "-C": True,
    "--config-settings": True, "--global-option": True, "--build-option": True, "--install-option": True}


def _pip_options_problem(options: str) -> str | None:
    """Why pip's option parser refuses `options` (the part of a line from its first `-` token), or None.
    Long names may be abbreviated to a unique prefix, as optparse allows."""
    import shlex

    try:
        tokens = shlex.split(options)
    except ValueError as err:
        return f"its options do not split as shell words ({err})"
    longs = [name for name in PIP_FILE_OPTIONS if name.startswith("--")]
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token == "--":
            return None
        if token.startswith("--"):
            name, eq, _ = token.partition("=")
            matches = [name] if name in PIP_FILE_OPTIONS else [n for n in longs if n.startswith(name)]
            if len(matches) != 1:
                return f"pip has no option {name!r} in a requirements file" if not matches else \
                    f"{name!r} is ambiguous ({', '.join(matches)})"
            takes = PIP_FILE_OPTIONS[matches[0]]
            if eq and not takes:
                return f"{matches[0]} takes no value"
            if takes and not eq:
                if i >= len(tokens):
                    return f"{matches[0]} needs a value"
                i += 1
        elif token.startswith("-") and len(token) > 1:
            name = token[:2]
            if name not in PIP_FILE_OPTIONS:
                return f"pip has no option {name!r} in a requirements file"
            if PIP_FILE_OPTIONS[name] and len(token) == 2:
                if i >= len(tokens):
                    return f"{name} needs a value"
                i += 1
    return None


def _requirement_line(rel: str, number: int, line: str) -> None:
    _no_credentials(rel, line)
    # pip's break_args_options: the line's words up to the first one starting with '-' are the requirement,
    # the rest its options.
    words = line.split(" ")
    first_option = next((k for k, w in enumerate(words) if w.startswith("-")), None)
    if first_option is not None:
        problem = _pip_options_problem(" ".join(words[first_option:]))
        if problem:
            raise ValueError(f"{rel}: line {number}: {line[:60]!r}: {problem} (pip stops the build on it; its options: "
                             "pip's requirements file format)")
    if re.match(r"(-e|--editable)?\s*(\.{1,2}/|/|~|file:)", line):
        # A local path (`./mylib`, `-e ../pkg`): the image build has the requirements files, not that folder.
        raise ValueError(f"{rel}: line {number}: {line[:60]!r} installs from a local path, which the image build "
                         "does not have (it copies the requirements files alone): install it from an index or a URL")
    if include_of(line) is not None:
        return  # read_requirements has followed it
    if (line.startswith("-") or "://" in line or "${" in line or line.startswith((".", "/", "~"))
            or line.endswith((".whl", ".zip", ".tar.gz", ".tgz"))):
        return
    spec = re.split(r"\s+--?[A-Za-z]", line, maxsplit=1)[0]  # per-requirement options: --hash=...
    try:
        Requirement(spec)
    except InvalidRequirement:
        raise ValueError(f"{rel}: line {number}: {spec[:60]!r} is not a requirement (PEP 508, e.g. "
                         "`scikit-learn==1.5.2`); is this a requirements file?") from None


def _python(value: str, target: Path, by_keyword: bool = True) -> None:
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
    # azmlinfsrv imports the entry script with importlib's spec_from_file_location, which finds no
    # loader for a name not ending in .py, then refuses a module without init() or run()
    # (azureml-inference-server-http, server/user_script.py: "does not have a init() function
    # defined"); Azure ML's batch driver calls init() and run(mini_batch) the same way.
    if not value.endswith(".py"):
        raise ValueError(f"{value}: an entry script's file name must end in .py (Python's importer loads no other)")
    names = _top_level_names(source)
    if names is not None:
        missing = [f for f in ("init", "run") if f not in names]
        if missing:
            raise ValueError(f"{value} defines no {' and no '.join(f + '()' for f in missing)} at its top level (where "
                             "it runs on import: not under `if __name__ == \"__main__\":` or `if TYPE_CHECKING:`): the "
                             "server calls init() once and run() per request (or mini-batch)")
        literal = [f for f in ("init", "run") if not names[f]]
        if literal:
            raise ValueError(f"{value} binds {literal[0]} to a literal value (e.g. `{literal[0]} = None`), not a function: "
                             f"the server calls {literal[0]}(); define it with def")
    problem = _call_mismatch(source, by_keyword)
    if problem:
        raise ValueError(f"{value}: {problem}")


def _never_runs(test: ast.expr) -> bool:
    """An `if` test whose body never runs when the server imports the script: `if __name__ ==
    "__main__":` (the server imports the module under its own name: azmlinfsrv's user_script.py loads it
    with importlib's spec_from_file_location, Azure ML's batch driver imports it), `if TYPE_CHECKING:`
    (typing.TYPE_CHECKING "is False at runtime") and `if False:`/`if 0:`."""
    if isinstance(test, ast.Constant):
        return not test.value
    if isinstance(test, (ast.Name, ast.Attribute)):
        return (test.id if isinstance(test, ast.Name) else test.attr) == "TYPE_CHECKING"
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
        sides = [test.left, *test.comparators]
        return (any(isinstance(x, ast.Name) and x.id == "__name__" for x in sides)
                and any(isinstance(x, ast.Constant) and x.value == "__main__" for x in sides))
    return False


# Values a name can be bound to that no server can call: `run = None` (a placeholder), `init = "init"`.
_NOT_CALLABLE = (ast.Constant, ast.List, ast.Dict, ast.Set, ast.Tuple, ast.JoinedStr, ast.ListComp, ast.DictComp,
                 ast.SetComp)


def _top_level_names(source: str) -> dict[str, bool] | None:
    """The names a module binds at its top level when it is imported (in if/try blocks too, but not
    in a block that never runs on import: see _never_runs), each with whether one of its bindings can be
    a callable (a def, a class, an import, an assignment of anything but a literal); a name an
    unconditional top-level `del` removes last is not bound. None when a star import or a write to
    globals() could bind any name."""
    names: dict[str, bool] = {}

    def bind(name: str, callable_: bool) -> None:
        names[name] = names.get(name, False) or callable_

    def walk(body: list[ast.stmt], top: bool) -> bool:
        for node in body:
            if "globals" in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}:
                return False
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bind(node.name, True)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name == "*":
                        return False
                    bind(alias.asname or alias.name.split(".")[0], True)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                literal = isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, _NOT_CALLABLE) \
                    and all(isinstance(t, ast.Name) for t in targets)
                for n in (n for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)):
                    bind(n.id, not literal)
            elif isinstance(node, ast.Delete) and top:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        names.pop(target.id, None)
            elif isinstance(node, ast.If):
                if not walk(node.orelse, False) or not (_never_runs(node.test) or walk(node.body, False)):
                    return False
            elif isinstance(node, (ast.Try, ast.With, ast.For, ast.While)) or type(node).__name__ == "TryStar":
                for field in ("body", "orelse", "finalbody"):
                    if not walk(getattr(node, field, []), False):
                        return False
                for handler in getattr(node, "handlers", []):
                    if not walk(handler.body, False):
                        return False
        return True

    return names if walk(ast.parse(source).body, True) else None


def _is_generator(fn: ast.FunctionDef) -> bool:
    """`fn` holds a yield of its own (not one of a function or lambda defined inside it)."""
    nodes = list(fn.body)
    while nodes:
        node = nodes.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            nodes.extend(ast.iter_child_nodes(node))
    return False


def _call_mismatch(source: str, by_keyword: bool) -> str | None:
    """Why init() or run() cannot take the call the server makes: init() with no argument; run() with the
    request's data - azmlinfsrv (`by_keyword`) passes it by the name of run()'s first parameter, Azure ML's
    batch driver passes the mini-batch positionally. A decorated run() (inference-schema's @input_schema
    maps named inputs to parameters) is the decorator's to call, so it is left alone."""
    import ast

    defs = {n.name: n for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}

    def required(fn: ast.FunctionDef) -> int:
        # A parameter named request_headers is azmlinfsrv's to fill (server/user_script.py, 1.5.1:
        # `if any(param.name == "request_headers" ...)` passes the request's headers by that name).
        positional = fn.args.posonlyargs + fn.args.args
        count = len(positional) - len(fn.args.defaults) + sum(d is None for d in fn.args.kw_defaults)
        return count - any(a.arg == "request_headers" for a in positional[:len(positional) - len(fn.args.defaults)]) \
            - any(a.arg == "request_headers" and d is None for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults))

    init, run = defs.get("init"), defs.get("run")
    for fn in (init, run):
        # Neither azmlinfsrv (server/user_script.py calls `self._user_init()` and `self._user_run(...)`)
        # nor the batch driver awaits: an `async def` returns a coroutine that never runs.
        if isinstance(fn, ast.AsyncFunctionDef) and not fn.decorator_list:
            return (f"{fn.name}() is a coroutine (async def), but the server calls it without awaiting it: "
                    f"its body would never run; make it a plain def")
    if isinstance(init, ast.FunctionDef) and not init.decorator_list and _is_generator(init):
        # Calling a generator function only creates the generator: none of init()'s body (the model load) runs.
        return ("init() is a generator function (it holds `yield`), so calling it runs none of its body and the model "
                "is never loaded; return instead of yield")
    if init is not None and not init.decorator_list and required(init):
        return "init() has required parameters, but the server calls init() with none"
    if run is None or run.decorator_list:
        return None
    if by_keyword:
        # azmlinfsrv 1.5.1 (server/user_script.py, _analyze_run): "run() cannot accept positional-only
        # arguments, *args, or **kwargs"; it calls run(<first parameter>=data), keyword-only included.
        if run.args.posonlyargs or run.args.vararg or run.args.kwarg:
            return ("run() takes positional-only parameters, *args or **kwargs, which azmlinfsrv refuses at start "
                    "(it calls run(<first parameter>=data)): name the parameters")
        if not [a for a in run.args.args + run.args.kwonlyargs if a.arg != "request_headers"]:
            return "run() takes no parameter, but the server calls run(data)"
        if required(run) > 1:
            return "run() has more than one required parameter, but the server calls run(data) (one, by its name)"
        return None
    positional = run.args.posonlyargs + run.args.args
    if not positional and run.args.vararg is None:
        return "run() takes no parameter, but the server calls run(mini_batch) (Azure ML's batch driver)"
    if required(run) > 1:
        return "run() has more than one required parameter, but the server calls run(mini_batch) (Azure ML's batch driver)"
    return None


class _NotJson(ValueError):
    """What Python's json module accepts beyond RFC 8259: NaN/Infinity, a name written twice."""


def _not_a_json_number(name: str) -> Any:
    # RFC 8259, section 6: "Numeric values that cannot be represented in the grammar below (such as
    # Infinity and NaN) are not permitted." Python's json reads them anyway; an RFC-strict client or
    # parser refuses the body (JSON.parse in a browser, Go's encoding/json).
    raise _NotJson(f"{name} is not a JSON number (RFC 8259 has no NaN or Infinity)")


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 8259, section 4: "The names within an object SHOULD be unique" - with a name twice
    # "the behavior of software that receives such an object is unpredictable" (most keep the last,
    # silently, as YAML would: the stack reader refuses that too).
    names = [name for name, _ in pairs]
    twice = next((name for i, name in enumerate(names) if name in names[:i]), None)
    if twice is not None:
        raise _NotJson(f"the name {twice!r} is written twice in one object (RFC 8259: names should be unique; "
                       "a parser keeps one of them, silently)")
    return dict(pairs)


NotJson = _NotJson


def strict_json_loads(text: str) -> Any:
    """JSON as RFC 8259 has it: NaN, Infinity and a name written twice raise NotJson (a ValueError)."""
    return json.loads(text, parse_constant=_not_a_json_number, object_pairs_hook=_unique_names)


# A @rawhttp run() may read any body (the guide's binary data, a CSV): its sample cannot be a
# sampleRequest (JSON, also checked by batching and the smoke tests), so the error says what to do.
_RAW_BODY_HINT = ("(a @rawhttp run() that reads another body: leave sampleRequest out and send that file with "
                  "`mldeploy test --data FILE`)")


def _json(value: str, target: Path) -> None:
    text = _text(value, target, "file")
    try:
        body = strict_json_loads(text)
    except _NotJson as err:
        raise ValueError(f"{value} is not JSON: {err}; a sample request is the JSON body sent to /score") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{value} is not JSON (line {err.lineno}, column {err.colno}: {err.msg}); "
                         f"a sample request is the JSON body sent to /score {_RAW_BODY_HINT}") from None
    except (RecursionError, ValueError):
        raise ValueError(f"{value} is not usable JSON (nested too deep, or a number too long)") from None
    if body is None:
        # Valid JSON, but no request: the smoke test and `mldeploy test` would call run(None).
        raise ValueError(f"{value} holds only JSON null: a sample request is the JSON body sent to /score "
                         "(the data run() gets), e.g. {\"data\": [[...]]}")


def _source_directory(value: str, target: Path, root: Path) -> None:
    mode = _stat(value, target, root, "folder").st_mode
    if not stat.S_ISDIR(mode):
        raise ValueError(f"{value} is a file; sourceDirectory is the folder shipped beside the entry script (v1 "
                         "InferenceConfig's source_directory, v2 CodeConfiguration's code)")
    _not_project_config(value, target, root)


def check_path(kind: str, value: str, root: Path) -> str:
    """`value` checked as a path of `kind` (the kinds of the types below) inside project `root`;
    ValueError saying why it may not be used."""
    target = project_path(value, root)
    if kind == "model":
        _model_path(value, target, root)
        return value
    if kind == "source-directory":
        _source_directory(value, target, root)
        return value
    _regular_file(value, target, root)
    if kind == "text":
        _text(value, target, "file")
    elif kind == "conda":
        _conda(value, target)
    elif kind == "batch-conda":
        _conda(value, target)
        _batch_conda(value, target)
    elif kind in ("requirements", "azure-ml-requirements"):
        _requirements(value, root, single_file=kind == "azure-ml-requirements")
    elif kind in ("python", "batch-python"):
        _python(value, target, by_keyword=kind == "python")
    elif kind == "json":
        _json(value, target)
    return value


def _checked(kind: str):
    def check(value: str, info: ValidationInfo) -> str:
        return check_path(kind, value, Path((info.context or {}).get("root", ".")))

    return AfterValidator(check)


ExistingFile = Annotated[str, _checked("file")]
"""A readable regular file inside the project (any bytes)."""

RequirementsFile = Annotated[str, _checked("requirements")]
"""A pip requirements file inside the project: UTF-8, every requirement line PEP 508, with the files
it includes (`-r`, `-c`) inside the project too."""

AzureMLRequirementsFile = Annotated[str, _checked("azure-ml-requirements")]
"""A RequirementsFile that Azure ML turns into one conda file: without constraints files (`-c`)."""

PythonFile = Annotated[str, _checked("python")]
"""A UTF-8 Python source file inside the project that compiles, with the init() and run() azmlinfsrv calls."""

BatchPythonFile = Annotated[str, _checked("batch-python")]
"""A batch entry script: as PythonFile, with the run(mini_batch) Azure ML's batch driver calls."""

SourceDirectory = Annotated[str, _checked("source-directory")]
"""A folder inside the project (not its stack files), shipped whole beside an entry script
(config/source_directory.py says which of its files)."""

JsonFile = Annotated[str, _checked("json")]
"""A UTF-8 JSON file inside the project (sample requests)."""

TextFile = Annotated[str, _checked("text")]
"""A readable UTF-8 text file inside the project (entry scripts, requirements files)."""

CondaFile = Annotated[str, _checked("conda")]
"""A conda environment file inside the project: UTF-8 YAML with a `dependencies:` list."""

BatchCondaFile = Annotated[str, _checked("batch-conda")]
"""A CondaFile of a batch job: it also installs azureml-core, which Azure ML's batch executor needs."""

ExistingPath = Annotated[str, _checked("model")]
"""A model: a readable file, or a folder holding at least one, inside the project."""
