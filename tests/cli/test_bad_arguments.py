"""Bad command lines that got a traceback, a hang, exit 0 or a half-started service (helper hbad2's sweep of
every command's arguments): each now stops with exit 2 and one `error: ` line naming the option, before
anything is read, started or written."""
from __future__ import annotations

import os
import signal
import sys

import pytest

from mldeploy.cli import main
from tests.harness import ROOT


class _Hang(Exception):
    pass


def _run(argv, monkeypatch, capsys, seconds: int = 60) -> tuple[int, list[str]]:
    monkeypatch.setattr(sys, "argv", ["mldeploy", *argv])

    def hang(_signum, _frame):
        raise _Hang()

    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        with pytest.raises(SystemExit) as stop:
            main()
    except _Hang:
        pytest.fail(f"mldeploy {' '.join(argv)} still ran after {seconds}s (a hang)")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return stop.value.code, capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("argv,shown", [
    (["synth", "--stack", "local", "--stack", "prod"], "--stack is given twice, as 'local' and then 'prod'"),
    (["synth", "-s", "local", "-sprod"], "-s is given twice, as 'local' and then 'prod'"),
    (["synth", "--stack=local", "-s", "prod"], "--stack is given twice, as 'local' and then 'prod'"),
    (["logs", "-s", "local", "--service", "diabetes", "--tail", "5", "--tail", "6"], "--tail is given twice"),
])
def test_a_single_value_option_given_twice_is_refused(argv, shown, monkeypatch, capsys, tmp_path):
    """click keeps the last value silently: `synth --stack local --stack prod` synthesized prod (exit 0)."""
    monkeypatch.chdir(ROOT)
    code, lines = _run([*argv, "--project-dir", str(ROOT)] if argv[0] == "synth" else argv, monkeypatch, capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: " + shown), lines


def test_the_same_value_twice_and_repeatable_options_are_fine():
    from mldeploy.cli import _option_given_twice

    assert _option_given_twice(["synth", "--stack", "dev", "--stack", "dev"]) is None
    assert _option_given_twice(["serve", "--containers", "--image", "a=b", "--image", "c=d"]) is None
    assert _option_given_twice(["test", "--uri", "http://x/score", "--", "--uri"]) is None


@pytest.mark.parametrize("where", ["/proc/mldeploy-out", "x" * 300])
def test_an_out_folder_that_cannot_be_made_is_one_line(where, monkeypatch, capsys, tmp_path):
    """`synth --out /proc/x` and an --out name over 255 bytes ended in a FileNotFoundError / OSError traceback."""
    out = where if where.startswith("/") else str(tmp_path / where)
    code, lines = _run(["synth", "--stack", "local", "--project-dir", str(ROOT), "--out", out], monkeypatch, capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"error: --out {out}: cannot write the output there")


def test_a_replica_count_too_large_to_compute_is_one_line(monkeypatch, capsys):
    """Two finite values whose product is not: math.ceil raised OverflowError (a traceback)."""
    code, lines = _run(["replicas", "--rps", "1e308", "--request-seconds", "1e308"], monkeypatch, capsys)
    assert code == 2 and lines == ["error: Invalid value: requests per second x request seconds (1e+308 x 1e+308) "
                                   "is too large to count replicas for"], lines


@pytest.mark.parametrize("timeout", ["0", "-1", "nan"])
def test_serve_refuses_a_timeout_that_is_no_wait_before_starting(timeout, monkeypatch, capsys):
    """`--timeout 0`/`-1`/`nan` started the scorer and the gateway, then stopped with 'not ready after 0s' (exit 1)."""
    monkeypatch.chdir(ROOT)
    code, lines = _run(["serve", "--stack", "local", "--port", "0", "--timeout", timeout], monkeypatch, capsys)
    assert code == 2 and lines[-1].startswith("error: Invalid value for '--timeout'"), lines
    assert not any(line.startswith("starting") for line in lines), lines


def test_serve_refuses_image_without_containers(monkeypatch, capsys):
    """--image was ignored without --containers: the service ran as local processes instead."""
    monkeypatch.chdir(ROOT)
    code, lines = _run(["serve", "--stack", "local", "--port", "0", "--image", "nginx=mirror/nginx"], monkeypatch, capsys)
    assert code == 2 and lines == ["error: --image goes with --containers (it names the image a container runs)"], lines


def test_test_refuses_a_fifo_as_data_instead_of_waiting_for_a_writer(monkeypatch, capsys, tmp_path):
    """click's `exists` lets a FIFO through, and reading one with no writer waits forever."""
    fifo = tmp_path / "body.json"
    os.mkfifo(fifo)
    code, lines = _run(["test", "--uri", "http://127.0.0.1:9/score", "--key", "k", "--data", str(fifo)],
                       monkeypatch, capsys, seconds=20)
    assert code == 2 and lines == [f"error: --data {fifo}: not a regular file (a FIFO or device would be read until "
                                   "it ends); write the request body to a file"], lines
