import os

# Pods and containers of this test run: other runs (worktrees, CI) may share the engine.
RUN_PREFIX = f"mldeploy-test-{os.getpid()}"
