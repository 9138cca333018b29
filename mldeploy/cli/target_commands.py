"""Each target's own command (its row's `command` in the target table: `mldeploy batch`), named
after the target. Every one takes --stack, --name (the entry; default: the stack's only one) and
--project-dir here; the row gives its help, its own options and what it runs."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from mldeploy.cli import find_project_root, project_dir_option
from mldeploy.targets import TARGETS
from mldeploy.targets.target import Target


def _command(target: Target) -> click.Command:
    own = target.command

    def callback(stack: str, name: str | None, project_dir: Path | None, **options: Any) -> None:
        from mldeploy.targets.stack import load_stack

        root = project_dir.resolve() if project_dir else find_project_root()
        own.run(load_stack(root, stack), name, root, **options)

    decorated: Callable = project_dir_option(callback)
    for option in reversed(own.options):  # listed in the row's order, after --name
        decorated = option(decorated)
    decorated = click.option("--name", default=None,
                             help=f"The {target.name} entry (default: the stack's only one).")(decorated)
    decorated = click.option("--stack", "-s", required=True,
                             help="Stack name: reads stacks/Pulumi.<stack>.yaml.")(decorated)
    return click.command(target.name, help=own.help)(decorated)


commands = tuple(_command(t) for t in TARGETS if t.command is not None)
