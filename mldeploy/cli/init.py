"""`mldeploy init [DIR]`: write a project of the user's own (Pulumi project, stacks, score.py,
environment, sample, workflows, policy pack) around their model, for its format
(mldeploy/project/formats.py: a model init writes no score.py for is refused). Never overwrites: when any file
it would write exists, it names them all, exits 2 and writes nothing (an existing .gitignore gets
the lines it lacks appended instead; an existing .github/dependabot.yml is kept, with a note)."""
from __future__ import annotations

import re
import shlex
import shutil
import sys
from pathlib import Path

import click

from mldeploy.config import ConfigError
from mldeploy.contract import stack_file_path


def _model_in_project(model: Path | None, root: Path) -> tuple[str, Path | None]:
    """(the model's path in the project, the file or folder to copy there or None). A model outside
    the project is copied to models/<its name>: stacks name files inside the project only."""
    from mldeploy.project import DEFAULT_MODEL_PATH

    if model is None:
        return DEFAULT_MODEL_PATH, None
    source = model.expanduser().resolve()
    if not source.exists():
        raise ConfigError("--model", f"{model}: no such file or folder")
    if not (source.is_file() or source.is_dir()):
        raise ConfigError("--model", f"{model}: not a regular file or folder")
    if source == root or source in root.parents:
        raise ConfigError("--model", f"{model} is or holds the project folder; name the model file or the "
                                     "folder with only the model's files")
    if root in source.parents:
        return source.relative_to(root).as_posix(), None
    return f"models/{source.name}", source


class _StartingPoints(click.Choice):
    """--target's choices: the targets whose row in the table has a starting point (mldeploy/project),
    read when first asked rather than when the CLI starts (the table imports every target)."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from mldeploy.project import TARGET_STACKS
        return tuple(TARGET_STACKS)

    @choices.setter
    def choices(self, _given) -> None:  # click.Choice's __init__ sets them; the table is their source
        pass


@click.command("init")
@click.argument("directory", required=False, default=".",
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--model", "model", type=click.Path(path_type=Path), default=None,
              help="The trained model: a scikit-learn model saved with joblib or pickle, an ONNX model, or an "
                   "MLflow model folder (flavor sklearn or onnx); score.py, environment.yml and the sample are "
                   "written for the format read from its content. Anything else is refused (exit 2, nothing "
                   "written). Inside DIR it is used in place, outside it is copied to DIR/models/. "
                   "Default: models/model.pkl, to be put there.")
@click.option("--target", "targets", multiple=True, type=_StartingPoints(),
              help="Cloud starting points to write (repeatable): the stack file each target starts from, "
                   "in the order the deploy workflow runs them. Default: aci, managed, aks (containerapp, "
                   "kubernetes-endpoint, edge and batch only when named; batch also writes batch_score.py, "
                   "batch-env.yml and batch-input/; tests/cli/test_init.py keeps this list true). "
                   "stacks/Pulumi.local.yaml is always written.")
@click.option("--name", default=None, help="Name of the model, image and service (default: from the model's "
                                           "file name).")
def command(directory: Path, model: Path | None, targets: tuple[str, ...], name: str | None) -> None:
    """Write a new mldeploy project in DIR (default: here) for your model."""
    from mldeploy.project import (DEFAULT_FEATURES, DEFAULT_TARGETS, GENERATED_CONDA_FILE, NAME_RE, ONNXRUNTIME_PIN,
                                  PANDAS_PIN, SCORING_PINS, STARTING_POINTS, TARGET_STACKS, V1_CONDA_FILE,
                                  ProjectChoices,
                                  project_name, render_project, safe_name)
    from mldeploy.project.formats import PACKAGES, ModelFormat, read_model

    root = directory.expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise ConfigError(str(directory), "exists and is not a folder")
    model_path, copy_from = _model_in_project(model, root)
    if name is not None and not NAME_RE.match(name):
        raise ConfigError("--name", f"{name!r}: lowercase letters, digits and '-', starting with a letter, "
                                    "2-32 characters")
    model_source = copy_from or root / model_path
    # The model's format, from its content; without --model and no file yet, a pickle to be put there.
    found = (read_model(model_source, str(model) if model is not None else model_path) if model_source.exists()
             else ModelFormat("pickle", Path(model_path).name))
    chosen = tuple(t for t in TARGET_STACKS if t in targets) if targets else DEFAULT_TARGETS
    for target in chosen:
        if found.kind not in STARTING_POINTS[target].kinds:
            raise ConfigError("--target", f"{target}: init writes its files for a model of kind "
                                          f"{', '.join(STARTING_POINTS[target].kinds)}, and {model_path} is "
                                          f"{found.kind}; write them yourself (docs/targets.md), or leave out "
                                          f"--target {target}")
    # An SDK v1 project's own entry script and conda file are used, not overwritten (docs/project.md).
    keep_script = (root / "score.py").is_file()
    conda_file = V1_CONDA_FILE if (root / V1_CONDA_FILE).is_file() else GENERATED_CONDA_FILE
    # A file name ending in a version (churn-v1.joblib) names the model without it: a registered model keeps
    # its name across versions (churn:1, then churn:2 beside it), and churn-v1:2 would read wrong on day 2.
    from_file = safe_name(Path(model_path).stem.split(".")[0])
    unversioned = re.sub(r"-v\d+$", "", from_file)
    dropped = from_file[len(unversioned):] if name is None and NAME_RE.match(unversioned) else ""
    choices = ProjectChoices(
        project=project_name(root), name=name or from_file[:len(from_file) - len(dropped)],
        model_path=model_path, model_file=found.file, features=found.features or DEFAULT_FEATURES,
        targets=chosen, named_columns=found.named_columns, kind=found.kind, onnx_inputs=found.inputs,
        rows=found.rows, lacking=found.modules, keep_script=keep_script, conda_file=conda_file)
    features, named_columns = found.features, found.named_columns
    files = render_project(choices)
    appended = _lines_to_add(root, files)
    kept = _kept_as_they_are(root, files)
    planned = sorted(files) + ([model_path] if copy_from is not None else [])
    existing = [p for p in planned if (root / p).exists() or (root / p).is_symlink()]
    if existing:
        # Day 2: a stack of another target for a project init wrote (hwalk2 wanted stack containerapp
        # beside prod); init never writes into it, so say how to get that stack file alone.
        adding = "" if not targets or "Pulumi.yaml" not in existing else (
            "; to add a stack to this project, init one in an empty folder and copy its stack file here: "
            f"`mldeploy init --model {model} " + " ".join(f"--target {t}" for t in chosen) + " <empty folder>`, then "
            + ", ".join(f"<empty folder>/stacks/Pulumi.{TARGET_STACKS[t]}.yaml" for t in chosen)
            + "".join(f", <empty folder>/{path}" for t in chosen for path, _ in STARTING_POINTS[t].files)
            + " (check its models' `path`), and each stack's job in <empty folder>/.github/workflows/deploy.yml")
        raise ConfigError(str(directory), f"would overwrite {', '.join(existing)}; nothing was written "
                                          f"(init writes a new project: use an empty folder, or move these away{adding})")
    _write(root, files, copy_from, model_path, appended)

    where = str(directory)
    click.echo(f"wrote an mldeploy project in {root}: " + ", ".join(planned))
    for rel, added in appended.items():
        lines = [line for line in added.decode().splitlines() if line and not line.startswith("#")]
        click.echo(f"kept your {rel}; added " + (", ".join(lines) if lines else "nothing (it ignores all of "
                                                                                 "mldeploy's files already)"))
    for rel in kept:
        click.echo(f"kept your {rel}: add its `pip` entry so Dependabot updates requirements.txt's exact pins "
                   "(docs/project.md#requirementstxt-where-mldeploy-comes-from)")
    if keep_script:
        click.echo("kept your score.py (an SDK v1 script's Model.get_model_path and azureml.contrib.services run "
                   "unchanged: docs/scoring.md); check that it loads the model as the stacks name it "
                   f"(models.{choices.name})")
    if conda_file != GENERATED_CONDA_FILE:
        click.echo(f"kept your {conda_file}: the stacks' condaFile (mldeploy synth warns of what it lacks or what "
                   "SDK v1 left in it, such as azureml-defaults)")
    if copy_from is not None:
        # Named from here when the project is another folder (hwalk3 read "copied the model models/iris.pkl to
        # models/iris.pkl" for `init --model models/iris.pkl ../other`).
        shown = model_path if root == Path.cwd().resolve() else (Path(where) / model_path).as_posix()
        click.echo(f"copied the model {model} to {shown}")
    elif not (root / model_path).exists():
        click.echo(f"next: put your model at {model_path} (or run init again with --model)")
    if features is None and found.kind == "pickle":
        click.echo(f"note: could not read the model's number of inputs from its file; score.py and "
                   f"sample-request.json assume {DEFAULT_FEATURES}: change N_FEATURES and the sample to fit")
    if found.kind == "onnx" and not found.inputs[0].width:
        only = found.inputs[0]
        click.echo(f"note: an ONNX model; score.py runs {found.file} with ONNX Runtime (environment.yml: "
                   f"{ONNXRUNTIME_PIN}), a request's data is its input {only.name!r} ({only.dtype}, shape "
                   f"[{', '.join(str(s) if s else 'N' for s in only.shape)}]): sample-request.json holds zeros, put "
                   "real data of yours there")
    elif found.kind == "onnx":
        shown = ", ".join(f"{i.name!r} ({i.dtype}, {i.width} column{'s' if i.width > 1 else ''})" for i in found.inputs)
        click.echo(f"note: an ONNX model; score.py runs {found.file} with ONNX Runtime (environment.yml: "
                   f"{ONNXRUNTIME_PIN}), a row holds its input{'s' if len(found.inputs) > 1 else ''} "
                   f"{shown}" + (f"; {found.rows} row(s) a request (its fixed batch size)" if found.rows else "")
                   + ("; put real rows of yours in sample-request.json: its texts (text-0, text-1) are placeholders "
                      "a category column may not know" if any(i.dtype == "str" for i in found.inputs) else ""))
    if found.others:
        click.echo(f"note: score.py loads {found.file}; the model's folder also holds the model file(s) "
                   f"{', '.join(found.others)}: load them in score.py's init() if the model needs them")
    for module in found.modules:
        if module == "__main__":
            click.echo("note: the pickle refers to __main__ (a class or function defined in your training script): "
                       "the scorer cannot import it; move it into a module beside score.py and import it there")
        elif module in PACKAGES:
            click.echo(f"note: the pickle imports the module {module}, which environment.yml does not install: add "
                       f"{PACKAGES[module]}==<the version you trained with> to its pip list (a commented line is "
                       "there), or the scorer stops with ModuleNotFoundError")
        else:
            click.echo(f"note: the pickle imports the module {module}, which environment.yml does not install: add "
                       "the package that provides it to its pip list (a commented line is there), or, if it is "
                       "your own code, put it beside score.py and set the image's sourceDirectory "
                       "(docs/project.md); else the scorer stops with ModuleNotFoundError")
    pinned = next(p.split("==")[1] for p in SCORING_PINS if p.startswith("scikit-learn=="))
    if found.sklearn_version and found.sklearn_version != pinned and conda_file == GENERATED_CONDA_FILE:
        told = ("the MLmodel file says the model" if (model_source / "MLmodel").is_file()
                else "the pickle says the model")
        click.echo(f"note: {told} was saved with scikit-learn {found.sklearn_version}; environment.yml pins "
                   f"{pinned}: pin yours there (another version may not load it, or predict otherwise)")
    if dropped:
        click.echo(f"note: named the model, image and service {choices.name!r}, the file name without {dropped!r}: "
                   f"the stacks register it as {choices.name}:1 and a new version beside it as {choices.name}:2 "
                   "(the managed stack's header, docs/rollout.md); --name sets another name")
    if named_columns:
        click.echo(f"note: the model was fitted on a pandas DataFrame: score.py hands it the rows as a DataFrame "
                   f"with its own column names (numbers or texts; a row may also be an object of the columns: "
                   f"{{\"<column>\": <value>, ...}}), and environment.yml installs {PANDAS_PIN} (pin "
                   "the pandas you trained with); put real rows of yours in sample-request.json: its zeros do not "
                   "fit a text (category) column")
    cd = "" if root == Path.cwd().resolve() else f"cd {shlex.quote(where)} && "
    me = _invocation(relative=not cd)
    first = TARGET_STACKS[chosen[0]]
    click.echo("\nnext:")
    click.echo(f"  {cd}{me} serve --stack local       # your model on 127.0.0.1, scored with sample-request.json")
    click.echo(f"  {cd}{me} synth --stack {first}" + " " * max(1, 12 - len(first))
               + "# what `pulumi up` would create, offline")
    click.echo(f"  {cd}pulumi stack init {first} && pulumi up   # deploy (first `az login`, and set the "
               f"names {stack_file_path(first)}'s header lists)")


# Files a repository of the user's own usually has already, whose lines only add up: init adds
# its missing lines at the end instead of refusing the folder (any git repository has a .gitignore).
APPENDED = (".gitignore",)


def _lines_to_add(root: Path, files: dict[str, bytes]) -> dict[str, bytes]:
    """Per existing file of APPENDED (taken out of `files`): what to append to it - init's header
    comment and the lines it lacks, or nothing when it has them all."""
    out: dict[str, bytes] = {}
    for rel in APPENDED:
        target = root / rel
        if rel not in files or not target.is_file() or target.is_symlink():
            continue
        ours = files.pop(rel).decode().splitlines()
        theirs = {line.strip() for line in target.read_text(errors="replace").splitlines()}
        missing = [line for line in ours if line and not line.startswith("#") and line.strip() not in theirs]
        comments = [line for line in ours if line.startswith("#")]
        lead = "" if target.read_bytes().endswith(b"\n") or not target.stat().st_size else "\n"
        out[rel] = (lead + "\n".join(comments + missing) + "\n").encode() if missing else b""
    return out


# Files a repository of the user's own may have already, whose content is theirs to merge: init keeps them
# and says what to add (a repository's Dependabot configuration is one file for all its ecosystems).
KEPT = (".github/dependabot.yml",)


def _kept_as_they_are(root: Path, files: dict[str, bytes]) -> list[str]:
    """The files of KEPT the folder has already (taken out of `files`)."""
    kept = [rel for rel in KEPT if rel in files and ((root / rel).exists() or (root / rel).is_symlink())]
    for rel in kept:
        del files[rel]
    return kept


def _invocation(relative: bool) -> str:
    """How the user runs this mldeploy: `mldeploy` when that is the one on PATH, else the script's
    path (`.venv/bin/mldeploy` from a virtualenv not activated), so the next commands work as printed."""
    script = Path(sys.argv[0])
    if script.name != "mldeploy" or not script.is_file():
        return "mldeploy"
    on_path = shutil.which("mldeploy")
    if on_path and Path(on_path).resolve() == script.resolve():
        return "mldeploy"
    shown = script.absolute()
    if relative and shown.is_relative_to(Path.cwd()):
        shown = shown.relative_to(Path.cwd())
    return shlex.quote(str(shown))


def _write(root: Path, files: dict[str, bytes], copy_from: Path | None, model_path: str,
           appended: dict[str, bytes]) -> None:
    """Every file, or none: what was written is removed again (an appended file restored) when one
    write fails."""
    written: list[Path] = []
    created: list[Path] = []
    originals: dict[Path, bytes] = {}
    try:
        for folder in sorted({(root / p).parent for p in [*files, model_path]}, key=lambda p: len(p.parts)):
            for parent in [*reversed(folder.parents), folder]:
                if not parent.exists():
                    parent.mkdir()
                    created.append(parent)
        for rel, data in files.items():
            target = root / rel
            with target.open("xb") as out:  # "x": never replace a file that appeared meanwhile
                written.append(target)
                out.write(data)
        if copy_from is not None:
            target = root / model_path
            written.append(target)
            if copy_from.is_dir():
                shutil.copytree(copy_from, target)
            else:
                shutil.copyfile(copy_from, target)
        for rel, data in appended.items():
            target = root / rel
            originals[target] = target.read_bytes()
            with target.open("ab") as out:
                out.write(data)
    except OSError as err:
        for path, data in originals.items():
            path.write_bytes(data)
        for path in reversed(written):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                pass
        raise click.ClickException(f"could not write the project in {root}: {err}; nothing was kept") from None
