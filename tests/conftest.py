from __future__ import annotations

import subprocess
import sys

import pytest

from tests.harness import ROOT

MODEL = ROOT / "examples" / "diabetes" / "outputs" / "sklearn_regression_model.pkl"


@pytest.fixture(scope="session", autouse=True)
def trained_model():
    """The example stacks point at the trained diabetes model: train it once if missing."""
    if not MODEL.exists():
        subprocess.run([sys.executable, str(ROOT / "examples" / "diabetes" / "train.py")], check=True)
    return MODEL
