"""`mldeploy diff`: what a change does to a stack, offline, as markdown for a PR comment or JSON."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mldeploy.cli import find_project_root, project_dir_option


class DiffFailed(click.ClickException):
    """A bad ref or a side that does not synthesize: the message, exit 2 (bad input)."""

    exit_code = 2


@click.command("diff")
@click.option("--stack", "-s", required=True, help="Stack name: reads stacks/Pulumi.<stack>.yaml.")
@click.option("--base", "base_ref", default="HEAD", show_default=True,
              help="Git ref to compare the working tree against (e.g. origin/main, a commit).")
@click.option("--base-files", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="A checkout of the base holding the files git does not (trained models): the base "
                   "uses them instead of the working tree's copies.")
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON instead of markdown.")
@project_dir_option
def command(stack: str, base_ref: str, base_files: Path | None, as_json: bool, project_dir) -> None:
    """Synthesize the stack at --base and in the working tree and show the resources created,
    updated, replaced and deleted, with the changed properties (secrets masked), warnings for
    live traffic, keys and production data, and the traffic split per endpoint. Exit 0: no
    change; 1: something changed; 2: bad ref or invalid stack."""
    from mldeploy.cli.diff_render import render_markdown, to_json
    from mldeploy.cli.diff_sides import DiffError, diff_stack

    root = project_dir.resolve() if project_dir else find_project_root()
    try:
        result = diff_stack(root, stack, base_ref, base_files)
    except DiffError as err:
        raise DiffFailed(str(err)) from None
    click.echo(json.dumps(to_json(result), indent=2, ensure_ascii=False) if as_json else render_markdown(result))
    sys.exit(1 if result.changed else 0)
