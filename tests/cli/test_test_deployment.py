"""`mldeploy test --deployment` of a variant of an AKS canary split: `logs --deployment canary` takes
it, `test` cannot pin it - said as such (hday2's day 2 read "service 'diabetes' has no deployments
(only online endpoints do)" right after `logs --deployment canary` had worked)."""
from __future__ import annotations

from click.testing import CliRunner

from mldeploy.cli import cli
from tests.harness import ROOT


def test_a_canary_variant_is_named_as_one_no_request_can_pick(trained_model):
    run = CliRunner().invoke(cli, ["test", "--stack", "prod-attach", "--service", "diabetes", "--deployment", "canary",
                                   "--local", "--project-dir", str(ROOT)])
    assert run.exit_code == 2, run.output
    assert ("--deployment 'canary': 'canary' of service 'diabetes' is a variant of its traffic split, which no request "
            "can pick") in run.stderr, run.stderr
    assert "`mldeploy logs --stack prod-attach --service diabetes --deployment canary --local`" in run.stderr


def test_a_name_that_is_no_variant_still_lists_what_there_is(trained_model):
    run = CliRunner().invoke(cli, ["test", "--stack", "prod-attach", "--service", "diabetes", "--deployment", "blue",
                                   "--local", "--project-dir", str(ROOT)])
    assert run.exit_code == 2 and "has no deployments" in run.stderr, run.stderr
    # ... and the variants there are, as `logs --deployment` names them (hwalk2 typed the diff table's
    # resource name, `churn-canary`).
    assert "the variants of its traffic split are stable, canary, which no request can pick" in run.stderr, run.stderr
