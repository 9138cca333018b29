"""The guide's replica formula ceil(R x T / U / C), its CLI and the synth suggestions."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from mldeploy.cli import cli
from mldeploy.plan.replicas import replicas_needed, suggest_bounds


@pytest.mark.parametrize("rps, seconds, concurrent, target, expected", [
    (100, 0.1, 1, 70, 15),   # 10 busy / 0.7 = 14.29 -> 15
    (100, 0.1, 2, 50, 10),   # 10 / 0.5 / 2 = 10 exactly: no extra replica for float noise
    (1, 0.01, 1, 70, 1),     # tiny load still needs one replica
    (0, 1, 1, 70, 1),
    (300, 0.2, 4, 30, 50),   # 60 / 0.3 / 4 = 50
])
def test_formula(rps, seconds, concurrent, target, expected):
    assert replicas_needed(rps, seconds, concurrent, target).replicas == expected


@pytest.mark.parametrize("args", [(-1, 1, 1, 70), (1, 0, 1, 70), (1, 1, 0, 70), (1, 1, 1, 0), (1, 1, 1, 101)])
def test_formula_refuses_inputs_outside_its_domain(args):
    with pytest.raises(ValueError):
        replicas_needed(*args)


def test_cli_prints_the_count_and_the_arithmetic():
    result = CliRunner().invoke(cli, ["replicas", "--rps", "100", "--request-seconds", "0.1",
                                      "--max-concurrent", "2", "--target-utilization", "50"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "10"
    assert "ceil(100 req/s x 0.1 s / 0.5 / 2)" in result.stderr


def test_cli_defaults_are_the_guides():
    result = CliRunner().invoke(cli, ["replicas", "--rps", "100", "--request-seconds", "0.1"])
    assert result.stdout.strip() == "15", "default C=1, U=70 must give ceil(10/0.7) = 15"


def test_cli_negative_target_is_a_usage_error():
    result = CliRunner().invoke(cli, ["replicas", "--rps", "1", "--request-seconds", "1", "--target-utilization", "-5"])
    assert result.exit_code == 2 and "'--target-utilization': -5 is not in the range 1<=x<=100" in result.output


@pytest.mark.parametrize("args, option", [
    (["--rps", "-1", "--request-seconds", "1"], "--rps"),
    (["--rps", "1", "--request-seconds", "0"], "--request-seconds"),
    (["--rps", "1", "--request-seconds", "1", "--max-concurrent", "0"], "--max-concurrent"),
])
def test_cli_a_value_outside_the_formula_names_its_option(args, option):
    """`mldeploy replicas --rps -1` said `error: Invalid value: requests per second must be >= 0`,
    naming no option (new-user trial)."""
    result = CliRunner().invoke(cli, ["replicas", *args])
    assert result.exit_code == 2 and f"Invalid value for '{option}'" in result.output, result.output


def test_suggestion_flags_a_max_below_the_peak():
    s = suggest_bounds(10, 60, 0.05, 2, 30)
    assert (s.min_replicas.replicas, s.max_replicas.replicas) == (1, 5)
    lines = s.lines(configured_min=1, configured_max=4)
    assert any("below the 5 the peak needs" in line for line in lines), lines
