"""Adaptive batching for an unchanged score.py (`images.<name>.batching`): the requests one scorer
worker holds at once are scored in one run() call on their concatenated rows, and the results are
split back per request. Runs in the scoring environment (standard library only, like
scoring_app.py, which uses it when `MLDEPLOY_BATCH_MAX_SIZE` is set).

What a batch is: the request's `data` array (or the key / inference-schema parameter named by
`input`), rows along its first axis. Requests are batched only with requests whose rows have the
same shape and JSON types and whose other keys are equal (`batch_key`); any other request runs
alone, as it would without batching. run() must return one result per row: a list, an array of
that length, or a dict of such (`split`).

How the dispatcher decides (`Batcher`, `Policy`). BentoML's CorkDispatcher
(bentoml/_internal/marshal/dispatcher.py) fits run time = a·n + b by least squares over the last
50 batches, polls its queue every 1 ms from a controller task, waits while
n·(age of the newest + 1 ms + a) stays below the average wait it has seen (decayed), and cancels
(503s) requests whose estimated latency passes the limit. Ours differs where our setting differs:
- No poller and no dispatcher thread: the request threads (granian's) take turns as leader
  (leader/followers). A request that finds the worker idle leads its own batch on its own
  thread - no hand-off, no tick. One that finds it idle with nothing else queued or on its way
  (`Batcher.alone`: a lone client) is not even read for rows: it runs as unbatched
  (`BatchedRuns.invoke_run`), and whatever queues meanwhile is led after it as usual.
- A leader waits only for requests this worker already holds: those the event loop has handed
  to the app (`dispatched`) that have not reached the queue yet (their JSON is being parsed). It
  never waits on a forecast of arrivals. The first version did (it waited while most arrivals
  found the worker busy and the next one was due sooner than run()'s fixed cost) and, measured
  on a quiet machine, lost both ways: with 2 connections on a worker it waited out its window
  for a third request that could not come (the forest at 4 connections, 0.88x), and a cheap
  run() (the diabetes ridge) was never waited for, while the threads that held the other
  requests could not reach the queue during a run() that kept Python's lock (GIL): every batch
  was one request even at 64 connections (1.00x). Waiting on a lock releases the GIL, so the
  held requests' threads parse meanwhile, and their work is done then rather than later: the
  wait costs the worker no CPU. A lone client never waits (nothing is on its way).
- Without waiting, what queued during one run() is the next batch.
- Either way a batch takes up to `maxBatchSize` rows, while the oldest request's wait plus the
  others' rows' share of the run time (t(n) = fixed + per_row·n, fitted as BentoML does over the
  last 64 batches) stays within `maxLatencyMs`.
- Nothing is ever cancelled or failed for batching: maxLatencyMs bounds the waiting we add, not
  the request (the scoring timeout stays the only limit, as unbatched).
"""
from __future__ import annotations

import collections
import json
import os
import threading
import time
from dataclasses import dataclass

MAX_BATCH_ENV = "MLDEPLOY_BATCH_MAX_SIZE"
MAX_LATENCY_ENV = "MLDEPLOY_BATCH_MAX_LATENCY_MS"
INPUT_ENV = "MLDEPLOY_BATCH_INPUT"
SAMPLE_ENV = "MLDEPLOY_BATCH_SAMPLE"  # the image's sampleRequest: the contract is checked on it at start
COMING_KEY = "mldeploy.batch.coming"  # in a request's environ: counted by Batcher.dispatched, not yet settled
CONTRACT = ("run() must return one result per row of its input: a list or an array as long as the rows it got, "
            "or a dict of such (images.<name>.batching)")


@dataclass(frozen=True)
class BatchingConfig:
    """The image's `batching` settings, as the scorer's environment carries them."""

    max_batch_size: int
    max_latency_s: float
    input: str = "data"
    sample: str | None = None

    @classmethod
    def from_environ(cls, environ=os.environ) -> "BatchingConfig | None":
        size = environ.get(MAX_BATCH_ENV)
        if not size:
            return None
        return cls(max_batch_size=int(size), max_latency_s=int(environ.get(MAX_LATENCY_ENV, "10")) / 1000,
                   input=environ.get(INPUT_ENV) or "data", sample=environ.get(SAMPLE_ENV) or None)


class ContractError(Exception):
    """run()'s answer to a batch cannot be split into one result per row."""


# -- what may be batched together ----------------------------------------------------------------

_SCALARS = {bool: "bool", int: "int", float: "float", str: "str", type(None): "null"}


def _promote(a: str, b: str) -> str | None:
    """The JSON type of two values in one array, as numpy stacks them: ints with floats are floats;
    any other mix is not stacked."""
    if a == b:
        return a
    if {a, b} == {"int", "float"}:
        return "float"
    return None


def _signature(value, depth: int = 0):
    """(shape, type) of a JSON value, hashable; None when it has no uniform shape or type (a
    ragged list, strings mixed with numbers): such a value is not stacked with others. A list's
    items share one shape and one (promoted) type, as in a numpy array; an object's keys each
    keep their own (a pandas record's columns)."""
    kind = _SCALARS.get(type(value))
    if kind is not None:
        return "", kind
    if depth > 32:
        return None
    if isinstance(value, list):
        if not value:
            return ("list", 0, None), "empty"
        kinds = {_SCALARS.get(type(item)) for item in value}
        if None not in kinds:  # a row of scalars (the common case): one pass, no call per value
            kind = kinds.pop()
            for other in kinds:
                kind = _promote(kind, other)
                if kind is None:
                    return None
            return ("list", len(value), ""), kind
        first = _signature(value[0], depth + 1)
        if first is None:
            return None
        shape, kind = first
        for item in value[1:]:
            sig = _signature(item, depth + 1)
            if sig is None or sig[0] != shape:
                return None
            kind = _promote(kind, sig[1])
            if kind is None:
                return None
        return ("list", len(value), shape), kind
    if isinstance(value, dict):
        items = []
        for key in sorted(value):
            sig = _signature(value[key], depth + 1)
            if sig is None:
                return None
            items.append((key, sig))
        return ("object", tuple(items)), "object"
    return None


def batch_key(rows, others) -> tuple | None:
    """What a request must share with others to be stacked with them: the shape and type of its
    rows (the request's whole array: all its rows stacked as one) and the exact values of its
    other keys. None: it runs alone."""
    if not isinstance(rows, list) or not rows:
        return None
    signature = _signature(rows)
    if signature is None:
        return None
    (_, _, row_shape), kind = signature
    if not others:  # only the rows (the common case): nothing to compare
        return row_shape, kind, ""
    try:
        rest = json.dumps(others, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError):
        return None
    return row_shape, kind, rest


def _why_not_stacked(body, name: str) -> str:
    """Why a sampleRequest's rows cannot be stacked (batch_key gave None), for the start-up error."""
    rows = body.get(name) if isinstance(body, dict) else None
    stacking = "(batching stacks requests' rows along the first axis as one array of one type)"
    if (isinstance(rows, list) and rows and all(isinstance(r, list) for r in rows)
            and len({len(r) for r in rows}) == 1 and all(_signature(r) is None for r in rows)):
        return (f"has rows that mix text and numbers {stacking}: send each row as an object of named "
                "columns ({\"column\": value}: each column keeps its own type), or turn batching off")
    return f"is not a non-empty list of rows of one shape and type {stacking}"


def split(output, counts: list[int]) -> list:
    """run()'s answer for the concatenated rows, cut into one answer per request (`counts` rows
    each). ContractError when it is not one result per row."""
    total = sum(counts)
    length = _length(output)
    if length is not None:
        if length != total:
            raise ContractError(f"run() returned {length} results for {total} rows")
        return _cut(output, counts)
    if isinstance(output, dict) and output:
        parts = [{} for _ in counts]
        for key, value in output.items():
            n = _length(value)
            if n != total:
                what = f"{n} results" if n is not None else f"a {type(value).__name__}"
                raise ContractError(f"run() returned a dict whose {key!r} holds {what} for {total} rows")
            for part, piece in zip(parts, _cut(value, counts)):
                part[key] = piece
        return parts
    raise ContractError(f"run() returned a {type(output).__name__} for {total} rows")


def _length(value) -> int | None:
    if isinstance(value, list):
        return len(value)
    shape = getattr(value, "shape", None)  # numpy arrays, pandas frames and series
    if isinstance(shape, tuple) and shape and not isinstance(value, (str, bytes, dict)):
        return int(shape[0])
    return None


def _cut(value, counts: list[int]) -> list:
    pieces, start = [], 0
    rows = getattr(value, "iloc", value)  # pandas: by position
    for n in counts:
        pieces.append(rows[start:start + n])
        start += n
    return pieces


# -- the dispatcher --------------------------------------------------------------------------------

class Pending:
    """One request waiting to be scored: its batch key (None: alone), rows and payload; `outcome`
    is set by whoever ran its batch. `wake` exists only while it waits for another thread: a
    lock held from the start, released once - by the leader that ran its batch or that appoints
    it the next leader (a plain lock: an Event is a Condition and two locks more, made for every
    request; a request that finds its worker idle needs none)."""

    __slots__ = ("key", "rows", "payload", "arrived", "wake", "done", "lead", "outcome")

    def __init__(self, key, rows: int, payload, arrived: float = 0.0):
        self.key, self.rows, self.payload, self.arrived = key, rows, payload, arrived
        self.wake = None
        self.done = self.lead = False
        self.outcome = None

    def wait(self) -> None:
        self.wake.acquire()

    def set(self) -> None:
        self.wake.release()


class RunTimes:
    """run()'s time as a function of the batch's rows, t(n) = fixed + per_row·n, fitted by least
    squares over the last `keep` batches (as BentoML's Optimizer; computed here in closed form:
    the scoring environment may have no numpy). The sums are kept as batches come and go, so a
    batch costs O(1) here: at one connection every request is a batch of one, and refitting by
    three passes over 64 samples cost ~90 us a batch on this (loaded) machine, now ~4 us."""

    def __init__(self, keep: int = 64):
        self._samples: collections.deque[tuple[int, float]] = collections.deque()
        self._keep = keep
        self._n = self._x = self._xx = 0  # rows are ints: their sums stay exact
        self._y = self._xy = 0.0
        self._adds = 0
        self.fixed, self.per_row = 0.0, 0.0

    def add(self, rows: int, seconds: float) -> None:
        self._samples.append((rows, seconds))
        self._n, self._x, self._xx = self._n + 1, self._x + rows, self._xx + rows * rows
        self._y, self._xy = self._y + seconds, self._xy + rows * seconds
        if len(self._samples) > self._keep:
            old_rows, old_seconds = self._samples.popleft()
            self._n, self._x, self._xx = self._n - 1, self._x - old_rows, self._xx - old_rows * old_rows
            self._y, self._xy = self._y - old_seconds, self._xy - old_rows * old_seconds
        self._adds += 1
        if self._adds % (1024 * self._keep) == 0:  # float sums drift by subtraction: start them afresh now and then
            self._y = sum(s for _, s in self._samples)
            self._xy = sum(r * s for r, s in self._samples)
        n = self._n
        mean_x, mean_y = self._x / n, self._y / n
        spread = n * self._xx - self._x * self._x  # n² × the rows' variance, in integers: exactly 0 when all alike
        if spread == 0:  # every batch the same size: all of its time counts as fixed cost
            self.fixed, self.per_row = mean_y, 0.0
            return
        slope = (n * self._xy - self._x * self._y) / spread
        self.per_row = max(0.0, slope)
        self.fixed = max(0.0, mean_y - self.per_row * mean_x)

    def expect(self, rows: int) -> float:
        return self.fixed + self.per_row * rows


class Policy:
    """How many rows a leader takes and how long it waits for the requests on their way (see the
    module docstring)."""

    def __init__(self, max_batch_size: int, max_latency_s: float):
        self.max_batch_size, self.max_latency_s = max_batch_size, max_latency_s
        self.times = RunTimes()

    def added(self, rows: int, own_rows: int, waited: float) -> float:
        """What batching adds to a request of `own_rows` rows run in a batch of `rows` rows after
        `waited` seconds of gathering: the wait plus the others' rows' share of the run time."""
        return waited + self.times.per_row * max(0, rows - own_rows)

    def wait_for_more(self, rows: int, own_rows: int, waited: float) -> float:
        """How long a leader of `rows` rows may wait for one more request (0: run now): as long as
        a batch one row larger would still add at most maxLatencyMs."""
        if rows >= self.max_batch_size:
            return 0.0
        return max(0.0, self.max_latency_s - self.added(rows + 1, own_rows, waited))

    def fits(self, rows: int, own_rows: int, waited: float) -> bool:
        """Whether a batch of `rows` rows keeps within maxBatchSize and adds at most maxLatencyMs."""
        return rows <= self.max_batch_size and self.added(rows, own_rows, waited) <= self.max_latency_s


class Batcher:
    """Requests of one worker, batched: `submit` blocks its (granian) thread until the request's
    outcome is set. One batch runs at a time (one run() at a time, as unbatched). `execute(batch)`
    scores a list of Pending and sets each one's `outcome`; it must not raise. `dispatched()`
    counts a request handed to the app that may come to `submit(counted=True)`; one that will not
    is let go with `gone()`."""

    def __init__(self, policy: Policy, execute, clock=time.monotonic):
        self.policy, self._execute, self._clock = policy, execute, clock
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._queue: collections.deque[Pending] = collections.deque()
        self._active = False  # a leader is gathering or running
        self._gathering = False
        self._coming = 0  # requests dispatched to the app, not yet queued nor gone

    def dispatched(self) -> None:
        with self._lock:
            self._coming += 1

    def gone(self) -> None:
        """A dispatched request that will not be queued (another path, a bad body, an error)."""
        with self._lock:
            self._coming -= 1
            if self._gathering and self._coming <= 0:
                self._arrived.notify()

    def alone(self, counted: bool = False) -> bool:
        """Whether a request may run now on its own, outside the queue: the worker is idle and no
        other request is queued or on its way (one request in the queue and an idle worker run at
        once anyway; this only skips the queue's work). True: the caller runs it and then calls
        `finish_alone`, which hands the worker to whatever queued meanwhile."""
        with self._lock:
            if self._active or self._queue or self._coming > (1 if counted else 0):
                return False
            if counted:
                self._coming -= 1
            self._active = True
            return True

    def finish_alone(self) -> None:
        """A request run `alone` is done: the next leader is the head of the queue, if any."""
        with self._lock:
            following = self._queue[0] if self._queue else None
            if following is None:
                self._active = False
            else:
                following.lead = True
        if following is not None:
            following.set()

    def submit(self, item: Pending, counted: bool = False):
        with self._lock:
            item.arrived = self._clock()
            if counted:
                self._coming -= 1
            self._queue.append(item)
            # The gathering leader is woken once, when nothing more is on its way or the queue
            # holds a full batch, not at every arrival (each wake-up is a switch of threads).
            if self._gathering and (self._coming <= 0 or len(self._queue) >= self.policy.max_batch_size):
                self._arrived.notify()
            lead = not self._active
            self._active = True
            if not lead:
                item.wake = threading.Lock()
                item.wake.acquire()
        if not lead:
            item.wait()
            if item.done:
                return item.outcome
        self._lead(item)
        return item.outcome

    def _lead(self, item: Pending) -> None:
        """Run the batch that starts with `item` (the head of the queue), then appoint the next leader."""
        with self._lock:
            batch = self._gather()
        started = self._clock()
        try:
            self._execute(batch)
        finally:
            elapsed = self._clock() - started
            with self._lock:
                if len({p.key for p in batch}) == 1 and batch[0].key is not None:
                    self.policy.times.add(sum(p.rows for p in batch), elapsed)
                elif len(batch) == 1:
                    self.policy.times.add(batch[0].rows, elapsed)
                following = self._queue[0] if self._queue else None
                if following is None:
                    self._active = False
                else:
                    following.lead = True
            for p in batch:
                p.done = True
                if p is not item:
                    p.set()
            if following is not None:
                following.set()

    def _gather(self) -> list[Pending]:
        """(Lock held.) Wait while requests are on their way and the policy allows, then take the
        batch: the head and the queued requests with its key, in arrival order, while they fit."""
        started = self._clock()
        while True:
            head = self._queue[0]
            if head.key is None or self._coming <= 0:
                break
            wait = self.policy.wait_for_more(self._compatible_rows(head), head.rows, self._clock() - started)
            if wait <= 0:
                break
            self._gathering = True
            self._arrived.wait(wait)
            self._gathering = False
        return self._take(head, self._clock() - started)

    def _compatible_rows(self, head: Pending) -> int:
        if head.key is None:
            return head.rows
        return sum(p.rows for p in self._queue if p.key == head.key)

    def _take(self, head: Pending, waited: float) -> list[Pending]:
        self._queue.popleft()
        batch, rows = [head], head.rows
        if head.key is None:
            return batch
        kept: list[Pending] = []
        while self._queue:
            p = self._queue.popleft()
            if p.key == head.key and self.policy.fits(rows + p.rows, head.rows, waited):
                batch.append(p)
                rows += p.rows
            else:
                kept.append(p)
        self._queue.extendleft(reversed(kept))
        return batch


# -- azmlinfsrv's run() call, batched ----------------------------------------------------------------

class BatchedRuns:
    """Stands in for azmlinfsrv's `UserScript.invoke_run` (user_script.py) on the fast path: the
    same input parser, timeout, timer, exceptions and TimedResult per request, with run() called on
    a batch. A batch of one is exactly the unbatched call. If a batched run() raises or answers with
    an HTTP response (a script's own 400 for one bad row, say), the batch's halves are run apart,
    down to single requests, so each request gets what it would get unbatched; a result that breaks the contract (`split`) is a
    500 for the batch's requests, logged naming the contract, and this worker calls run() once per
    request from then on."""

    def __init__(self, user_script, config: BatchingConfig, logger, timed_run, clock=time.monotonic):
        from azureml_inference_server_http.server import user_script as module
        from azureml_inference_server_http.server.input_parsers import JsonStringInput, ObjectInput

        self.script, self.module, self.config, self.logger = user_script, module, config, logger
        self.timed_run = timed_run  # scoring_app.timed_run: run() called as azmlinfsrv calls it
        parser = user_script.input_parser
        self.kind = "text" if isinstance(parser, JsonStringInput) else "object" if isinstance(parser, ObjectInput) else None
        self.text_parameter = getattr(parser, "parameter_name", None)
        self.enabled = True
        self.batcher = Batcher(Policy(config.max_batch_size, config.max_latency_s), self._execute, clock)

    def unsupported(self) -> str | None:
        """Why this entry script cannot be batched (None: it can)."""
        import inspect

        if self.kind is None:
            return "batching needs a run() without @rawhttp (it gets the JSON body's rows, not the HTTP request)"
        if "request_headers" in inspect.signature(self.script.get_run_function()).parameters:
            return "batching needs a run() without a request_headers parameter (a batch has no one request's headers)"
        return None

    def dispatched(self, environ: dict) -> None:
        """On the event loop's thread (wsgi_on_asgi.py), as a request goes to the app: it may join
        a batch soon, so a leader may wait for it (`Batcher`). Every dispatched request is
        `settled` once it reaches the queue or the app is done with it."""
        environ[COMING_KEY] = True
        self.batcher.dispatched()

    def settle(self, environ: dict) -> None:
        """The request `environ` will not (or no longer) come to the queue: it is not waited for."""
        if environ.get(COMING_KEY):
            environ[COMING_KEY] = False
            self.batcher.gone()

    def invoke_run(self, request, *, timeout_ms: int):
        if not self.enabled:
            return self.script.invoke_run(request, timeout_ms=timeout_ms)
        environ = request.environ
        counted = environ.get(COMING_KEY, False)
        environ[COMING_KEY] = False
        if self.batcher.alone(counted):
            # Nothing to batch with: azmlinfsrv's own call, as unbatched - no rows read, no batch
            # key, no queue, no run time recorded (a lone client pays nothing for batching).
            try:
                return self._call(self.script.input_parser(request), timeout_ms)
            finally:
                self.batcher.finish_alone()
        parameters = self.script.input_parser(request)  # BadInput, UnsupportedInput: as unbatched
        key, rows, body = self._rows(parameters)
        outcome = self.batcher.submit(Pending(key, len(rows) if key is not None else 1,
                                              (parameters, rows, body, timeout_ms)), counted=counted)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    # -- rows in, results out

    def _rows(self, parameters: dict):
        """(batch key, rows, the request's object) of a request's run() parameters; key None: alone."""
        name = self.config.input
        if self.kind == "text":
            try:
                body = json.loads(parameters[self.text_parameter])
            except (ValueError, RecursionError):
                return None, [], None
        else:
            body = parameters
        if not isinstance(body, dict) or name not in body:
            return None, [], None
        rows = body[name]
        key = batch_key(rows, {k: v for k, v in body.items() if k != name})
        return key, rows, body

    def _combined(self, batch: list[Pending]) -> dict:
        parameters, _, body, _ = batch[0].payload
        joined = dict(body)  # the first request's keys, in its order, with every request's rows
        joined[self.config.input] = [row for p in batch for row in p.payload[1]]
        if self.kind == "text":
            return {**parameters, self.text_parameter: json.dumps(joined, allow_nan=True)}
        return joined

    def _call(self, parameters: dict, timeout_ms: int):
        """UserScript.invoke_run after its input parser: run() under the scoring timeout, timed."""
        return self.timed_run(self.module, self.script._wrapped_user_run, parameters, timeout_ms)

    def _alone(self, p: Pending):
        parameters, _, _, timeout_ms = p.payload
        try:
            return self._call(parameters, timeout_ms)
        except Exception as ex:  # noqa: BLE001 - handed to the request's own thread, which raises it
            return ex

    def _execute(self, batch: list[Pending], whole: bool = True) -> None:
        if len(batch) == 1 or not self.enabled:
            for p in batch:
                p.outcome = self._alone(p)
            return
        m = self.module
        timeout_ms = max(p.payload[3] for p in batch)
        try:
            timed = self._call(self._combined(batch), timeout_ms)
        except m.UserScriptTimeout as ex:
            for p in batch:
                p.outcome = m.UserScriptTimeout(ex.timeout_ms, ex.elapsed_ms)
            return
        except Exception:  # noqa: BLE001 - run() raised on the batch: its halves apart
            if whole:
                self.logger.info(f"batching: run() raised on a batch of {len(batch)} requests; its halves are run "
                                 "apart, down to the failing requests alone")
            self._halves(batch)
            return
        if _is_http_response(timed.output):
            self._halves(batch)
            return
        try:
            parts = split(timed.output, [p.rows for p in batch])
        except ContractError as err:
            self.enabled = False
            self.logger.error(f"batching: {err}: {CONTRACT}; this worker calls run() once per request from now on")
            for p in batch:
                p.outcome = m.UserScriptException(err)
            return
        for p, part in zip(batch, parts):
            p.outcome = _batched_result(m.TimedResult, timed.elapsed_ms, p.payload[0], part, len(batch))

    def _halves(self, batch: list[Pending]) -> None:
        """Each half of a batch run() would not score as one, run apart (recursively): one bad
        request among n costs about 2·log2(n) more run() calls, not n (measured with the forest:
        a raising batch of ~30 requests run one by one held its requests ~4 s)."""
        middle = len(batch) // 2
        self._execute(batch[:middle], whole=False)
        self._execute(batch[middle:], whole=False)

    # -- the start-up check

    def check_sample(self, text: str) -> str | None:
        """The contract on the image's sampleRequest: run() on the sample's rows twice over gives
        the sample's own results twice (as JSON, floats up to rounding: `same_results`). None when it holds, else why not."""
        problem = self.unsupported()
        if problem:
            return problem
        if self.kind == "text":
            parameters = {self.text_parameter: text}
        else:
            try:
                body = json.loads(text)
            except ValueError as err:
                return f"the sampleRequest is not JSON: {err}"
            if not isinstance(body, dict):
                return "the sampleRequest is not a JSON object"
            parameters = self.script.input_parser._extract_parameters(body)
        key, rows, body = self._rows(parameters)
        if key is None:
            sent = parameters
            if self.kind == "text":
                try:
                    sent = json.loads(text)
                except (ValueError, RecursionError):
                    sent = None
            return f"the sampleRequest's {self.config.input!r} {_why_not_stacked(sent, self.config.input)}"
        timeout_ms = 60_000
        item = Pending(key, len(rows), (parameters, rows, body, timeout_ms))
        try:
            alone = self._call(parameters, timeout_ms).output
            twice = self._call(self._combined([item, item]), timeout_ms).output
        except Exception as ex:  # noqa: BLE001
            cause = getattr(ex, "user_ex", ex)
            return f"run() failed on the sampleRequest: {type(cause).__name__}: {cause}"
        if _is_http_response(alone) or _is_http_response(twice):
            return "run() answered the sampleRequest with an HTTP response, not its results"
        try:
            parts = split(twice, [len(rows), len(rows)])
        except ContractError as err:
            return f"{err} (the sampleRequest twice over): {CONTRACT}"
        try:
            expected = json.dumps(alone)
            got = [json.dumps(part) for part in parts]
        except (TypeError, ValueError) as err:
            return f"run()'s results cannot be compared as JSON: {err}"
        if any(not same_results(json.loads(g), json.loads(expected)) for g in got):
            return (f"run() on the sampleRequest twice over gave other results than on the sampleRequest alone "
                    f"({got[0][:60]}... against {expected[:60]}...): a batch's rows must not change each "
                    "other's results")
        return None


# How far apart a float may be, relative to its size, and still count as the same result in the
# start-up check: a sum's rounding in another order (BLAS kernels pick their order by the row
# count) moves a prediction by a few units in its last place (~1e-16 relative), while a result
# that depends on the batch moves by far more.
ROUNDING = 1e-12


def same_results(a, b) -> bool:
    """Whether two results (JSON values) are equal, floats up to ROUNDING: measured 2026-12-05 on an
    AVX-512 Xeon (OpenBLAS 0.3.31 SkylakeX, and Haswell forced), the diabetes Ridge's sampleRequest
    (2 rows) predicted 5430.917515226917 alone and 5430.917515226916 twice over (4 rows) - byte
    equality refused to serve a row-wise model (batches of 4 rows sum in another order than 2)."""
    if type(a) is float and type(b) is float:
        if a != a or b != b:  # NaN (json.dumps writes it): equal only to NaN, as its text was
            return a != a and b != b
        return a == b or abs(a - b) <= ROUNDING * max(abs(a), abs(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_results(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_results(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


BATCH_HEADER = "x-mldeploy-batch"  # on a response scored in a batch: how many requests shared its run()


def _batched_result(timed_result, elapsed_ms, parameters, output, requests: int):
    """azmlinfsrv's TimedResult, carrying how many requests shared the run() (`batch`)."""
    result = _TIMED.get(timed_result)
    if result is None:
        result = _TIMED[timed_result] = type("BatchedTimedResult", (timed_result,), {})
    out = result(elapsed_ms=elapsed_ms, input=parameters, output=output)
    out.batch = requests
    return out


_TIMED: dict = {}


def _is_http_response(value) -> bool:
    return hasattr(value, "status_code") and hasattr(value, "headers") and callable(value)
