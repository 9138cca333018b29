from __future__ import annotations

import subprocess
import sys

import pytest

from mldeploy.pulumi_internals import pickler_kept
from tests.harness import ROOT

MODEL = ROOT / "examples" / "diabetes" / "outputs" / "sklearn_regression_model.pkl"
MODEL_V2 = MODEL.parent / "v2" / MODEL.name  # stack managed's green deployment
FOREST = ROOT / "examples" / "forest" / "outputs" / "forest.pkl"  # stack forest (batching)


@pytest.fixture(scope="session", autouse=True)
def trained_model():
    """The example stacks point at the trained diabetes models: train them once if missing."""
    if not MODEL.exists() or not MODEL_V2.exists():
        subprocess.run([sys.executable, str(ROOT / "examples" / "diabetes" / "train.py")], check=True)
    if not FOREST.exists():
        subprocess.run([sys.executable, str(ROOT / "examples" / "forest" / "train.py")], check=True)
    return MODEL


@pytest.fixture(autouse=True)
def pickler_as_found():
    """Tests that declare dynamic resources outside synth (components under pulumi's own mocks)
    leave the pure-Python pickler as they found it (mldeploy/pulumi_internals.py pickler_kept)."""
    with pickler_kept():
        yield
