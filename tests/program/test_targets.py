"""The target table (mldeploy/program/targets.py): one explicit place, complete on import."""
from __future__ import annotations

import subprocess
import sys

from mldeploy.config.stack import SERVICE_TARGETS
from mldeploy.program.targets import SECTION_DEPLOYERS, SERVICE_DEPLOYERS
from tests.harness import ROOT


def test_every_target_the_config_accepts_has_a_deployer():
    missing = sorted(set(SERVICE_TARGETS) - set(SERVICE_DEPLOYERS))
    assert not missing, f"mldeploy:services.*.target accepts {missing} but the program has no deployer for them"


def test_the_table_has_no_target_the_config_refuses():
    extra = sorted(set(SERVICE_DEPLOYERS) - set(SERVICE_TARGETS))
    assert not extra, f"deployers for targets the config never accepts: {extra}"


def test_every_section_has_a_deployer():
    assert set(SECTION_DEPLOYERS) == {"batch", "edge"}, \
        f"mldeploy:batch and mldeploy:edge need a deployer each, the table has {sorted(SECTION_DEPLOYERS)}"


def test_the_table_is_complete_without_importing_the_target_modules_first():
    # A fresh interpreter: nothing but the program package imported, no registration by import.
    run = subprocess.run([sys.executable, "-c", "import mldeploy.program as p; print(sorted(p.SERVICE_DEPLOYERS))"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == str(sorted(SERVICE_TARGETS)), f"mldeploy.program's table on import: {run.stdout}"
