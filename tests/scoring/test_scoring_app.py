"""Pieces of mldeploy's scoring server that need no server: the scoring-timeout watchdog
(scoring/scoring_app.py) and the host's preload of the entry script's imports (scorer_host.py).
The served contract itself is tested against azmlinfsrv in test_scoring_server_contract.py."""
from __future__ import annotations

import os
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


def test_a_run_blocked_outside_python_past_the_grace_is_reported_stuck():
    stuck = []
    watchdog = Watchdog(poll_s=0.01, stuck_grace_s=0.1, on_stuck=stuck.append)

    def blocked():
        with watchdog.limit(20):
            time.sleep(1.0)  # a C call: the TimeoutError waits until it returns

    outcome = _run_in_thread(blocked)
    assert len(stuck) == 1, "a run() stuck past its limit must be reported once (its worker retires)"
    assert outcome == {"error": TimeoutError}, "the TimeoutError is still raised once the C call returns"


def test_a_run_that_swallows_its_timeout_error_is_reported_stuck():
    stuck = []
    watchdog = Watchdog(poll_s=0.01, stuck_grace_s=0.1, on_stuck=stuck.append)

    def catch_all():
        end = time.monotonic() + 1.0
        with watchdog.limit(20):
            while time.monotonic() < end:
                try:
                    time.sleep(0.01)
                except BaseException:  # noqa: BLE001 - what the scenario's run() does
                    pass
        return "finished"

    assert _run_in_thread(catch_all) == {"result": "finished"}
    assert len(stuck) == 1, "a run() that outlives its TimeoutError must be reported stuck"


def test_a_request_past_its_expected_time_is_reported_overdue_once():
    overdue = []
    watchdog = Watchdog(poll_s=3600, on_overdue=lambda: overdue.append(1))  # checked by hand
    late, on_time, answered = object(), object(), object()
    now = time.monotonic()
    watchdog.expect_by(late, now + 1)
    watchdog.expect_by(on_time, now + 10)
    watchdog.expect_by(answered, now + 1)
    watchdog.expect_by(answered, None)  # answered in time
    watchdog.check(now + 0.5)
    assert overdue == [], "nothing is overdue before its time"
    watchdog.check(now + 2)
    watchdog.check(now + 3)
    assert overdue == [1], "one overdue request reports once; an answered one never"


def test_a_re_armed_request_is_not_overdue_at_its_first_time():
    overdue = []
    watchdog = Watchdog(poll_s=3600, on_overdue=lambda: overdue.append(1))
    token, now = object(), time.monotonic()
    watchdog.expect_by(token, now + 1)
    watchdog.expect_by(token, now + 5)  # a streamed answer's next chunk: the clock starts again
    watchdog.check(now + 2)
    assert overdue == []


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
    monkeypatch.setattr(scorer_host, "check_versions", lambda *_: None)  # tested in test_scorer_host.py
    monkeypatch.setattr(scorer_host, "defer_app_insights_exporter", lambda: None)
    monkeypatch.setattr("azureml_inference_server_http.amlserver.run", lambda: None)
    monkeypatch.setenv(scorer_host.SERVER_ENV, server)
    monkeypatch.setattr("sys.argv", ["scorer_host.py"])
    scorer_host.main()
    served_by = getattr(sys.modules.get(name), "run", None)
    assert (getattr(served_by, "__module__", None) == scorer_host.__name__) is granian, \
        f"{scorer_host.SERVER_ENV}={server}: amlserver_linux.run is {served_by}"



class FakeRetirement:
    def __init__(self):
        self.retiring = False


def test_one_request_at_a_time_and_no_hand_over():
    """A request that arrives while another holds the turn waits for it - however long: no
    second run() ever starts beside a first one in one worker."""
    from mldeploy.scoring.scoring_app import OneAtATime

    turn = OneAtATime(FakeRetirement(), poll_s=0.01)
    entered, order = threading.Event(), []

    def first():
        assert turn.take()
        entered.set()
        time.sleep(0.3)
        order.append("first done")
        turn.give_back()

    def second():
        assert turn.take()
        order.append("second ran")
        turn.give_back()

    one = threading.Thread(target=first)
    one.start()
    entered.wait(5)
    two = threading.Thread(target=second)
    two.start()
    for t in (one, two):
        t.join(5)
    assert order == ["first done", "second ran"], "the second request must wait for the first"


def test_a_waiting_request_gives_up_when_the_worker_retires():
    from mldeploy.scoring.scoring_app import OneAtATime

    retirement = FakeRetirement()
    turn = OneAtATime(retirement, poll_s=0.01)
    assert turn.take()
    outcome = {}
    waiter = threading.Thread(target=lambda: outcome.setdefault("took", turn.take()))
    waiter.start()
    time.sleep(0.05)
    retirement.retiring = True
    waiter.join(5)
    assert outcome == {"took": False}, "a worker that retires must not run a waiting request beside a stuck one"


def test_retiring_stops_the_worker_once_tells_the_host_and_exits_later_when_stuck():
    import os
    import signal

    from mldeploy.scoring.scoring_app import Retirement

    kills, exits, reports = [], [], []
    retirement = Retirement(kill=lambda pid, sig: kills.append((pid, sig)), exit=exits.append,
                            report=lambda kind, value: reports.append((kind, value)))
    retirement.retire("overdue")
    retirement.retire("stuck", exit_after_s=0.05)
    deadline = time.monotonic() + 5
    while not exits and time.monotonic() < deadline:
        time.sleep(0.01)
    assert kills == [(os.getpid(), signal.SIGTERM)], "granian's own stop (SIGTERM), once"
    assert reports == [("retire", os.getpid())], "the host must know this exit is no crash"
    assert retirement.retiring
    assert exits == [STUCK_EXIT_CODE], "a stuck worker exits even if its connection never ends"


def test_the_waiting_connections_are_those_in_the_listening_sockets_queue(tmp_path, monkeypatch):
    """WaitingConnections (a worker keeps its connection behind the gateway only while this says
    none): a real listening socket, empty and then with one connection not yet accepted."""
    import socket

    from mldeploy.scoring.scoring_app import LISTEN_FD_ENV, WaitingConnections

    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "s.sock"))
    listener.listen(8)
    client = socket.socket(socket.AF_UNIX)
    try:
        monkeypatch.setenv(LISTEN_FD_ENV, str(listener.fileno()))
        waiting = WaitingConnections.of_host()
        assert not waiting.any()
        client.connect(str(tmp_path / "s.sock"))
        assert waiting.any()
        listener.accept()[0].close()
        assert not waiting.any()
    finally:
        client.close()
        listener.close()


@pytest.mark.parametrize("fd", [None, "not-a-number", "pipe"])
def test_a_worker_that_cannot_see_the_queue_closes_every_connection(monkeypatch, fd):
    from mldeploy.scoring.scoring_app import LISTEN_FD_ENV, WaitingConnections

    read_fd, write_fd = os.pipe()
    try:
        if fd is None:
            monkeypatch.delenv(LISTEN_FD_ENV, raising=False)
        else:
            monkeypatch.setenv(LISTEN_FD_ENV, str(read_fd) if fd == "pipe" else fd)
        assert WaitingConnections.of_host().any()
    finally:
        os.close(read_fd)
        os.close(write_fd)


@pytest.mark.parametrize("waiting,retiring,closes", [(False, False, False), (True, False, True), (False, True, True)])
def test_an_answer_closes_its_connection_when_another_waits_or_the_worker_retires(waiting, retiring, closes):
    import types

    from mldeploy.scoring.scoring_app import ScoringApp

    sent = []
    app = types.SimpleNamespace(waiting=types.SimpleNamespace(any=lambda: waiting),
                                retirement=types.SimpleNamespace(retiring=retiring))
    respond = ScoringApp._keep_or_close(app, lambda status, headers, exc_info=None: sent.append(headers))
    respond("200 OK", [("Content-Type", "application/json")])
    assert (("Connection", "close") in sent[0]) == closes, sent


def test_workers_keep_connections_only_behind_the_gateway():
    from mldeploy.plan.timeouts import GATEWAY_TIMEOUT_ENV
    from mldeploy.scoring import scoring_app

    assert scorer_host.GATEWAY_TIMEOUT_ENV == GATEWAY_TIMEOUT_ENV == scoring_app.GATEWAY_TIMEOUT_ENV
    assert scorer_host.LISTEN_FD_ENV == scoring_app.LISTEN_FD_ENV
    assert scorer_host.keeps_connections({scorer_host.GATEWAY_TIMEOUT_ENV: "60000"})
    assert not scorer_host.keeps_connections({})
    # A batching worker (maxBatchSize connections at once) too.
    assert scorer_host.keeps_connections({scorer_host.GATEWAY_TIMEOUT_ENV: "60000", scorer_host.BATCH_MAX_SIZE_ENV: "32"})
    assert not scorer_host.keeps_connections({scorer_host.BATCH_MAX_SIZE_ENV: "32"})


def test_answers_on_several_threads_at_once_may_all_ask_for_waiting_connections(tmp_path):
    """A batching worker answers on several threads at once, each asking whether a connection
    waits: one poll object polled by two threads raised "RuntimeError: concurrent poll()
    invocation" - an internal error instead of the answer (granian's empty 500 on WSGI)."""
    import socket
    import threading

    from mldeploy.scoring.scoring_app import WaitingConnections

    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "s.sock"))
    listener.listen(8)
    waiting, failures = WaitingConnections(listener.fileno()), []
    start = threading.Barrier(8)

    def ask():
        start.wait()
        for _ in range(3000):
            try:
                waiting.any()
            except RuntimeError as exc:
                failures.append(str(exc))
                return

    threads = [threading.Thread(target=ask) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        listener.close()
    assert failures == [], failures[:1]


@pytest.mark.parametrize("value", [[5430.917515226917, 4005.6834037998833], {"a": "é ✓", "b": None}, None, "text", 3,
                                   float("nan"), [], {"nested": [[1, 2], {"x": True}]}])
def test_a_plain_answer_is_azmlinfsrvs_wrapped_response_to_the_byte(value):
    """run()'s plain value leaves the fast path as PlainAnswer, without werkzeug's objects: the
    same status, headers (names, values, order) and body as azmlinfsrv's routes.wrap_response,
    also once the fast path has added its headers both ways."""
    from azureml_inference_server_http.server import routes

    from mldeploy.scoring.scoring_app import PlainAnswer

    theirs, ours = routes.wrap_response(value), PlainAnswer(value)
    for response in (theirs, ours):
        response.headers.add("x-ms-run-fn-exec-ms", "0.123")
        response.headers["x-request-id"] = "rid-é"
        response.headers.add("TraceId", 7)
    environ = {"REQUEST_METHOD": "POST", "SERVER_NAME": "localhost", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
    answered = []
    body = b"".join(theirs(environ, lambda status, headers, exc_info=None: answered.append((status, headers))))
    assert (ours.status_code, ours.is_streamed) == (theirs.status_code, theirs.is_streamed)
    assert answered == [("200 OK", list(ours.headers))]
    assert ours.body == body and len(ours.body) == theirs.calculate_content_length()


def test_a_plain_answers_header_with_a_line_break_is_refused_as_werkzeug_refuses_it():
    from werkzeug.datastructures import Headers

    from mldeploy.scoring.scoring_app import PlainAnswer

    for headers in (Headers(), PlainAnswer([1]).headers):
        with pytest.raises(ValueError, match="newline"):
            headers["x-request-id"] = "a\r\nb"
