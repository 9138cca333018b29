import os
import re

# Pods and containers of this test run: other runs (worktrees, CI) may share the engine.
RUN_PREFIX = f"mldeploy-test-{os.getpid()}"
_RUN_NAME = re.compile(r"mldeploy-test-(\d+)-")


def left_by_ended_runs(names: list[str]) -> list[str]:
    """The names among `names` that a test run which no longer exists started (its pid is in the
    name): a run killed before its session ended never removed them. Runs still going keep theirs."""
    def ended(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # another user's live process
            return False
        return False

    return [name for name in names
            if (m := _RUN_NAME.match(name)) and int(m.group(1)) != os.getpid() and ended(int(m.group(1)))]
