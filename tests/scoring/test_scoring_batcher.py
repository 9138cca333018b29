"""The scorer's batcher (mldeploy/scoring/scoring_batcher.py) without a server: what may be stacked,
how results are split back, the dispatcher's decisions and its threads, and azmlinfsrv's run()
call batched (UserScript of a real entry script, flask requests built in-process). The served
path, differential against the unbatched server, is in tests/runtime/test_batching_e2e.py."""
from __future__ import annotations

import json
import textwrap
import threading
import time

import numpy as np
import pytest

from mldeploy.scoring.scoring_app import timed_run
from mldeploy.scoring.scoring_batcher import (BatchedRuns, Batcher, BatchingConfig, ContractError, Pending, Policy,
                                              RunTimes, batch_key, split)

# -- what may be stacked ---------------------------------------------------------------------------


def test_rows_of_one_shape_and_type_share_a_key_whatever_their_count():
    assert batch_key([[1.0, 2.0]], {}) == batch_key([[3.0, 4.5], [5.0, 6.0]], {})


def test_ints_and_floats_in_one_request_stack_as_floats_but_an_all_int_request_does_not():
    mixed = batch_key([[1, 2.5]], {})
    assert mixed == batch_key([[1.0, 2.0]], {}), "numpy stacks [1, 2.5] as a float array"
    assert batch_key([[1, 2]], {}) != mixed, "alone [[1, 2]] is an int array: stacked with floats it would not be"


@pytest.mark.parametrize("rows", [[[1, 2], [1, 2, 3]], [[1, "a"]], [[1, None]], [[True, 1]], [], "rows", [[[1], 2]]])
def test_ragged_mixed_or_non_list_rows_run_alone(rows):
    assert batch_key(rows, {}) is None, f"{rows!r} must not be stacked with anything"


def test_other_keys_must_be_equal_and_shapes_must_match():
    assert batch_key([[1.0]], {"method": "a"}) != batch_key([[1.0]], {"method": "b"})
    assert batch_key([[1.0]], {}) != batch_key([[1.0, 2.0]], {})


def test_records_keep_each_columns_type():
    ints = batch_key([{"age": 1, "bmi": 2.5}], {})
    assert ints == batch_key([{"bmi": 3.5, "age": 7}], {})
    assert ints != batch_key([{"age": 1.5, "bmi": 2.5}], {}), "a float age column is another dtype in pandas"
    assert batch_key([{"age": 1}, {"age": 1.5}], {}) is None


# -- results split back ------------------------------------------------------------------------------


def test_a_list_an_array_and_a_dict_of_them_split_per_request():
    assert split([1, 2, 3], [2, 1]) == [[1, 2], [3]]
    parts = split(np.array([[1, 2], [3, 4], [5, 6]]), [1, 2])
    assert [p.tolist() for p in parts] == [[[1, 2]], [[3, 4], [5, 6]]]
    assert split({"y": [1, 2, 3], "p": [0.1, 0.2, 0.3]}, [1, 2]) == [{"y": [1], "p": [0.1]},
                                                                       {"y": [2, 3], "p": [0.2, 0.3]}]


@pytest.mark.parametrize("output, fragment", [([1, 2], "2 results for 3 rows"), ("[1, 2, 3]", "a str"),
                                              (7.0, "a float"), ({"y": [1, 2, 3], "model": "v1"}, "'model'"),
                                              (np.float64(1.0), "for 3 rows")])
def test_anything_but_one_result_per_row_breaks_the_contract(output, fragment):
    with pytest.raises(ContractError, match=fragment):
        split(output, [2, 1])


# -- the dispatcher's decisions ----------------------------------------------------------------------


def test_run_times_separate_the_fixed_cost_from_the_per_row_cost():
    times = RunTimes()
    for rows in (1, 2, 4, 8, 16, 32):
        times.add(rows, 0.010 + 0.0001 * rows)
    assert times.fixed == pytest.approx(0.010) and times.per_row == pytest.approx(0.0001)


def test_run_times_fit_only_the_last_batches():
    """The running sums forget what leaves the window: after 64 batches of another machine's
    speed, only those count (and batches all of one size put all of the time in the fixed part)."""
    times = RunTimes(keep=64)
    for i in range(500):
        times.add(1 + i % 32, 0.050 + 0.002 * (1 + i % 32))
    for i in range(64):
        times.add(1 + i % 8, 0.001 + 0.0005 * (1 + i % 8))
    assert times.fixed == pytest.approx(0.001) and times.per_row == pytest.approx(0.0005)
    for _ in range(64):
        times.add(4, 0.003)
    assert times.fixed == pytest.approx(0.003) and times.per_row == 0.0


def test_a_leader_may_wait_while_a_batch_one_row_larger_stays_within_the_latency_budget():
    policy = Policy(32, 0.050)
    for rows in (1, 11):
        policy.times.add(rows, 0.010 + 0.001 * (rows - 1))  # fixed 10 ms, 1 ms per row
    assert policy.wait_for_more(4, 1, 0.0) == pytest.approx(0.050 - 0.004)
    assert policy.wait_for_more(4, 1, 0.046) == 0.0, "the latency budget is spent"
    assert policy.wait_for_more(32, 1, 0.0) == 0.0, "a full batch runs"


def test_a_batch_grows_only_while_the_others_rows_cost_fits_the_budget():
    policy = Policy(64, 0.010)
    for rows in (1, 10, 20):
        policy.times.add(rows, 0.001 * rows)  # 1 ms per row
    assert policy.fits(10, 1, 0.0) and not policy.fits(12, 1, 0.0)
    assert not policy.fits(65, 64, 0.0), "never more than maxBatchSize rows"


# -- the dispatcher's threads -------------------------------------------------------------------------


class Recorder:
    """An `execute` that records each batch, optionally blocks the first one, and answers each
    request with its own payload."""

    def __init__(self, hold_first: threading.Event | None = None):
        self.batches: list[list] = []
        self.threads: list[int] = []
        self.hold_first = hold_first

    def __call__(self, batch):
        self.batches.append([p.payload for p in batch])
        self.threads.append(threading.get_ident())
        if self.hold_first is not None and len(self.batches) == 1:
            self.hold_first.wait(10)
        for p in batch:
            p.outcome = ("answer", p.payload)


def _submit_all(batcher: Batcher, items: list[Pending], counted: bool = False) -> list:
    results = [None] * len(items)

    def one(i):
        results[i] = batcher.submit(items[i], counted=True) if counted else batcher.submit(items[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(items))]
    for t in threads:
        t.start()
    return threads, results


def test_a_lone_request_runs_at_once_on_its_own_thread():
    recorder = Recorder()
    batcher = Batcher(Policy(32, 0.050), recorder)
    assert batcher.submit(Pending(("k",), 1, "a")) == ("answer", "a")
    assert recorder.batches == [["a"]] and recorder.threads == [threading.get_ident()]


def test_requests_arriving_during_a_run_are_the_next_batch_and_each_gets_its_own_answer():
    release = threading.Event()
    recorder = Recorder(hold_first=release)
    batcher = Batcher(Policy(32, 0.050), recorder)
    first, first_result = _submit_all(batcher, [Pending(("k",), 1, "first")])
    _wait_for(lambda: len(recorder.batches) == 1)
    items = [Pending(("k",), 1, f"r{i}") for i in range(5)]
    threads, results = [], [None] * 5
    for i, item in enumerate(items):  # in a known order, all while the first run is held
        t = threading.Thread(target=lambda i=i, item=item: results.__setitem__(i, batcher.submit(item)))
        t.start()
        threads.append(t)
        _wait_for(lambda n=i + 1: len(batcher._queue) == n)
    release.set()
    for t in first + threads:
        t.join(10)
    assert recorder.batches == [["first"], ["r0", "r1", "r2", "r3", "r4"]]
    assert results == [("answer", f"r{i}") for i in range(5)] and first_result == [("answer", "first")]


def test_incompatible_requests_and_unbatchable_ones_run_in_their_own_batches_in_order():
    release = threading.Event()
    recorder = Recorder(hold_first=release)
    batcher = Batcher(Policy(32, 0.050), recorder)
    first, _ = _submit_all(batcher, [Pending(("a",), 1, "first")])
    _wait_for(lambda: len(recorder.batches) == 1)
    plan = [(("a",), "a1"), (("b",), "b1"), (None, "alone"), (("a",), "a2"), (("b",), "b2")]
    threads = []
    for n, (key, payload) in enumerate(plan, start=1):
        threads += _submit_all(batcher, [Pending(key, 1, payload)])[0]
        _wait_for(lambda n=n: len(batcher._queue) == n)
    release.set()
    for t in first + threads:
        t.join(10)
    assert recorder.batches == [["first"], ["a1", "a2"], ["b1", "b2"], ["alone"]]


def test_a_batch_never_exceeds_max_batch_size_rows():
    release = threading.Event()
    recorder = Recorder(hold_first=release)
    batcher = Batcher(Policy(4, 0.050), recorder)
    first, _ = _submit_all(batcher, [Pending(("k",), 1, "first")])
    _wait_for(lambda: len(recorder.batches) == 1)
    threads = []
    for n, rows in enumerate([2, 2, 3, 1, 5], start=1):
        threads += _submit_all(batcher, [Pending(("k",), rows, f"{rows}rows#{n}")])[0]
        _wait_for(lambda n=n: len(batcher._queue) == n)
    release.set()
    for t in first + threads:
        t.join(10)
    assert recorder.batches[1:] == [["2rows#1", "2rows#2"], ["3rows#3", "1rows#4"], ["5rows#5"]]


def test_a_leader_waits_for_a_request_already_dispatched_to_the_app_and_batches_it():
    """The event loop handed two requests to the app; the first to reach the queue waits for the
    second (its thread still parsing) instead of running alone - even at no measured load."""
    recorder = Recorder()
    batcher = Batcher(Policy(32, 3600.0), recorder)
    batcher.dispatched()
    batcher.dispatched()
    first, first_result = _submit_all(batcher, [Pending(("k",), 1, "a")], counted=True)
    _wait_for(lambda: batcher._gathering)
    second, second_result = _submit_all(batcher, [Pending(("k",), 1, "b")], counted=True)
    for t in first + second:
        t.join(10)
    assert recorder.batches == [["a", "b"]], recorder.batches
    assert first_result == [("answer", "a")] and second_result == [("answer", "b")]


def test_a_dispatched_request_that_will_not_come_releases_the_waiting_leader():
    """A request that takes another path (a probe, a bad body) is let go (`gone`): the leader
    stops waiting for it at once, not at the end of its window (an hour here)."""
    recorder = Recorder()
    batcher = Batcher(Policy(32, 3600.0), recorder)
    batcher.dispatched()
    batcher.dispatched()
    first, result = _submit_all(batcher, [Pending(("k",), 1, "a")], counted=True)
    _wait_for(lambda: batcher._gathering)
    batcher.gone()
    for t in first:
        t.join(10)
    assert not first[0].is_alive() and recorder.batches == [["a"]] and result == [("answer", "a")]


def test_nothing_on_its_way_runs_at_once_however_busy_the_worker_was():
    """Requests that queued during a run are the next batch; with nothing dispatched beyond them
    the leader runs them at once, whatever its window (an hour here: a leader that waited for a
    request that cannot come would hold the test)."""
    release = threading.Event()
    recorder = Recorder(hold_first=release)
    batcher = Batcher(Policy(32, 3600.0), recorder)
    for _ in range(40):  # a busy worker: every arrival found it busy, arrivals a moment apart
        batcher.dispatched()
        threads, _ = _submit_all(batcher, [Pending(("k",), 1, "x")], counted=True)
        if len(recorder.batches) == 0:
            _wait_for(lambda: len(recorder.batches) == 1)
    _wait_for(lambda: len(batcher._queue) == 39)
    release.set()
    _wait_for(lambda: len(recorder.batches) == 3 and not batcher._active)
    assert [len(b) for b in recorder.batches] == [1, 32, 7], recorder.batches


def test_a_request_may_run_alone_only_when_the_worker_is_idle_and_nothing_else_is_on_its_way():
    batcher = Batcher(Policy(32, 0.050), Recorder())
    batcher.dispatched()
    batcher.dispatched()
    assert not batcher.alone(counted=True), "another dispatched request may join it"
    batcher.gone()
    assert batcher.alone(counted=True) and batcher._coming == 0
    assert not batcher.alone(), "the worker is busy with the lone request"
    batcher.finish_alone()
    assert not batcher._active and batcher.alone()
    batcher.finish_alone()


def test_requests_queued_during_a_lone_run_are_led_once_it_finishes():
    recorder = Recorder()
    batcher = Batcher(Policy(32, 0.050), recorder)
    assert batcher.alone()
    threads, results = _submit_all(batcher, [Pending(("k",), 1, f"r{i}") for i in range(3)])
    _wait_for(lambda: len(batcher._queue) == 3)
    assert recorder.batches == [], "they wait for the lone run"
    batcher.finish_alone()
    for t in threads:
        t.join(10)
    assert [len(b) for b in recorder.batches] == [3], "one batch, led by the head of the queue"
    assert results == [("answer", f"r{i}") for i in range(3)]
    _wait_for(lambda: not batcher._active)


def _wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.002)


# -- azmlinfsrv's run() call, batched ---------------------------------------------------------------

PLAIN = """
import json
calls = []
def init():
    pass
def run(raw_data):
    body = json.loads(raw_data)
    calls.append(len(body["data"]))
    if any(row == [0] for row in body["data"]):
        raise ValueError("zero row")
    if any(row == [-1] for row in body["data"]):
        from azureml_inference_server_http.api.aml_response import AMLResponse
        return AMLResponse({"error": "negative"}, 400, json_str=True)
    if any(row == [99] for row in body["data"]):
        return [1]
    return [row[0] * body.get("scale", 1) for row in body["data"]]
"""


@pytest.fixture
def plain_runs(tmp_path):
    (tmp_path / "score.py").write_text(textwrap.dedent(PLAIN))
    from azureml_inference_server_http.server.user_script import UserScript

    script = UserScript("score.py")
    script.load_script(str(tmp_path))
    script.invoke_init()
    logs = []

    class Log:
        def info(self, message):
            logs.append(("info", message))

        def error(self, message):
            logs.append(("error", message))

    runs = BatchedRuns(script, BatchingConfig(max_batch_size=32, max_latency_s=0.05), Log(), timed_run)
    return runs, script, logs


def _pending(runs: BatchedRuns, body: dict) -> Pending:
    parameters = {runs.text_parameter: json.dumps(body)}
    key, rows, parsed = runs._rows(parameters)
    return Pending(key, len(rows) if key else 1, (parameters, rows, parsed, 5000))


def test_a_batch_runs_once_and_each_request_gets_its_own_rows_results(plain_runs):
    runs, script, _ = plain_runs
    batch = [_pending(runs, {"data": [[1], [2]]}), _pending(runs, {"data": [[3]]}), _pending(runs, {"data": [[4], [5]]})]
    runs._execute(batch)
    assert [p.outcome.output for p in batch] == [[1, 2], [3], [4, 5]]
    assert all(p.outcome.batch == 3 for p in batch)
    assert script.get_run_function().__globals__["calls"] == [5], "one run() call for the three requests"


def test_a_raising_batch_is_run_alone_so_only_the_bad_request_fails(plain_runs):
    runs, script, logs = plain_runs
    batch = [_pending(runs, {"data": [[1]]}), _pending(runs, {"data": [[0]]}), _pending(runs, {"data": [[2]]})]
    runs._execute(batch)
    from azureml_inference_server_http.server.user_script import UserScriptException

    assert batch[0].outcome.output == [1] and batch[2].outcome.output == [2]
    assert isinstance(batch[1].outcome, UserScriptException), "the error a single request gets (azmlinfsrv's 500)"
    assert runs.enabled, "a raising run() is no contract break"


def test_a_scripts_own_http_answer_to_a_batch_is_given_only_to_the_request_that_earns_it(plain_runs):
    runs, _, _ = plain_runs
    batch = [_pending(runs, {"data": [[1]]}), _pending(runs, {"data": [[-1]]})]
    runs._execute(batch)
    assert batch[0].outcome.output == [1]
    assert batch[1].outcome.output.status_code == 400


def test_a_wrong_result_count_is_a_500_naming_the_contract_and_the_worker_stops_batching(plain_runs):
    runs, script, logs = plain_runs
    batch = [_pending(runs, {"data": [[1]]}), _pending(runs, {"data": [[99]]})]
    runs._execute(batch)
    from azureml_inference_server_http.server.user_script import UserScriptException

    assert all(isinstance(p.outcome, UserScriptException) for p in batch)
    assert not runs.enabled
    assert any(level == "error" and "1 results for 2 rows" in m and "one result per row" in m for level, m in logs), logs


def test_the_sample_contract_holds_for_a_row_wise_run_and_fails_for_one_that_mixes_rows(plain_runs, tmp_path):
    runs, _, _ = plain_runs
    assert runs.check_sample(json.dumps({"data": [[1], [2]], "scale": 3})) is None
    (tmp_path / "mixing.py").write_text(textwrap.dedent("""
        import json
        def init():
            pass
        def run(raw_data):
            rows = json.loads(raw_data)["data"]
            return [row[0] / len(rows) for row in rows]  # depends on how many rows came together
    """))
    from azureml_inference_server_http.server.user_script import UserScript

    script = UserScript("mixing.py")
    script.load_script(str(tmp_path))
    mixing = BatchedRuns(script, BatchingConfig(max_batch_size=8, max_latency_s=0.01), None, timed_run)
    problem = mixing.check_sample(json.dumps({"data": [[1], [3]]}))
    assert problem is not None and "other results" in problem
    assert "not a non-empty list" in runs.check_sample(json.dumps({"data": "x"}))


def test_a_sample_whose_rows_mix_text_and_numbers_is_refused_saying_so(plain_runs):
    # A new user's pandas pipeline (OneHotEncoder on text columns): each row had 5 values, and the
    # error said the rows were not "of one shape".
    runs, _, _ = plain_runs
    problem = runs.check_sample(json.dumps({"data": [["Sun", "Dinner", 2, 16.99, "No"],
                                                     ["Sat", "Lunch", 3, 21.5, "Yes"]]}))
    assert problem is not None and "mix text and numbers" in problem and "object of named columns" in problem
    assert "one shape" not in problem
    # What it advises stacks: records, each column its own type.
    assert batch_key([{"day": "Sun", "size": 2}, {"day": "Sat", "size": 3}], {}) is not None


def test_one_bad_request_costs_about_two_log_n_more_calls_not_n(plain_runs):
    runs, script, _ = plain_runs
    batch = [_pending(runs, {"data": [[i + 1]]}) for i in range(16)]
    batch[11] = _pending(runs, {"data": [[0]]})
    runs._execute(batch)
    calls = script.get_run_function().__globals__["calls"]
    assert len(calls) <= 1 + 2 * 4, f"halves, not one call per request: {calls}"
    assert [p.outcome.output for i, p in enumerate(batch) if i != 11] == [[i + 1] for i in range(16) if i != 11]


def test_the_sample_contract_allows_a_sums_rounding_in_another_order_and_nothing_more():
    from mldeploy.scoring.scoring_batcher import same_results

    # The diabetes Ridge's sampleRequest on an AVX-512 machine: 2 rows alone vs 4 rows (twice over).
    assert same_results([5430.917515226916, 4005.6834037998833], [5430.917515226917, 4005.6834037998833])
    assert same_results({"risk": [1.0, float("nan")], "band": ["low"]}, {"risk": [1.0, float("nan")], "band": ["low"]})
    assert not same_results([1.0, 2.0], [1.0, 2.0000001])  # a result that depends on the batch
    assert not same_results([1.0], [float("nan")])
    assert not same_results([2], [4]) and not same_results([1], [1.0]) and not same_results([True], [1.0])
    assert not same_results({"a": [1.0]}, {"b": [1.0]}) and not same_results([1.0], [1.0, 1.0])
    assert not same_results(["low"], ["mid"])


def _request(body: dict):
    from flask import Request
    from werkzeug.test import EnvironBuilder

    return Request(EnvironBuilder(method="POST", path="/score", data=json.dumps(body),
                                  content_type="application/json").get_environ())


def test_a_lone_request_is_azmlinfsrvs_own_call_without_the_batchers_row_reading(plain_runs, monkeypatch):
    """At one connection batching costs nothing: a request that finds the worker idle with nothing
    on its way is run as unbatched - its body is not read for rows a second time (here: reading
    them fails the test) and the answer is what the unbatched call gives."""
    runs, script, _ = plain_runs
    monkeypatch.setattr(runs, "_rows", lambda parameters: pytest.fail("a lone request's rows were read"))
    timed = runs.invoke_run(_request({"data": [[2], [3]], "scale": 5}), timeout_ms=5000)
    unbatched = script.invoke_run(_request({"data": [[2], [3]], "scale": 5}), timeout_ms=5000)
    assert timed.output == unbatched.output == [10, 15]
    assert not hasattr(timed, "batch") and not runs.batcher._active
    from azureml_inference_server_http.server.user_script import UserScriptException

    with pytest.raises(UserScriptException):  # run()'s error, as unbatched; the worker is free after it
        runs.invoke_run(_request({"data": [[0]]}), timeout_ms=5000)
    assert not runs.batcher._active and runs.batcher.alone()
