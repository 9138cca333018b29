"""Synth's writer list (mldeploy/synth/write.py): one explicit place, complete on import."""
from __future__ import annotations

import subprocess
import sys

from tests.harness import ROOT

WRITERS = ["write_kubernetes", "write_target_artifacts", "write_gateway_configs", "write_policy_json"]


def test_the_writer_list_is_complete_without_importing_any_writer_first():
    # A fresh interpreter: policy.json, k8s/, iot-edge/ and gateway/ are written whatever else ran before.
    code = "from mldeploy.synth.write import ARTIFACT_WRITERS as w; print([f.__name__ for f in w])"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == str(WRITERS), f"mldeploy.synth.write.ARTIFACT_WRITERS on import: {run.stdout}"


def test_the_program_imports_no_synth_module():
    code = "import sys, mldeploy.program; print(sorted(m for m in sys.modules if m.startswith('mldeploy.synth')))"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]", f"importing mldeploy.program loaded synth modules: {run.stdout}"
