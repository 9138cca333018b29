"""`mldeploy batch`: run a stack's batch driver locally over a folder of input files."""
from __future__ import annotations

from pathlib import Path

import click

from mldeploy.cli import find_project_root, project_dir_option


@click.command("batch")
@click.option("--stack", "-s", required=True, help="Stack name: reads stacks/Pulumi.<stack>.yaml.")
@click.option("--name", default=None, help="The batch entry (default: the stack's only one).")
@click.option("--input", "input_dir", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path), help="Folder of input files.")
@click.option("--output", "output_file", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Where to write the output rows.")
@project_dir_option
def command(stack: str, name: str | None, input_dir: Path, output_file: Path, project_dir: Path | None) -> None:
    """Score a folder of files with the batch entry's init()/run(mini_batch) script, on this
    machine, exactly as the Azure ML batch deployment will (mini-batches, retries, threshold)."""
    from mldeploy.targets.batch.plan import plan_local_batch
    from mldeploy.targets.stack import load_stack
    from mldeploy.runtime.batch_local import BatchRunError, run_batch

    root = project_dir.resolve() if project_dir else find_project_root()
    entry = plan_local_batch(load_stack(root, stack), name, root)
    try:
        result = run_batch(entry, input_dir.resolve())
    except BatchRunError as err:
        raise click.ClickException(str(err)) from None
    output_file.parent.mkdir(parents=True, exist_ok=True)
    output_file.write_text("".join(f"{row}\n" for row in result.rows), encoding="utf-8")
    click.echo(f"scored {result.files} file(s) in {result.mini_batches} mini-batch(es): "
               f"{len(result.rows)} row(s) -> {output_file}")
    if result.failed_files:
        click.echo(f"warning: {len(result.failed_files)} file(s) failed: {', '.join(result.failed_files)}", err=True)
