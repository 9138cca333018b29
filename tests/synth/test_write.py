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


def test_each_rows_artifacts_are_written_inside_the_output_folder(tmp_path, monkeypatch):
    import json
    from types import SimpleNamespace

    import pytest

    from mldeploy.synth import write
    from mldeploy.targets import BY_NAME

    manifest = {"modulesContent": {"$edgeAgent": {}}}
    result = SimpleNamespace(outputs={"edge": {"clinics": {"manifest": manifest}, "odd": {"manifest": None}}})
    write.write_target_artifacts(result, tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json")] == ["iot-edge/clinics.json"]
    assert json.loads((tmp_path / "iot-edge" / "clinics.json").read_text()) == manifest

    for path in ("../outside.json", "/tmp/outside.json"):
        row = SimpleNamespace(name="stray", artifacts=lambda outputs, p=path: {p: {}})
        monkeypatch.setattr(write, "TARGETS", (BY_NAME["edge"], row))
        with pytest.raises(ValueError, match="is not a file inside the output folder"):
            write.write_target_artifacts(result, tmp_path / "out")
