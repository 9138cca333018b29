"""Every benchmark in bench/ still runs (a refactor broke `bench/scoring.py --batching` silently
once: an import moved and LocalServer's signature changed, and nothing ran it). Each mode of each
script is run once as a user runs it, with the smallest duration, rounds and connections, and must
exit 0 and print its result table. What is measured is not checked: numbers are not tests here
(2 noisy cores); bench/ prints ratios."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.harness import ROOT

BENCH = ROOT / "bench"
SHORT = ["--duration", "1", "--rounds", "1", "--connections", "1"]
# (script, arguments, a line its result table prints); scoring_faults.py runs wrk with 2 threads: >= 2 connections
RUNS = {
    "scoring": ("scoring.py", SHORT, "gateway / azmlinfsrv default at"),
    "batching": ("scoring.py", ["--batching", *SHORT, "--models", "diabetes,forest"], "batched / unbatched"),
    "interfaces": ("scoring.py", ["--interfaces", *SHORT, "--workers", "1"], "asgi / wsgi (this run)"),
    # one tree (this one) against itself: the trees mode's path, at the cost of one served tree
    "trees": ("scoring.py", ["--trees", f"this={ROOT}", *SHORT], "the local gateway path of each tree"),
    "batching-trees": ("scoring.py", ["--trees", f"this={ROOT}", "--batching", *SHORT, "--models", "diabetes"],
                       "batched / unbatched"),
    "faults": ("scoring_faults.py", ["--duration", "1", "--connections", "2", "--servers", "mldeploy",
                                     "--stuck-kind", "none", "--scoring-timeout-ms", "1000"], "stuck run(): none"),
    # the fault table's path (bench/fault_table.py) through one quick item: the gateway's own answers
    "fault-table": ("scoring_faults.py", ["--table", "--only", "9", "--no-containers", "--servers", "mldeploy"],
                    "| 9 gateway answers JSON |"),
    "shutdown": ("scoring_faults.py", ["--shutdown", "--duration", "2", "--connections", "2", "--servers", "mldeploy"],
                 "stop took"),
    "onnx": ("scoring_onnx.py", [*SHORT, "--models", "mlp", "--rows", "2"], "ratios to ort-default"),
    # needs haproxy (Debian's package; not installed by `make install`, .ci/run installs it): skipped
    # without it outside CI
    "proxies": ("scoring_proxies.py", SHORT, "proxy/scorer"),
    # needs a clone of microsoft/azureml-inference-server (not part of this repository): skipped without one
    "scenarios": ("azmlinfsrv_scenarios.py", ["--servers", "mldeploy", "-k", "test_valid_entry_script_ok"],
                  "mldeploy: 1/1 passed"),
}
# Modules that are only entered through another script (scoring.py --batching / --interfaces / --trees,
# scoring_faults.py --table).
ENTERED_THROUGH = {"fault_table.py": "fault-table", "scoring_batching.py": "batching",
                   "scoring_interfaces.py": "interfaces", "scoring_trees.py": "trees"}


def test_every_bench_script_has_a_run():
    """A new bench/*.py gets a line in RUNS (or ENTERED_THROUGH), so it is kept working too."""
    covered = {script for script, _, _ in RUNS.values()} | set(ENTERED_THROUGH)
    assert sorted(p.name for p in BENCH.glob("*.py")) == sorted(covered)


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("*.py")))
def test_bench_script_imports(script):
    """Importing a script resolves every mldeploy name it uses (no server started)."""
    done = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(BENCH)!r}); "
                           f"import {script[:-3]}"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("run", sorted(RUNS))
def test_bench_runs(run):
    script, args, table = RUNS[run]
    if run == "proxies" and shutil.which("haproxy") is None:
        # .ci/run installs it: in CI a missing haproxy is a failure, not a skip
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(
            "haproxy is not installed (apt-get install haproxy)")
    if run == "scenarios":
        sys.path.insert(0, str(BENCH))
        import azmlinfsrv_scenarios

        if not azmlinfsrv_scenarios.repo_at_hand():
            pytest.skip("no clone of microsoft/azureml-inference-server (MLDEPLOY_AZMLINFSRV_REPO)")
    done = subprocess.run([sys.executable, str(BENCH / script), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert table in done.stdout, done.stdout[-3000:]
