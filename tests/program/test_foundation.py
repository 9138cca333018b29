"""The RunContext (mldeploy/targets/foundation.py): per-run state, created per program run."""
from __future__ import annotations

import subprocess
import sys

import mldeploy.program as program
from mldeploy.targets.foundation import RunContext
from tests.harness import ROOT, synth


def _recorded_runs(monkeypatch) -> list[RunContext]:
    runs: list[RunContext] = []

    def recording(**hooks) -> RunContext:
        runs.append(RunContext(**hooks))
        return runs[-1]

    monkeypatch.setattr(program, "RunContext", recording)
    return runs


def test_each_synth_runs_the_program_with_a_new_context(tmp_path, monkeypatch):
    runs = _recorded_runs(monkeypatch)
    synth("prod", tmp_path / "a")
    synth("prod", tmp_path / "b")
    assert len(runs) == 2 and runs[0] is not runs[1], f"two synths of stack prod shared run state: {runs}"


def test_the_clusters_a_run_declares_live_on_its_context(tmp_path, monkeypatch):
    runs = _recorded_runs(monkeypatch)
    result = synth("prod", tmp_path)
    declared = {r["name"] for r in result.of_type("mldeploy:aks:AksCluster")}
    assert {f"aks-{n}" for n in runs[0].clusters} == declared, \
        f"stack prod: clusters on the run's context {sorted(runs[0].clusters)}, declared {sorted(declared)}"


def test_the_program_keeps_no_module_global_run_state():
    # The weak dictionaries keyed by the registry (aks._RUNS, endpoint._COMPUTES, mirrors._MIRRORS)
    # and acr_login.EXCHANGE are gone: state of a run is on its RunContext only.
    code = ("import weakref, mldeploy.program as p, mldeploy.azure.acr_login as a, sys;"
            "mods = [m for n, m in sys.modules.items() if n.startswith('mldeploy.program') or n == a.__name__];"
            "print([f'{m.__name__}.{k}' for m in mods for k, v in vars(m).items()"
            " if isinstance(v, (weakref.WeakKeyDictionary, weakref.WeakValueDictionary)) or k == 'EXCHANGE'])")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]", f"module-global run state: {run.stdout}"
