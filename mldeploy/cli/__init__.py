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


try:
    _register_commands()
except KeyboardInterrupt:  # Ctrl-C while the commands import (seconds on a loaded machine): main()'s `aborted`
    sys.stderr.write("aborted\n")
    raise SystemExit(130) from None


# Every message mldeploy stops with starts `error: ` (git's and pip's spelling, and the one most of
# mldeploy's messages had), click's own included: its ClickException.show() writes `Error: `.
ERROR_PREFIX = "error: "


_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)


def _raised_by_mldeploy(err: BaseException) -> bool:
    """True when `err` was raised in mldeploy's own code (a command's check of its values: no such
    service, no Pulumi.yaml), not by click's parser (an unknown option, a missing or bad value)."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and str(Path(tb.tb_frame.f_code.co_filename).resolve()).startswith(_PACKAGE_DIR)


def _show_click_error(err: click.ClickException) -> None:
    """click's message for `err` with our prefix: a usage error of the command line with its usage
    line and help hint; one that mldeploy's own code raised about a value (no such service, no
    Pulumi.yaml here) as one line - its usage would say nothing about what went wrong."""
    if isinstance(err, click.UsageError) and err.ctx is not None and not _raised_by_mldeploy(err):
        hint = ""
        if err.ctx.command.get_help_option(err.ctx) is not None:
            hint = f"Try '{err.ctx.command_path} {err.ctx.help_option_names[0]}' for help.\n"
        click.echo(f"{err.ctx.get_usage()}\n{hint}", err=True)
    click.echo(ERROR_PREFIX + err.format_message(), err=True)


def _option_given_twice(argv: list[str]) -> str | None:
    """The first single-value option of the subcommand given twice with different values (`--stack dev ...
    --stack prod`): click keeps the last silently, so the command would act on a stack, service or file the
    user also said it should not. The same value twice, flags and `multiple` options are fine."""
    command = next((cli.commands.get(arg) for arg in argv if not arg.startswith("-")), None)
    if command is None:
        return None
    takes_value = {name: param for param in command.params if isinstance(param, click.Option)
                   and not param.is_flag and not param.multiple and not param.count for name in param.opts}
    seen: dict[str, tuple[str, str]] = {}
    args = iter(argv[argv.index(command.name) + 1:])
    for arg in args:
        if arg == "--":
            break
        name, value = arg, None
        if arg.startswith("--") and "=" in arg:
            name, value = arg.split("=", 1)
        elif not arg.startswith("--") and arg[:2] in takes_value and len(arg) > 2:
            name, value = arg[:2], arg[2:]  # -sdev
        param = takes_value.get(name)
        if param is None:
            continue
        if value is None:
            value = next(args, None)
            if value is None:
                return None  # click says the value is missing
        first = seen.setdefault(param.name, (name, value))
        if first[1] != value:
            return f"{first[0]} is given twice, as {first[1]!r} and then {value!r}: give it once"
    return None


def main() -> None:
    twice = _option_given_twice(sys.argv[1:])
    if twice is not None:
        click.echo(ERROR_PREFIX + twice, err=True)
        sys.exit(2)
    try:
        cli.main(standalone_mode=False)
    except ConfigError as err:
        click.echo(f"{ERROR_PREFIX}{err}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        _show_click_error(err)
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
