"""The `mldeploy` command. Each module in this package adds one subcommand (its `command`) or
several (its `commands`: the target table's own commands, target_commands.py)."""
from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import click

from mldeploy.config import ConfigError


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` holding Pulumi.yaml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    raise click.UsageError("no Pulumi.yaml here or above: run mldeploy inside the project (or pass --project-dir)")


project_dir_option = click.option(
    "--project-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="The Pulumi project (default: the nearest folder with Pulumi.yaml).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mldeploy")
def cli() -> None:
    """Deploy trained ML models to Azure declaratively (Pulumi), or run them locally."""


def _register_commands() -> None:
    package = sys.modules[__name__]
    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"{__name__}.{module.name}")
        for command in (getattr(mod, "command", None), *getattr(mod, "commands", ())):
            if isinstance(command, click.Command):
                if command.name in cli.commands:  # a target's own command named like another command
                    raise RuntimeError(f"two `mldeploy {command.name}` commands ({mod.__name__})")
                cli.add_command(command)


_register_commands()


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except ConfigError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
