import os
import re
import time

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


def first_200(engine, container: str, uri: str, body: bytes, seconds: float = 120.0, what: str = ""):
    """The container's first 200 from `uri` while its scorer starts (init() loads the model): a try
    each second until one answers 200 or `seconds` pass; asserted, with the container's last log lines."""
    from mldeploy.runtime.client import score

    deadline = time.monotonic() + seconds
    reply = score(uri, None, body)
    while reply.status != 200 and time.monotonic() < deadline:
        time.sleep(1)
        reply = score(uri, None, body)
    assert reply.status == 200, f"{uri}{what}: {reply.status} {reply.error} {engine.logs(container, 20)}"
    return reply


def split_answers(endpoint: dict, sample: bytes, requests: int) -> dict[str, int]:
    """Score `requests` times through a served 50/50 split's scoring URI: each answer a 200, two
    variants answering, each 30-70 % of the time; how many times each answer came."""
    from mldeploy.runtime.client import score

    answers = []
    for _ in range(requests):
        reply = score(endpoint["scoringUri"], endpoint["primaryKey"], sample)
        assert reply.status == 200, f"{reply.status} {reply.error or reply.text()[:200]}"
        answers.append(reply.text())
    counts = {a: answers.count(a) for a in set(answers)}
    assert len(counts) == 2, f"both variants answer through the split: {counts}"
    assert all(requests * 0.3 <= n <= requests * 0.7 for n in counts.values()), f"about half each: {counts}"
    return counts
