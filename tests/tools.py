"""Third-party validators the tests run as commands."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.harness import ROOT


def checkov() -> str:
    """The checkov command: $CHECKOV, else .venv-tools (where `make test` installs it), else PATH.
    Missing is a failure, not a skip: a scanner that did not run proves nothing."""
    candidates = [os.environ.get("CHECKOV"), str(ROOT / ".venv-tools" / "bin" / "checkov"), shutil.which("checkov")]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    pytest.fail("checkov not found: run `make test` (it installs checkov into .venv-tools) or set CHECKOV")
