"""Third-party validators the tests run as commands."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.harness import ROOT


def checkov() -> str:
    """The checkov command: $CHECKOV, else .venv-tools (where `make tools` and `make test` install it),
    else PATH. Missing is a failure, not a skip: a scanner that did not run proves nothing."""
    candidates = [os.environ.get("CHECKOV"), str(ROOT / ".venv-tools" / "bin" / "checkov"), shutil.which("checkov")]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    pytest.fail(f"checkov not found: run `make tools` in {ROOT} (checkov into .venv-tools, a virtualenv of its own; "
                "`make install` leaves it out) or set CHECKOV=/path/to/checkov")
