"""The batch row's `command`, `mldeploy batch`: run an entry's driver script on this machine over a
folder of input files, exactly as the Azure ML batch deployment will (mldeploy/runtime/batch_local.py).
The CLI adds --stack, --name and --project-dir and loads the stack (mldeploy/cli/target_commands.py)."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import click

from mldeploy.targets.target import TargetCommand

HELP = ("Score a folder of files with the batch entry's init()/run(mini_batch) script, on this machine, exactly "
        "as the Azure ML batch deployment will (mini-batches, retries, threshold).")
OPTIONS = (
    click.option("--input", "input_dir", required=True,
                 type=click.Path(exists=True, file_okay=False, path_type=Path), help="Folder of input files."),
    click.option("--output", "output_file", required=True,
                 type=click.Path(dir_okay=False, path_type=Path), help="Where to write the output rows."),
)


def run(settings: Any, name: str | None, root: Path, input_dir: Path, output_file: Path) -> None:
    """Score `input_dir` with entry `name` (None: the stack's only one), rows into `output_file`."""
    from mldeploy.runtime.batch_local import BatchRunError, run_batch
    from mldeploy.targets.batch.plan import plan_local_batch

    entry = plan_local_batch(settings, name, root)
    inputs, output = input_dir.resolve(), output_file.resolve()
    if output.is_relative_to(inputs):
        # Every file under --input is an input (runtime/batch_local.py reads the folder recursively): the rows
        # would replace an input file, or be read as one by the next run.
        raise click.UsageError(f"--output {output_file} is inside --input {input_dir}, whose every file is read as "
                               "input: it would " + ("overwrite that input file" if output.exists() else
                                                     "be scored as an input by the next run") + "; write it elsewhere")
    with _writing(output_file):  # before the run: a job is not scored to be lost
        output_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        result = run_batch(entry, input_dir.resolve())
    except BatchRunError as err:
        raise click.ClickException(str(err)) from None
    with _writing(output_file):
        output_file.write_text("".join(f"{row}\n" for row in result.rows), encoding="utf-8")
    click.echo(f"scored {result.files} file(s) in {result.mini_batches} mini-batch(es): "
               f"{len(result.rows)} row(s) -> {output_file}")
    if result.failed_files:
        click.echo(f"warning: {len(result.failed_files)} file(s) failed: {', '.join(result.failed_files)} (the last "
                   f"mini-batch's error: {result.last_error})", err=True)


@contextlib.contextmanager
def _writing(output_file: Path):
    """--output's folder or file cannot be made or written (a file where a folder is due, a
    read-only place): one line naming the option and why, not OSError's traceback."""
    try:
        yield
    except OSError as err:
        raise click.ClickException(f"--output {output_file}: cannot write it there: {err.strerror or err}"
                                   + (f" ({err.filename})" if err.filename and str(err.filename) != str(output_file)
                                      else "")) from None


COMMAND = TargetCommand(help=HELP, options=OPTIONS, run=run)
