"""A score.py that holds a request in run() until the test releases it, and the one wait the tests
use: "the second request was answered while the first was still running" holds by construction,
with no timing asserted."""
from __future__ import annotations

import time

WAIT_S = 60  # upper bound for things that happen within a second; never asserted as a duration
_HOLD = """\
    if "started" in data:  # hold this worker until the test releases it
        open(data["started"], "w").close()
        deadline = time.monotonic() + 60
        while not os.path.exists(data["release"]) and time.monotonic() < deadline:
            time.sleep(0.01)
"""


def hold_script(*, imports: str = "", after_hold: str = "") -> str:
    """run() answers {"ok": true}; a body naming `started` and `release` files touches `started` and
    holds its worker until `release` exists. `imports` and `after_hold` (run()'s lines, 4-space
    indented) add what a test's script needs."""
    return ("import json\nimport os\nimport time\n" + imports + "\n\ndef init():\n    pass\n\n\n"
            "def run(raw_data):\n    data = json.loads(raw_data)\n" + _HOLD + after_hold + '    return {"ok": True}\n')


HOLD_SCRIPT = hold_script()


def wait_for(condition, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {WAIT_S}s"
        time.sleep(0.01)
