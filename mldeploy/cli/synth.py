"""`mldeploy synth`: the real program, offline, into reviewable files."""
from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import click

from mldeploy.cli import find_project_root, project_dir_option
from mldeploy.contract import stack_file_path


@click.command("synth")
@click.option("--stack", "-s", required=True, help="Stack name: reads stacks/Pulumi.<stack>.yaml.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: build/synth/<stack>).")
@project_dir_option
def command(stack: str, out: Path | None, project_dir: Path | None) -> None:
    """Synthesize a stack offline: every resource with its inputs (secrets masked) and every
    generated artifact, without cloud credentials or the Pulumi CLI."""
    from mldeploy.config.source_directory import walks_cached

    # One walk of each sourceDirectory for the load-time rule, the program's build contexts and the
    # script warnings below (three walks of up to 2000 files each before).
    with walks_cached():
        _synth(stack, out, project_dir)


def _synth(stack: str, out: Path | None, project_dir: Path | None) -> None:
    from mldeploy.synth.run import DuplicateUrnError, synthesize
    from mldeploy.synth import policy
    from mldeploy.synth.warnings import synth_warnings, write_warnings
    from mldeploy.synth.write import commit_out_dir, discard_out_dir, prepare_out_dir, write_result

    root = project_dir.resolve() if project_dir else find_project_root()
    out = (out or root / "build" / "synth" / stack).resolve()
    started = time.perf_counter()
    # Validate before touching the output folder: a bad stack leaves nothing half-written. The
    # one parse of this synth: the program below runs on these settings.
    from mldeploy.config.load import read_stack, stack_source
    from mldeploy.targets.stack import parse_settings

    values, secret_keys = read_stack(root, stack)
    settings = parse_settings(stack, values, secret_keys, root, stack_source(root, stack))
    try:
        prepare_out_dir(out)
    except FileExistsError as err:
        raise click.UsageError(str(err)) from None
    except OSError as err:  # a folder that cannot be made there (/proc/x, a name over 255 bytes, read-only)
        raise click.UsageError(f"--out {out}: cannot write the output there ({err.strerror})") from None
    try:
        result = synthesize(root, stack, out / "images", stack_values=(values, secret_keys), settings=settings)
        write_result(result, out)
        said = synth_warnings(result, root, date.today())
        write_warnings(said, out)  # what `mldeploy diff` compares between its two sides
    except DuplicateUrnError as err:
        discard_out_dir(out)
        click.echo(f"error: {stack_file_path(stack)}: {err}", err=True)
        sys.exit(1)
    except BaseException:
        discard_out_dir(out)
        raise
    commit_out_dir(out)
    elapsed = time.perf_counter() - started

    click.echo(f"synthesized stack {stack!r} -> {_shown(out, root)} in {elapsed:.1f}s")
    from mldeploy.targets.stack import target_notes, target_reports

    for level, message in said:
        click.echo(f"{level}: {stack_file_path(stack)}: {message}", err=True)
    from mldeploy.plan.conda import unpinned_environment_notes
    from mldeploy.plan.stack import stack_notes
    for note in [*stack_notes(result.settings), *unpinned_environment_notes(result.settings, root),
                 *target_notes(result.settings)]:
        click.echo(f"note: {stack_file_path(stack)}: {note}", err=True)
    for type_token, count in result.types().items():
        click.echo(f"  {count:3d}  {type_token}")
    click.echo(f"  {len(result.resources):3d}  resources in all")
    for heading, lines in target_reports(result.settings):  # each target's own block (the quota preflight)
        click.echo(heading)
        for line in lines:
            click.echo(f"  {line}")
    violations = policy.read_violations(out)
    for v in violations:
        click.echo(f"{v.enforcement}: policy {v.policy}: {v.message}", err=True)
    blocking = policy.mandatory(violations)
    if blocking:
        click.echo(f"error: {len(blocking)} mandatory policy violation(s) (policies/; details in "
                   f"{_shown(out / 'policy.json', root)})", err=True)
    if result.leaks:
        click.echo("error: secret values in plain text (mark them secret in the program):", err=True)
        for leak in result.leaks:
            click.echo(f"  {leak}", err=True)
    if result.leaks or blocking:
        sys.exit(1)


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
