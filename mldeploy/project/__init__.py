"""A user's own mldeploy project, as `mldeploy init` writes it: every file rendered from the
templates beside this module (package data) and the user's choices. Pure: nothing is written here
(cli/init.py writes), so the rendering is tested file by file without a folder.

Templates use `%{name}` placeholders (string.Template with `%` as delimiter): the workflows hold
GitHub's `${{ }}` and the score.py f-strings hold `{}`, which `$`- or brace-based templating
would need escaped everywhere.
"""
from __future__ import annotations

import json
import re
import string
import textwrap
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path, PurePosixPath

from mldeploy.contract import GATEWAY_PORT, stack_file_path
from mldeploy.plan.deploy_lock import DEPLOY_LOCK
from mldeploy.plan.versions import ACTION_PINS, BATCH_EXECUTOR_PIN, DEPLOY_PACKAGES, KUBELOGIN_VERSION, conda_python_lines
from mldeploy.project.formats import PACKAGES
from mldeploy.project.source import MldeploySource, installed_source
from mldeploy.scoring.scorer_host import SERVER_PACKAGE, TESTED_VERSIONS
from mldeploy.targets import TARGETS
from mldeploy.targets.target import StartingPoint

# The Python minor of the scoring environment init writes: its exact patch and pip come from the dated table
# (plan/versions.py CONDA_PYTHONS), as in examples/diabetes/myenv.yml.
SCORING_PYTHON = "3.11"
# The scoring environment's pins: those of examples/diabetes/myenv.yml (the example the test suite
# builds into images and serves), so a new project starts from a tested set and shares its cached
# local environment. tests/project/test_render.py keeps the two equal.
SCORING_PINS = (
    f"{SERVER_PACKAGE}=={TESTED_VERSIONS[SERVER_PACKAGE]}",  # the scorer host's tested version
    "scikit-learn==1.9.1",
    "joblib==1.6.0",
    "numpy==2.4.6",
    "inference-schema[numpy-support]==1.8",
)
# A model fitted on a pandas DataFrame is given a DataFrame by score.py, so its environment has
# pandas (the version tests/runtime/test_batching_e2e.py serves with these pins) and inference-schema's
# pandas support, for a run() that takes a DataFrame itself (PandasParameterType).
PANDAS_PIN = "pandas==2.3.3"
PANDAS_SCHEMA_PIN = "inference-schema[numpy-support,pandas-support]==1.8"
# An ONNX model's environment: ONNX Runtime in place of scikit-learn and joblib. 1.31.1 has CPython
# 3.11 wheels for manylinux x86_64/aarch64 on PyPI (the image's python=3.11) and runs with numpy
# 2.4.6: tests/cli/test_init.py serves a model with these pins.
ONNXRUNTIME_PIN = "onnxruntime==1.31.1"
ONNX_PINS = (SCORING_PINS[0], ONNXRUNTIME_PIN,
             *(pin for pin in SCORING_PINS if pin.startswith(("numpy==", "inference-schema["))))


def scoring_pins(named_columns: bool, kind: str = "pickle") -> tuple[str, ...]:
    """environment.yml's pip list: SCORING_PINS, with pandas for a model fitted on a DataFrame;
    ONNX_PINS for an ONNX model."""
    if kind == "onnx":
        return ONNX_PINS
    if not named_columns:
        return SCORING_PINS
    return (*(PANDAS_SCHEMA_PIN if pin.startswith("inference-schema[") else pin for pin in SCORING_PINS),
            PANDAS_PIN)


def _stack_template(stack: str, template=None):
    """A stack file's template: a starting point's own (`template`, package data of its target) or
    templates/stacks/<stack>.yaml.tmpl."""
    return resources.files(__name__).joinpath("templates", "stacks", f"{stack}.yaml.tmpl") if template is None else template


def _starting_points(targets) -> dict[str, StartingPoint]:
    """--target -> its starting point (each target's row in the table says which), in the order the
    deploy workflow runs them. A row whose stack template is missing fails here, when this module is
    imported, naming the row and the path - not as a traceback halfway through `mldeploy init`."""
    points = {t.name: t.starting_point for t in sorted(
        (t for t in targets if t.starting_point is not None), key=lambda t: t.starting_point.order)}
    for name, point in points.items():
        template = _stack_template(point.stack, point.template)
        if not template.is_file():
            raise RuntimeError(f"target table (mldeploy/targets/__init__.py) row {name!r}: its StartingPoint's "
                               f"stack template {template} does not exist")
    return points


STARTING_POINTS = _starting_points(TARGETS)
TARGET_STACKS = {name: point.stack for name, point in STARTING_POINTS.items()}
# What init writes without --target; the others only when asked (`--target containerapp`).
DEFAULT_TARGETS = tuple(name for name, point in STARTING_POINTS.items() if point.by_default)
# Production starting points (the row says so) deploy only after the `production` environment's
# reviewers approve.
PRODUCTION_STACKS = tuple(point.stack for point in STARTING_POINTS.values() if point.production)
DEFAULT_MODEL_PATH = "models/model.pkl"
DEFAULT_FEATURES = 4  # when the model's input width cannot be read from its file
POLICY_FILES = ("PulumiPolicy.yaml", "__main__.py", "config.json")
POLICY_PACKAGE = "mldeploy.policies"  # the installed policy pack whose entry files a project copies
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")  # config/base.py's Name


class _Template(string.Template):
    delimiter = "%"


GENERATED_CONDA_FILE = "environment.yml"
V1_CONDA_FILE = "myenv.yml"  # the guide's name for the scoring environment (InferenceConfig's conda_file)


@dataclass(frozen=True)
class ProjectChoices:
    """What `mldeploy init` was told (or defaulted): names, the model's path in the project, targets."""

    project: str  # Pulumi project name
    name: str  # model, image and service name
    model_path: str  # relative to the project root, posix
    model_file: str  # the file score.py loads, relative to AZUREML_MODEL_DIR
    features: int  # the model's input width (sample request, score.py's check)
    targets: tuple[str, ...]  # keys of TARGET_STACKS
    named_columns: bool = False  # fitted on a pandas DataFrame (environment.yml then installs pandas)
    kind: str = "pickle"  # the model's format (formats.ModelFormat.kind): pickle or onnx
    onnx_inputs: tuple = ()  # an ONNX model's inputs (formats.OnnxInput), in the graph's order
    rows: int | None = None  # an ONNX model's fixed batch size, or None
    lacking: tuple[str, ...] = ()  # modules a pickle imports that environment.yml does not install
    # A project folder that has them already (an SDK v1 project): its score.py is kept, not written, and its
    # conda file (myenv.yml) is the images' condaFile in place of a written environment.yml.
    keep_script: bool = False
    conda_file: str = GENERATED_CONDA_FILE


def _template(name: str) -> str:
    return resources.files(__name__).joinpath("templates", *name.split("/")).read_text(encoding="utf-8")


def _fill(template: str, **values: object) -> str:
    return _fill_text(_template(template), **values)


def _fill_text(text: str, **values: object) -> str:
    return _Template(text).substitute(**{k: str(v) for k, v in values.items()})


def requirements(source: MldeploySource) -> str:
    """requirements.txt: the mldeploy line, with why it reads so as a comment, then its dependencies at
    the exact versions mldeploy is tested with (plan/versions.py DEPLOY_PACKAGES), then what they pull in at
    the versions of the tests' virtualenv (plan/deploy_lock.py, written by `make lock`)."""
    version = metadata.version("mldeploy")
    note = textwrap.wrap(f"mldeploy {version}: {source.comment}.", 96)
    pins = "\n".join(f"{name}=={pinned}" for name, pinned in DEPLOY_PACKAGES.items())
    lock = "\n".join(f"{name}=={pinned}" for name, pinned in DEPLOY_LOCK.items())
    return _fill("requirements.txt.tmpl", note="\n".join(f"# {line}" for line in note), line=source.line,
                 version=version, pins=pins, lock=lock)


def safe_name(text: str, fallback: str = "model") -> str:
    """`text` as a model/service name (lowercase letters, digits, '-'; 2-32 characters)."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower())
    name = re.sub(r"^[^a-z]+", "", name)[:32].strip("-")
    name = re.sub(r"-{2,}", "-", name)
    return name if NAME_RE.match(name) else fallback


def project_name(folder: Path) -> str:
    """The Pulumi project name for `folder` (its name, in Pulumi's alphabet)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.resolve().name).strip("-.") or "mldeploy-project"
    return name[:100]


# The key `n_features_in_` as a pickle writes a short string (SHORT_BINUNICODE or BINUNICODE),
# optionally memoized (MEMOIZE, BINPUT, LONG_BINPUT), then its small int value (BININT1, BININT2,
# BININT) - the opcodes of pickle protocols 2-5 (Lib/pickletools.py). A byte pattern rather than
# pickletools.genops: joblib writes numpy arrays' raw bytes into the stream after its wrapper
# object, where genops stops, and an estimator may hold arrays before this key.
_WIDTH = re.compile(rb"(?:\x8c\x0e|X\x0e\x00\x00\x00)n_features_in_(?:\x94|q.|r....)?"
                    rb"(?:K(?P<b1>.)|M(?P<b2>..)|J(?P<b4>....))", re.DOTALL)


def model_features(path: Path) -> int | None:
    """The input width a pickled scikit-learn model (joblib or pickle, uncompressed) was fitted
    with: the first `n_features_in_` in the stream (a Pipeline's first step comes first). Read from
    the bytes: init never runs the user's pickle. None when the file says nothing readable
    (another format, a compressed file: formats.read_model decompresses first)."""
    try:
        return stream_features(path.read_bytes())
    except OSError:
        return None


def stream_features(data: bytes) -> int | None:
    """model_features of a pickle stream's bytes."""
    match = _WIDTH.search(data)
    if match is None:
        return None
    raw = match.group("b1") or match.group("b2") or match.group("b4")
    width = int.from_bytes(raw, "little", signed=len(raw) == 4)
    return width if width > 0 else None


# The key `feature_names_in_` as a pickle writes it (as _WIDTH's key): scikit-learn sets it only when
# fit() was given column names (a pandas DataFrame).
_COLUMNS = re.compile(rb"(?:\x8c\x11|X\x11\x00\x00\x00)feature_names_in_")


def model_has_column_names(path: Path) -> bool:
    """Whether a pickled scikit-learn model was fitted on a DataFrame (it holds `feature_names_in_`),
    read from its bytes as model_features reads its width; False when the file does not say."""
    try:
        return stream_has_column_names(path.read_bytes())
    except OSError:
        return False


def stream_has_column_names(data: bytes) -> bool:
    """model_has_column_names of a pickle stream's bytes."""
    return _COLUMNS.search(data) is not None


def model_file(model: Path, model_path: str) -> str:
    """The file score.py loads relative to AZUREML_MODEL_DIR: the file itself, or in a folder the
    one pickle/joblib file (else the first file)."""
    if not model.is_dir():
        return Path(model_path).name
    files = sorted(p.relative_to(model).as_posix() for p in model.rglob("*") if p.is_file())
    pickles = [f for f in files if f.endswith((".pkl", ".pickle", ".joblib"))]
    return (pickles or files or ["model.pkl"])[0]


def sample_request(features: int) -> str:
    return json.dumps({"data": [[0.0] * features, [1.0] * features]}) + "\n"


def _onnx_value(dtype: str, row: int):
    """A sample value of an ONNX input's element type: the row's number (0, 1), a text, a boolean."""
    if dtype == "str":
        return f"text-{row}"
    if dtype == "bool":
        return bool(row)
    return float(row) if dtype.startswith("float") else row


def onnx_sample_request(inputs, rows: int | None) -> str:
    """Rows of every input's columns, in the graph's order: what the ONNX score.py takes (one
    input of another shape: an array of zeros of that shape, 1 where it is open)."""
    if not inputs[0].width:
        data = _onnx_value(inputs[0].dtype, 0)
        for size in reversed(inputs[0].shape):
            data = [data] * (size or 1)
        return json.dumps({"data": data}) + "\n"
    data = [[_onnx_value(i.dtype, r % 2) for i in inputs for _ in range(i.width)] for r in range(rows or 2)]
    return json.dumps({"data": data}) + "\n"


def _environment(c: ProjectChoices) -> str:
    pins = "\n".join(f"      - {pin}" for pin in scoring_pins(c.named_columns, c.kind))
    for module in c.lacking:
        if module == "__main__":
            continue
        package = PACKAGES.get(module, f"<the package of {module}>")
        pins += (f"\n      # - {package}==<the version you trained with>   # the model imports {module}: "
                 "uncomment, pin, keep")
    advice = ("# ONNX Runtime runs the model: a model of a newer opset than it knows needs a newer pin." if c.kind == "onnx"
              else "# Serve the model with the scikit-learn it was trained with: change the pin if yours differs.")
    python, pip = conda_python_lines(SCORING_PYTHON)
    return _fill("environment.yml.tmpl", name=c.name, pins=pins, advice=advice, python=python, pip=pip)


# The files a score.py init writes loads when the model's folder lacks the one init found: a later version
# saved under another name (models/churn-v2.joblib beside version 1's churn-v1.joblib), if it is the only one.
MODEL_SUFFIXES = {"pickle": (".pkl", ".pickle", ".joblib"), "onnx": (".onnx",)}


def _model_path_function(c: ProjectChoices) -> str:
    """score.py's MODEL_FILE, MODEL_SUFFIXES and model_path(): init's file, else the folder's one model file."""
    own = PurePosixPath(c.model_file).suffix
    suffixes = MODEL_SUFFIXES["onnx" if c.kind == "onnx" else "pickle"]
    suffixes += (own,) if own and own not in suffixes else ()
    return _fill("score-model-path.py.tmpl", model_file=c.model_file, suffixes=repr(suffixes)).rstrip("\n")


def _score(c: ProjectChoices) -> str:
    find = _model_path_function(c)
    if c.kind == "onnx" and not c.onnx_inputs[0].width:  # one tensor of any shape
        only = c.onnx_inputs[0]
        return _fill("score-onnx-array.py.tmpl", name=c.name, model_path_function=find, input=only.name,
                     dtype=only.dtype, shape=repr(list(only.shape)))
    if c.kind == "onnx":
        inputs = "[" + ", ".join(repr((i.name, i.dtype, i.width)) for i in c.onnx_inputs) + "]"
        return _fill("score-onnx.py.tmpl", name=c.name, model_path_function=find, inputs=inputs, rows=c.rows,
                     features=c.features)
    return _fill("score.py.tmpl", name=c.name, features=c.features, model_path_function=find)


# A workflow template names each action without a ref (`uses: actions/checkout`); the pin is the dated
# table's (plan/versions.py ACTION_PINS), the one source of this repository's and every project's pins.
_USES = re.compile(r"^(?P<lead>\s*(?:- )?uses: )(?P<action>[\w.-]+/[\w.-]+)$", re.MULTILINE)


def _pin_actions(text: str, template: str) -> str:
    """Every `uses: owner/name` of a workflow as `owner/name@<sha> # <tag>` from ACTION_PINS."""
    def pin(match: re.Match) -> str:
        action = match.group("action")
        if action not in ACTION_PINS:
            raise RuntimeError(f"mldeploy/project/templates/{template}: action {action} has no pin in "
                               "mldeploy/plan/versions.py ACTION_PINS")
        return f"{match.group('lead')}{action}@{ACTION_PINS[action].sha} # {ACTION_PINS[action].version}"
    return _USES.sub(pin, text)


def _workflow(template: str, **values: object) -> str:
    return _pin_actions(_fill(template, kubelogin=KUBELOGIN_VERSION, **values), template)


def _stack(target_stack: str, c: ProjectChoices, template=None) -> str:
    """A stack file from its template: the starting point's own (`template`, a target's package
    data) or templates/stacks/<stack>.yaml.tmpl."""
    models = _fill("stack-models.yaml.tmpl", name=c.name, model_path=c.model_path,
                   conda_file=c.conda_file).rstrip("\n")
    text = _stack_template(target_stack, template).read_text(encoding="utf-8")
    v2_path, v2_file = _version_2(c)
    # `models`: the models alone, for a stack of no image (batch: Azure ML builds the job's environment).
    return _fill_text(text, name=c.name, port=GATEWAY_PORT, models_and_images=models, v2_path=v2_path,
                      v2_file=v2_file, models=models[:models.index("\n  mldeploy:images:")],
                      batch_install=" ".join(f"'{pin}'" for pin in _batch_pins(c) if pin != BATCH_EXECUTOR_PIN))


# A batch job's environment: the scoring pins without the scorer's packages (no server runs a batch job),
# with the azureml-core Azure ML's batch driver imports (plan/versions.py).
BATCH_PINS = (BATCH_EXECUTOR_PIN, *(p for p in SCORING_PINS[1:] if not p.startswith("inference-schema[")))


def _batch_pins(c: ProjectChoices) -> tuple[str, ...]:
    return BATCH_PINS + ((PANDAS_PIN,) if c.named_columns else ())


def _starting_point_files(point: StartingPoint, c: ProjectChoices) -> dict[str, str]:
    """The files a starting point needs besides its stack (the batch driver, its environment and an input
    file of the model's width), filled with the project's values; the sample input only where init knows
    the columns (a model fitted on a DataFrame reads its own column names from the header)."""
    python, pip = conda_python_lines(SCORING_PYTHON)
    pins = _batch_pins(c)
    values = dict(name=c.name, features=c.features, model_path_function=_model_path_function(c), python=python,
                  pip=pip, pins="\n".join(f"      - {pin}" for pin in pins),
                  header=",".join(f"x{i}" for i in range(c.features)),
                  rows="\n".join(",".join([value] * c.features) for value in ("0.0", "1.0")))
    return {path: _fill(template, **values) for path, template in point.files
            if not (path.endswith(".csv") and c.named_columns)}


def _version_2(c: ProjectChoices) -> tuple[str, str]:
    """Where the stack headers' day-2 entry puts version 2 of the model, and why that name: any name
    beside version 1 for init's score.py (model_path() loads a version's one model file), the file
    name it opens, in a folder of its own, for a project's own score.py."""
    path = PurePosixPath(c.model_path)
    if c.keep_script:
        return (path.parent / "v2" / path.name).as_posix(), f"your score.py opens {c.model_file}: keep that name"
    return (path.parent / f"{c.name}-v2{path.suffix}").as_posix(), "any file name: score.py loads the version's one model file"


def _deploy_workflow(c: ProjectChoices) -> str:
    stacks = [TARGET_STACKS[t] for t in TARGET_STACKS if t in c.targets]
    earlier = [s for s in stacks if s not in PRODUCTION_STACKS]
    jobs = []
    for stack in stacks:
        production = stack in PRODUCTION_STACKS
        needs = f"\n    needs: [{', '.join(earlier)}]" if production and earlier else ""
        jobs.append(_workflow("workflows/deploy-job.yml.tmpl", stack=stack, project=c.project, needs=needs,
                          environment="production" if production else stack))
    return _workflow("workflows/deploy.yml.tmpl", jobs="\n".join(jobs).rstrip("\n"))


def policy_pack_files() -> dict[str, bytes]:
    """The policy pack's entry files as this installation has them: a project runs the installed
    pack (`pulumi preview --policy-pack policies`), configured by its own config.json."""
    pack = resources.files(POLICY_PACKAGE)
    return {f"policies/{name}": pack.joinpath(name).read_bytes() for name in POLICY_FILES}


def render_project(c: ProjectChoices) -> dict[str, bytes]:
    """Every file of the project (posix path relative to its root -> bytes), the model excluded;
    the mldeploy wheel or sdist this one was installed from under vendor/ when it is a local file."""
    source = installed_source()
    text = {
        "Pulumi.yaml": _fill("Pulumi.yaml.tmpl", project=c.project, name=c.name),
        "requirements.txt": requirements(source),
        "__main__.py": _template("main.py.tmpl"),
        **({} if c.keep_script else {"score.py": _score(c)}),
        **({GENERATED_CONDA_FILE: _environment(c)} if c.conda_file == GENERATED_CONDA_FILE else {}),
        "sample-request.json": (onnx_sample_request(c.onnx_inputs, c.rows) if c.kind == "onnx"
                                else sample_request(c.features)),
        ".gitignore": _template("gitignore.tmpl"),
        ".github/dependabot.yml": _template("dependabot.yml.tmpl"),
        stack_file_path("local"): _stack("local", c),
        ".github/workflows/pull-request.yml": _workflow("workflows/pull-request.yml.tmpl", project=c.project),
    }
    for target in c.targets:
        point = STARTING_POINTS[target]
        text[stack_file_path(point.stack)] = _stack(point.stack, c, point.template)
        text.update(_starting_point_files(point, c))
    if c.targets:
        text[".github/workflows/deploy.yml"] = _deploy_workflow(c)
    files = {path: body.encode() for path, body in text.items()}
    files.update(policy_pack_files())
    if source.copy_from is not None:
        files[source.vendored] = source.copy_from.read_bytes()
    return dict(sorted(files.items()))
