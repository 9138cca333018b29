"""Pieces of mldeploy's scoring server that need no server: the scoring-timeout watchdog
(scoring/scoring_app.py) and the host's preload of the entry script's imports (scorer_host.py).
The served contract itself is tested against azmlinfsrv in test_scoring_server_contract.py."""
from __future__ import annotations

import sys
import threading
import time

import pytest

from mldeploy.scoring import scorer_host
from mldeploy.scoring.scoring_app import STUCK_EXIT_CODE, Watchdog


def _run_in_thread(body) -> dict:
    outcome: dict = {}

    def target():
        try:
            outcome["result"] = body()
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome["error"] = type(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    return outcome


def test_python_code_past_its_limit_gets_timeout_error_in_its_own_thread():
    watchdog = Watchdog(poll_s=0.01)

    def busy():
        with watchdog.limit(50):
            while True:
                pass

    assert _run_in_thread(busy) == {"error": TimeoutError}


def test_code_within_its_limit_is_not_interrupted_and_leaves_nothing_pending():
    watchdog = Watchdog(poll_s=0.01)

    def quick():
        with watchdog.limit(10_000):
            value = sum(range(1000))
        time.sleep(0.1)  # several watchdog polls after the limit ended
        return value

    assert _run_in_thread(quick) == {"result": 499500}


def test_a_run_blocked_outside_python_past_the_grace_ends_the_worker():
    exits = []
    watchdog = Watchdog(poll_s=0.01, stuck_grace_s=0.1, exit=exits.append)

    def blocked():
        with watchdog.limit(20):
            time.sleep(1.0)  # a C call: the TimeoutError waits until it returns

    outcome = _run_in_thread(blocked)
    assert exits and exits[0] == STUCK_EXIT_CODE, "a worker stuck past its limit must exit (a new one starts)"
    assert outcome == {"error": TimeoutError}, "the TimeoutError is still raised once the C call returns"


def test_a_run_blocked_past_the_grace_is_handed_over_and_the_worker_stays_when_a_thread_is_free():
    exits, handed = [], []
    watchdog = Watchdog(poll_s=0.01, stuck_grace_s=0.1, exit=exits.append,
                        on_stuck=lambda thread_id: handed.append(thread_id) or True)

    def blocked():
        with watchdog.limit(20):
            time.sleep(0.5)

    assert _run_in_thread(blocked) == {"error": TimeoutError}
    assert len(handed) == 1 and not exits, "a free spare thread takes over: the worker must not exit"


def test_a_fired_timeout_not_yet_raised_is_withdrawn_when_the_limit_ends():
    watchdog = Watchdog(poll_s=3600)  # checked by hand below

    def limit_then_more_code():
        try:
            with watchdog.limit(0):
                watchdog.check(time.monotonic() + 1)  # fires while the limit is held...
        except TimeoutError:
            pass  # ...raised while it was still held: allowed
        # ...else the limit's end withdrew it: nothing may be raised after the block.
        return sum(range(10_000))

    outcome = _run_in_thread(limit_then_more_code)
    assert outcome == {"result": 49995000}, f"a timeout fired inside the limit surfaced after it: {outcome}"


def test_preload_imports_the_entry_scripts_top_level_modules_and_skips_what_fails(tmp_path, monkeypatch):
    monkeypatch.setattr("gc.freeze", lambda: None)  # the test process keeps its collector
    script = tmp_path / "score.py"
    script.write_text("import json\nimport colorsys as c, no_such_module_here\nfrom email import message\n"
                      "from . import sibling\n\ndef init():\n    import wave\n")
    sys.modules.pop("colorsys", None)
    imported = scorer_host.preload_imports(str(script))
    assert {"json", "colorsys", "email"} <= set(imported), imported
    assert "no_such_module_here" not in imported
    assert "wave" not in imported, "only top-level imports: init() and its imports run in each worker"


def test_preload_of_an_unreadable_script_imports_only_the_server(tmp_path, monkeypatch):
    monkeypatch.setattr("gc.freeze", lambda: None)
    script = tmp_path / "score.py"
    script.write_text("def broken(:\n")
    assert all(not name.startswith("score") for name in scorer_host.preload_imports(str(script)))


@pytest.mark.parametrize("server, granian", [("mldeploy", True), ("azmlinfsrv", False)])
def test_the_server_env_picks_granian_or_gunicorn(monkeypatch, server, granian):
    import azureml_inference_server_http as package

    from azureml_inference_server_http import amlserver_linux

    name = amlserver_linux.__name__
    monkeypatch.setitem(sys.modules, name, amlserver_linux)  # both restored after the test
    monkeypatch.setattr(package, "amlserver_linux", amlserver_linux)
    monkeypatch.setattr(scorer_host, "_patch_server", lambda: None)
    monkeypatch.setattr(scorer_host, "defer_app_insights_exporter", lambda: None)
    monkeypatch.setattr("azureml_inference_server_http.amlserver.run", lambda: None)
    monkeypatch.setenv(scorer_host.SERVER_ENV, server)
    monkeypatch.setattr("sys.argv", ["scorer_host.py"])
    scorer_host.main()
    served_by = getattr(sys.modules.get(name), "run", None)
    assert (getattr(served_by, "__module__", None) == scorer_host.__name__) is granian, \
        f"{scorer_host.SERVER_ENV}={server}: amlserver_linux.run is {served_by}"


def test_one_request_at_a_time_and_a_stuck_turn_is_handed_to_the_next_thread(monkeypatch):
    from mldeploy.scoring.scoring_app import OneAtATime

    errors = []
    monkeypatch.setattr(threading, "excepthook", errors.append)
    turn = OneAtATime()
    entered, order = threading.Event(), []

    def stuck():
        with turn:
            entered.set()
            time.sleep(0.3)
            order.append("stuck done")

    first = threading.Thread(target=stuck)
    first.start()
    entered.wait(5)
    assert turn.hand_over(first.ident), "the spare thread must be able to take over"

    def next_request():
        with turn:
            order.append("next ran")

    second = threading.Thread(target=next_request)
    second.start()
    second.join(5)
    first.join(5)
    assert order == ["next ran", "stuck done"], "the next request must not wait for the stuck one"
    # The handed-over thread gave nothing back (a second release would have raised in it), and
    # the turn is free again.
    assert not errors, f"a thread failed: {[e.exc_value for e in errors]}"
    assert not turn._turn.locked() and not turn._handed_over, "the turn must be free once both finished"


def test_no_hand_over_when_the_spare_thread_is_stuck_as_well():
    from mldeploy.scoring.scoring_app import OneAtATime

    turn = OneAtATime()
    turn._turn.acquire()
    assert turn.hand_over(1)
    turn._turn.acquire()
    assert not turn.hand_over(2), "both threads stuck: the worker must exit instead"
