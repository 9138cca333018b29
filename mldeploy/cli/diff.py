"""`mldeploy diff`: what a change does to a stack, offline, as markdown for a PR comment."""
from __future__ import annotations

import sys

import click

from mldeploy.cli import find_project_root, project_dir_option


@click.command("diff")
@click.option("--stack", "-s", required=True, help="Stack name: reads stacks/Pulumi.<stack>.yaml.")
@click.option("--base", "base_ref", default="HEAD", show_default=True,
              help="Git ref to compare the working tree against (e.g. origin/main, a commit).")
@project_dir_option
def command(stack: str, base_ref: str, project_dir) -> None:
    """Synthesize the stack at --base and in the working tree and show the resources added,
    removed and changed, with the changed properties (secrets masked). Exit 0: no change;
    1: something changed."""
    from mldeploy.cli.diffing import DiffError, diff_stack, render_markdown

    root = project_dir.resolve() if project_dir else find_project_root()
    try:
        result = diff_stack(root, stack, base_ref)
    except DiffError as err:
        raise click.UsageError(str(err)) from None
    click.echo(render_markdown(result))
    sys.exit(1 if result.changed else 0)
