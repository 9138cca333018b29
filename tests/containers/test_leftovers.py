"""A test run killed before its session ended leaves its pods behind; the next session removes
them - and only them: a run still going (another worktree, CI) keeps its own."""
from __future__ import annotations

import subprocess
import sys

from tests.containers import RUN_PREFIX, left_by_ended_runs


def test_only_pods_of_runs_that_ended_are_left_over():
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # its pid is free now (reaped)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = [f"mldeploy-test-{ended.pid}-roll-v1", f"mldeploy-test-{alive.pid}-pod", f"{RUN_PREFIX}-mine",
                 "mldeploy-local-diabetes", "someone-elses-pod"]
        assert left_by_ended_runs(names) == [f"mldeploy-test-{ended.pid}-roll-v1"]
    finally:
        alive.kill()
        alive.wait()
