"""`mldeploy test` of a cloud stack on a machine without the Pulumi CLI."""
from __future__ import annotations

import click
import pytest

from mldeploy.cli import test as test_cli


def test_without_pulumi_the_error_points_at_the_local_rehearsal(monkeypatch, tmp_path):
    # A new user rehearsing `mldeploy serve --stack managed` then running the test command of
    # docs/rollout.md was told only to install Pulumi or pass --uri and --key.
    monkeypatch.setattr(test_cli.shutil, "which", lambda name: None)
    with pytest.raises(click.ClickException) as err:
        test_cli._stack_endpoint(tmp_path, "managed", "wine")
    assert "`--local` tests the copy `mldeploy serve --stack managed` runs" in err.value.message
