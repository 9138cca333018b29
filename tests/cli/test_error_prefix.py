"""Every message the CLI stops with starts `error: `: its own (ConfigError) and click's (a usage
error, a ClickException), which click itself would print as `Error: `."""
from __future__ import annotations

import sys

import click
import pytest

from mldeploy.cli import cli, main


def _stderr_of(argv, monkeypatch, capsys) -> tuple[int, list[str]]:
    monkeypatch.setattr(sys, "argv", ["mldeploy", *argv])
    with pytest.raises(SystemExit) as stop:
        main()
    return stop.value.code, capsys.readouterr().err.splitlines()


def test_a_usage_error_has_the_usage_the_hint_and_the_lowercase_prefix(monkeypatch, capsys):
    code, lines = _stderr_of(["serve", "--stak", "local"], monkeypatch, capsys)
    assert code == 2
    assert lines[0].startswith("Usage: ") and "mldeploy serve [OPTIONS]" in lines[0], lines
    assert any(line.startswith("Try '") and line.endswith("mldeploy serve -h' for help.") for line in lines), lines
    assert lines[-1] == "error: No such option '--stak'. Did you mean '--stack'?", lines
    assert not any(line.startswith("Error") for line in lines), lines


def test_a_click_exception_has_the_lowercase_prefix(monkeypatch, capsys, tmp_path):
    @cli.command("fails-for-test")
    def fails() -> None:
        raise click.ClickException("stack file stacks/Pulumi.x.yaml not found")

    try:
        code, lines = _stderr_of(["fails-for-test"], monkeypatch, capsys)
    finally:
        cli.commands.pop("fails-for-test")
    assert (code, lines) == (1, ["error: stack file stacks/Pulumi.x.yaml not found"])


def test_a_missing_stack_file_reads_like_a_config_error(monkeypatch, capsys, tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    monkeypatch.chdir(tmp_path)
    code, lines = _stderr_of(["synth", "--stack", "nope"], monkeypatch, capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines


def test_a_usage_error_mldeploy_raises_about_a_value_is_one_line(monkeypatch, capsys, tmp_path):
    """`no Pulumi.yaml here or above` and `--deployment 'gren': ...` came after click's usage line and
    help hint, which say nothing about them (new-user trial); click's own usage errors keep them."""
    monkeypatch.chdir(tmp_path)
    code, lines = _stderr_of(["synth", "--stack", "dev"], monkeypatch, capsys)
    assert code == 2 and lines == ["error: no Pulumi.yaml here or above: run mldeploy inside the project "
                                   "(or pass --project-dir)"], lines
    code, lines = _stderr_of(["test", "--stack", "dev"], monkeypatch, capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: give --stack and --service"), lines


def test_ctrl_c_while_the_commands_import_is_aborted_not_a_traceback():
    """hreview's trial: Ctrl-C in the first seconds of `mldeploy synth` on a loaded machine (importing
    the commands took 2.6 s of wall time at load 10) printed a KeyboardInterrupt traceback."""
    import subprocess

    script = ("import importlib, sys\n"
              "real = importlib.import_module\n"
              "def interrupted(name, *args, **kwargs):\n"
              "    if name == 'mldeploy.cli.synth':\n"
              "        raise KeyboardInterrupt\n"
              "    return real(name, *args, **kwargs)\n"
              "importlib.import_module = interrupted\n"
              "from mldeploy.cli import main\n"
              "main()\n")
    run = subprocess.run([sys.executable, "-c", script, "synth", "--stack", "dev"], capture_output=True, text=True,
                         timeout=120)
    assert (run.returncode, run.stderr) == (130, "aborted\n"), (run.returncode, run.stderr)
