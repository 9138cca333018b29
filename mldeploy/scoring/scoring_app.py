"""The WSGI app of mldeploy's scoring server (`scoringServer: mldeploy`): azmlinfsrv's own app,
set up by azmlinfsrv's own code, with its hot route answered without Flask's per-request
machinery. Loaded in each worker of the scorer host (`scorer_host.py`, granian) as
`scoring_app:create`; it runs in the scoring environment and imports only the standard library,
azmlinfsrv and what azmlinfsrv imports (Flask, werkzeug) - never mldeploy.

azmlinfsrv's, unchanged: the start (logging, App Insights, importing the entry script, `init()`,
exit code 3 when either fails, the swagger documents), the input parsers (undecorated run(): the
body as text; inference-schema: the JSON body's keys), the call of run() (`UserScript.invoke_run`:
timeout, `request_headers`), AMLResponse/ErrorResponse bodies, its log line per request, App
Insights records.

Fast path - `GET`/`POST /score` of an entry script without `@rawhttp` - the steps of
azmlinfsrv 1.5.1's server/routes.py (`_before_request`, `_init_headers`, `handle_score`, its
error handlers, `_after_request`, `populate_response_headers`) in the same order, without Flask's
context push, URL routing and hook dispatch (without them a request took 0.69x the time in
cProfile, 634 vs 916 us; issue 14, README "Performance"). A plain (JSON-able) value of run() is
answered without werkzeug's Response and Headers objects too (PlainAnswer: the same bytes as
azmlinfsrv's AMLResponse), unless App Insights logs requests (its log_request reads a werkzeug
response). Everything else is answered by the Flask app itself: `/`,
`/swagger.json`, OPTIONS and HEAD, unknown paths and methods, request-id headers over azmlinfsrv's
limit (its 431), every request of a `@rawhttp` script (its run() gets the Flask request object
and may use Flask's globals), and all requests when the server does CORS itself
(`AML_CORS_ORIGINS`, flask-cors).

One intended difference: inside run() on the fast path, Flask's `request`, `g` and
`current_app` are not bound (azmlinfsrv binds them; an undecorated or inference-schema run() gets
its input as arguments and has no use for them).

Scoring timeout on a server thread: azmlinfsrv stops run() after `SCORING_TIMEOUT_MS` with
SIGALRM, which works only on the main thread (its utils.timeout_supported); granian calls the app
on a thread of its own. Here a watchdog thread raises the same TimeoutError in the thread that
runs run() (PyThreadState_SetAsyncExc, https://docs.python.org/3/c-api/init.html), so the answer
is azmlinfsrv's 500 "Scoring timeout after N ms". That exception is raised when run() next
executes Python code; a run() blocked outside Python (a sleep, a socket wait, a long native call),
or one that catches the TimeoutError and goes on, cannot be stopped in its thread.

One run() at a time, always (as in a gunicorn sync worker; OneAtATime). A worker whose request
outlives what its client waits for is retired instead (`Retirement`): it stops accepting
connections, finishes what it holds, exits, and the host starts a new one (a fresh fork: imports
shared, init() run again). Behind the gateway (`MLDEPLOY_GATEWAY_TIMEOUT_MS`, set by
plan/timeouts.py) that happens just BEFORE the gateway gives up on the request (its 504): granian
lets a worker take a new connection as soon as its client has closed the previous one, even
while the worker's Python thread is still inside run() (measured with granian 2.8.7), so a
worker still busy at the gateway's timeout would take the next request and keep it waiting
behind the stuck one. Retired before that moment, the worker holds the connection until the
gateway lets go, and the next request waits in the host's socket for a worker that is free.
Without a gateway timeout, a run() still running STUCK_GRACE_S after its TimeoutError retires
the worker, which exits STUCK_EXIT_DELAY_S later whatever it holds (gunicorn's kill of a silent
worker). Streamed answers (a generator in an AMLResponse) are sent as they are produced; the
gateway's limit applies per chunk, as nginx's proxy_read_timeout does.
"""
from __future__ import annotations

import contextlib
import ctypes
import datetime
import gc
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
import uuid

SCORE_PATH = "/score"
STUCK_GRACE_S = 1.0
STUCK_EXIT_DELAY_S = 1.0
RETIRE_MARGIN_S = 0.25  # before the gateway's timeout: the watchdog's poll and the signal's delivery fit in it
WATCHDOG_POLL_S = 0.05
STUCK_EXIT_CODE = 70  # EX_SOFTWARE
GATEWAY_TIMEOUT_ENV = "MLDEPLOY_GATEWAY_TIMEOUT_MS"  # plan/timeouts.py sets it
HOST_PIPE_ENV = "MLDEPLOY_HOST_PIPE_FD"  # scorer_host.py sets both
HOST_PID_ENV = "MLDEPLOY_HOST_PID"
LISTEN_FD_ENV = "MLDEPLOY_SCORER_LISTEN_FD"  # scorer_host.py sets it: the socket all workers accept on
STREAMED_KEY = "mldeploy.streamed"
# PEP 3333: an application must not send hop-by-hop headers; granian's HTTP/1 writer breaks on
# a Transfer-Encoding it did not choose (a dropped connection).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "trailers", "transfer-encoding", "upgrade"}

logger = logging.getLogger("azmlinfsrv")


def report_to_host(kind: str, value: int) -> None:
    """One line to the scorer host (scorer_host.py) through the pipe the workers inherit:
    `boot <exit code>` (this worker could not start) or `retire <pid>` (a retirement, not a crash)."""
    fd = os.environ.get(HOST_PIPE_ENV)
    if fd:
        try:
            os.write(int(fd), f"{kind} {value}\n".encode())
        except (OSError, ValueError):
            pass


class Retirement:
    """Ends this worker the way granian stops one (SIGTERM: accept nothing more, finish the
    connections it holds, exit); the host, told it is no crash, starts a new one."""

    def __init__(self, kill=os.kill, exit=os._exit, report=report_to_host):
        self._lock = threading.Lock()
        self._kill, self._exit, self._report = kill, exit, report
        self.retiring = False

    def retire(self, reason: str, exit_after_s: float | None = None) -> None:
        with self._lock:
            first, self.retiring = not self.retiring, True
        if first:
            logger.error(f"{reason}: this worker takes no more requests, exits once its connection ends, "
                         "and a new one starts")
            self._report("retire", os.getpid())
            self._kill(os.getpid(), signal.SIGTERM)
        if exit_after_s is not None:
            timer = threading.Timer(exit_after_s, self._exit_now)
            timer.daemon = True
            timer.start()

    def _exit_now(self) -> None:
        logging.shutdown()
        self._exit(STUCK_EXIT_CODE)


class Watchdog:
    """Two clocks per worker (see the module docstring). `limit(ms)`: azmlinfsrv's scoring timeout
    for the calling thread - a TimeoutError raised in it, and `on_stuck(thread id)` when it is
    still running STUCK_GRACE_S later. `expect_by(token, at)`: `on_overdue()` once the monotonic
    time `at` passes with the request `token` still unanswered."""

    def __init__(self, poll_s: float = WATCHDOG_POLL_S, stuck_grace_s: float = STUCK_GRACE_S,
                 on_stuck=lambda thread_id: None, on_overdue=lambda: None):
        self._lock = threading.Lock()
        self._entries: dict[int, list] = {}  # thread id -> [deadline, fired at, reported]
        self._overdue: dict[object, float] = {}  # request token -> when its client gives up
        self._poll_s, self._stuck_grace_s = poll_s, stuck_grace_s
        self.on_stuck, self.on_overdue = on_stuck, on_overdue
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def limit(self, timeout_ms: float):
        self._ensure_thread()
        with self._lock:
            self._entries[threading.get_ident()] = [time.monotonic() + timeout_ms / 1000, None, False]
        try:
            yield
        finally:
            self.clear()

    def clear(self) -> None:
        """End this thread's limit; a TimeoutError fired but not yet raised is withdrawn."""
        thread_id = threading.get_ident()
        with self._lock:
            entry = self._entries.pop(thread_id, None)
            if entry is not None and entry[1] is not None:
                _async_raise(thread_id, None)

    def expect_by(self, token: object, at: float | None) -> None:
        """Watch request `token` until the monotonic time `at` (None: stop watching it)."""
        with self._lock:
            if at is None:
                self._overdue.pop(token, None)
                return
            self._overdue[token] = at
        self._ensure_thread()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._watch, name="mldeploy-scoring-timeout", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while True:
            time.sleep(self._poll_s)
            self.check(time.monotonic())

    def check(self, now: float) -> None:
        stuck, overdue = [], False
        with self._lock:
            for thread_id, entry in self._entries.items():
                if entry[1] is None:
                    if now >= entry[0]:
                        entry[1] = now
                        _async_raise(thread_id, TimeoutError)
                elif not entry[2] and now >= entry[1] + self._stuck_grace_s:
                    entry[2] = True
                    stuck.append(thread_id)
            for token, at in list(self._overdue.items()):
                if now >= at:
                    del self._overdue[token]
                    overdue = True
        for thread_id in stuck:
            self.on_stuck(thread_id)
        if overdue:
            self.on_overdue()


class WaitingConnections:
    """Whether a connection waits in the queue of the socket all workers accept on (scorer_host.py):
    a listening socket polls readable while its queue holds one (poll(2), accept(2)). A worker
    keeping its connection (behind the gateway) closes it instead when one waits: with one
    connection per worker, that waiting connection is taken only once some worker lets its own
    go, so the next free worker serves the queue, as without kept connections."""

    def __init__(self, fd: int | None):
        import select

        self._poll = None
        # One poll object may be polled by one thread at a time ("RuntimeError: concurrent poll()
        # invocation"): a batching worker answers on several threads at once.
        self._lock = threading.Lock()
        if fd is not None:
            self._poll = select.poll()
            self._poll.register(fd, select.POLLIN)

    @classmethod
    def of_host(cls, environ=os.environ) -> "WaitingConnections":
        """The host's socket (a worker's Rust side starts listening on a Unix socket only after
        the app is made, so it is not checked for listening here). Not a socket, or not told:
        every answer closes its connection, as without keep-alive - a worker that cannot see the
        queue holds no connection."""
        import stat

        fd = environ.get(LISTEN_FD_ENV, "")
        try:
            return cls(int(fd) if fd.isdigit() and stat.S_ISSOCK(os.fstat(int(fd)).st_mode) else None)
        except OSError:
            return cls(None)

    def any(self) -> bool:
        # Any event: POLLIN (a connection waits), or POLLHUP/POLLERR from a socket that is no
        # listening one - then close, the safe side.
        if self._poll is None:
            return True
        with self._lock:
            return bool(self._poll.poll(0))


class OneAtATime:
    """One request at a time per worker process, as in a gunicorn sync worker - from the call
    until its body is closed (a streamed body is sent after the call returns). Normally a worker
    holds one connection at a time (scorer_host.py) and nobody waits here; a request that does
    (its worker took it while a client that gave up still had a run() going) waits for its turn,
    and gets a 503 when the worker retires instead."""

    def __init__(self, retirement: Retirement, poll_s: float = 0.1, slots: int = 1):
        # With batching a worker holds up to maxBatchSize requests at once (scoring_batcher.py
        # still runs one run() at a time).
        self._turn = threading.Lock() if slots == 1 else threading.Semaphore(slots)
        self._retirement, self._poll_s = retirement, poll_s

    def take(self) -> bool:
        while not self._turn.acquire(timeout=self._poll_s):
            if self._retirement.retiring:
                return False
        return True

    def give_back(self) -> None:
        self._turn.release()


def _async_raise(thread_id: int, exc_type) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exc_type) if exc_type is not None else None)


def install_thread_timeout(watchdog: Watchdog) -> None:
    """azmlinfsrv's `timeout()` (used by invoke_run) on the main thread, the watchdog elsewhere."""
    from azureml_inference_server_http.server import user_script, utils

    signal_timeout = utils.timeout

    def timeout(timeout_ms):
        return signal_timeout(timeout_ms) if utils.timeout_supported() else watchdog.limit(timeout_ms)

    user_script.timeout = timeout


def timed_run(m, run, parameters: dict, timeout_ms: int, request=None):
    """azmlinfsrv's UserScript.invoke_run after its input parser (user_script.py, 1.5.1), for the
    app and the batcher (scoring_batcher.py) alike: `run` under the scoring timeout and a timer,
    its exceptions as azmlinfsrv's (`m`: azmlinfsrv's user_script module). run() gets the headers
    of `request` as a dict, or {} without one."""
    timer = None
    try:
        with m.timeout(timeout_ms), m.Timer() as timer:
            output = run(**parameters, request_headers=dict(request.headers) if request is not None else {})
    except TimeoutError:
        # timer is unset if timeout() raised before Timer() started (azmlinfsrv's comment)
        raise m.UserScriptTimeout(timeout_ms, timer.elapsed_ms if timer else 0) from None
    except Exception as ex:  # noqa: BLE001 - azmlinfsrv's own catch
        raise m.UserScriptException(ex) from ex
    return m.TimedResult(elapsed_ms=timer.elapsed_ms, input=parameters, output=output)


class ScoringApp:
    """The WSGI callable: the fast path for `/score`, azmlinfsrv's Flask app for the rest."""

    def __init__(self, flask_app, watchdog: Watchdog, turn: OneAtATime, retirement: Retirement,
                 gateway_timeout_s: float | None = None, batched_runs=None,
                 waiting: WaitingConnections | None = None):
        from azureml_inference_server_http.api import aml_request
        from azureml_inference_server_http.server import routes
        from azureml_inference_server_http.server.config import config

        self.flask_app = flask_app
        self.blueprint = flask_app.azml_blueprint
        self.routes = routes
        self.watchdog, self.turn, self.retirement = watchdog, turn, retirement
        # Connections kept after a response (granian keep_alive, behind the gateway): see _keep_or_close.
        self.waiting = waiting
        # How long a request may take before its worker retires (just before the gateway's 504).
        self.overdue_s = max(0.0, gateway_timeout_s - RETIRE_MARGIN_S) if gateway_timeout_s else None
        self.timeout_ms = config.scoring_timeout
        # @rawhttp scripts and a server doing CORS itself: every request through Flask.
        self.fast = not aml_request._rawHttpRequested and not config.cors_origins
        # run() through the batcher (images.<name>.batching), else azmlinfsrv's own call.
        self.invoke_run = batched_runs.invoke_run if batched_runs is not None else self._invoke_run
        from azureml_inference_server_http.server import input_parsers, user_script

        self.input_parsers, self.user_script = input_parsers, user_script
        # With batching: wsgi_on_asgi.py tells the batcher of each request it hands over
        # (`dispatched`), and each is settled here once the app is done with it.
        self.batched_runs = batched_runs
        self.dispatched = batched_runs.dispatched if batched_runs is not None else None
        import flask
        from werkzeug.exceptions import HTTPException

        self.Request, self.Response, self.HTTPException = flask.Request, flask.Response, HTTPException
        # run()'s plain values answered as PlainAnswer (no werkzeug objects) unless App Insights
        # logs each request: its log_request reads a werkzeug response.
        self.plain = not self.blueprint.appinsights_client.enabled

        @flask_app.after_request
        def _sendable_from_flask(response):  # registered last: runs before azmlinfsrv's own hooks
            response = self.sendable(response)
            flask.request.environ[STREAMED_KEY] = response.is_streamed
            return response

    def __call__(self, environ, start_response):
        if self.waiting is not None:
            start_response = self._keep_or_close(start_response)
        fast = (self.fast and environ.get("PATH_INFO") == SCORE_PATH and environ.get("REQUEST_METHOD") in
                ("GET", "POST") and _ids_within_limit(environ, self.routes))
        if self.batched_runs is not None and not fast:
            self.batched_runs.settle(environ)  # never batched: no leader waits for it
        try:
            return self._answer(environ, start_response, fast)
        finally:
            if self.batched_runs is not None:
                self.batched_runs.settle(environ)

    def _answer(self, environ, start_response, fast: bool):
        if not self.turn.take():
            return self._retiring(environ, start_response)
        token, streaming = object(), False
        self._expect(token)
        try:
            if fast:
                response = self._score(environ)
                if response.__class__ is PlainAnswer:
                    environ[STREAMED_KEY] = False
                    start_response("200 OK", response.headers)
                    _drain(environ)
                    return [response.body]
                response = self.sendable(response)
                environ[STREAMED_KEY] = response.is_streamed
                body = response(environ, start_response)
            else:
                body = self.flask_app(environ, start_response)
            # A body the app did not read is read now, before the answer: closing a connection
            # with unread data resets it, and the gateway would answer 502 instead of ours.
            _drain(environ)
            if environ.get(STREAMED_KEY):
                streaming = True
                return StreamedBody(body, self, token)
            try:
                return [b"".join(body)]
            finally:
                if hasattr(body, "close"):
                    body.close()
        finally:
            self.watchdog.clear()
            if not streaming:
                self.done(token)

    def _keep_or_close(self, start_response):
        """granian keeps the connection after this response unless it says `Connection: close`
        (RFC 9112 9.6; hyper honours it): said when another connection waits for a worker, or
        this worker retires. (Set after `sendable`, which drops run()'s own hop-by-hop headers.)"""
        def respond(status, headers, exc_info=None):
            if self.waiting.any() or self.retirement.retiring:
                headers = [*headers, ("Connection", "close")]
            return start_response(status, headers, exc_info)
        return respond

    def _expect(self, token) -> None:
        if self.overdue_s is not None:
            self.watchdog.expect_by(token, time.monotonic() + self.overdue_s)

    def done(self, token) -> None:
        """The request `token` is answered (its body closed): the next one may run."""
        self.watchdog.expect_by(token, None)
        self.turn.give_back()

    def _retiring(self, environ, start_response):
        response = self.routes.ErrorResponse(503, "this worker is restarting: retry the request")
        response.headers["Retry-After"] = "1"
        _drain(environ)
        return [b"".join(response(environ, start_response))]

    def sendable(self, response):
        """A response granian can send: hop-by-hop headers of run()'s dropped (PEP 3333), and a
        status HTTP cannot carry as a final answer (1xx, beyond 599) becomes azmlinfsrv's 500."""
        for name in {key for key, _ in response.headers if key.lower() in HOP_BY_HOP}:
            del response.headers[name]
        if 200 <= response.status_code <= 599:
            return response
        logger.error(f"run() returned HTTP status {response.status_code}, which no HTTP answer can carry")
        return self.routes.ErrorResponse(500, "An unexpected error occurred in scoring script. Check the logs for "
                                              "more info.", run_function_failed=True)

    def _score(self, environ):
        routes, bp = self.routes, self.blueprint
        start_datetime = datetime.datetime.utcnow()  # what azmlinfsrv hands App Insights
        start = time.perf_counter()
        request = self.Request(environ)
        request_id, legacy_client_request_id, client_request_id = _request_ids(environ)
        try:
            response = self._invoke(request, request_id, client_request_id)
        except self.HTTPException as ex:  # routes.handle_http_exception
            response = routes.ErrorResponse(ex.code, ex.description)
        except Exception:  # routes.all_unhandled_exception
            logger.error("Encountered Exception: {0}".format(traceback.format_exc()))
            response = routes.ErrorResponse(500, "An unexpected internal error occurred. Check the logs for more info.")

        # routes._after_request (registered second, so Flask runs it first). The request's method
        # and path are werkzeug's request.method and request.path: the fast path is taken only
        # for a PATH_INFO of exactly /score and a method of GET or POST.
        duration_ms = (time.perf_counter() - start) * 1e3
        path = SCORE_PATH
        query = environ.get("QUERY_STRING", "")
        if query:
            path += f"?{query.encode('latin-1').decode()}"  # werkzeug's request.query_string, decoded
        plain = response.__class__ is PlainAnswer
        length = len(response.body) if plain else "N/A" if response.is_streamed else response.calculate_content_length()
        logger.info(f"{environ['REQUEST_METHOD']} {path} {response.status_code} {round(duration_ms, 3):0.3f}ms {length}")
        bp.appinsights_client.log_request(request=request, response=response, start_datetime=start_datetime,
                                          duration_ms=duration_ms, request_id=request_id,
                                          client_request_id=client_request_id)
        # routes.populate_response_headers
        headers = response.headers
        server_version = os.environ.get("HTTP_X_MS_SERVER_VERSION", "")
        if server_version:
            headers.add("x-ms-server-version", server_version)
        if request_id:
            headers["x-request-id"] = request_id
        if legacy_client_request_id:
            headers["x-ms-request-id"] = legacy_client_request_id
        if client_request_id:
            headers["x-ms-client-request-id"] = client_request_id
        trace_id = environ.get("HTTP_TRACEID")  # werkzeug's request.headers["TraceId"]
        if trace_id is not None:
            headers.add("TraceId", trace_id)
        return response

    def _invoke_run(self, request, *, timeout_ms: int):
        """azmlinfsrv's UserScript.invoke_run (user_script.py, 1.5.1), except that the request's
        headers are copied into a dict only for a run() that takes `request_headers`: azmlinfsrv
        copies them for every request (~5 us of CPU: werkzeug walks the whole environ) and hands
        them to its wrapper of any other run(), which drops them."""
        script = self.blueprint.user_script
        run = script._wrapped_user_run
        return timed_run(self.user_script, run, script.input_parser(request), timeout_ms,
                         request if run is script._user_run else None)

    def _invoke(self, request, request_id, client_request_id):
        """routes.handle_score, with g.request_id / g.client_request_id passed in."""
        BadInput, JsonStringInput, UnsupportedInput = (self.input_parsers.BadInput, self.input_parsers.JsonStringInput,
                                                      self.input_parsers.UnsupportedInput)
        UserScriptException, UserScriptTimeout = self.user_script.UserScriptException, self.user_script.UserScriptTimeout

        routes, bp = self.routes, self.blueprint
        try:
            timed = self.invoke_run(request, timeout_ms=self.timeout_ms)
            # routes.log_successful_request
            model_input = (next(iter(timed.input.values())) if isinstance(bp.user_script.input_parser, JsonStringInput)
                           else timed.input)
            bp.appinsights_client.send_model_data_log(request_id, client_request_id, model_input, timed.output)
        except BadInput as ex:
            return routes.ErrorResponse(400, ex.args[0])
        except UnsupportedInput as ex:
            return routes.ErrorResponse(415, ex.args[0])
        except UserScriptTimeout as ex:
            bp.send_exception_to_app_insights(request_id, client_request_id)
            logger.error("Encountered Exception: {0}".format(traceback.format_exc()))
            return routes.ErrorResponse(500, f"Scoring timeout after {ex.timeout_ms} ms", run_function_failed=True)
        except UserScriptException:
            bp.send_exception_to_app_insights(request_id, client_request_id)
            logger.error("Encountered Exception: {0}".format(traceback.format_exc()))
            return routes.ErrorResponse(500, "An unexpected error occurred in scoring script. Check the logs for more info.",
                                        run_function_failed=True)
        response = timed.output
        if isinstance(response, self.Response):
            logger.info("run() output is HTTP Response")
            if response.status_code >= 500:
                if "x-ms-run-function-failed" in response.headers:
                    response.headers["x-ms-run-function-failed"] = True
                else:
                    response.headers.add("x-ms-run-function-failed", True)
        elif self.plain:
            response = PlainAnswer(response)
        else:
            response = routes.wrap_response(response)
        response.headers.add("x-ms-run-fn-exec-ms", f"{timed.elapsed_ms:.3f}")
        batch = getattr(timed, "batch", None)  # scoring_batcher.py: scored together with others
        if batch:
            response.headers.add("x-mldeploy-batch", str(batch))
        return response


_ID_HEADERS = ("HTTP_X_REQUEST_ID", "HTTP_X_MS_REQUEST_ID", "HTTP_X_MS_CLIENT_REQUEST_ID")


def _ids_within_limit(environ, routes) -> bool:
    """Whether azmlinfsrv would accept the request-id headers (else its 431 comes from Flask)."""
    return all(len(environ.get(name, "")) <= routes.HEADER_LIMIT for name in _ID_HEADERS)


def _request_ids(environ) -> tuple[str, str, str]:
    """routes._init_headers: (request id, legacy client request id, client request id); werkzeug's
    request.headers.get(name) is environ["HTTP_" + the name upper-cased, "-" as "_"]."""
    request_id = environ.get("HTTP_X_REQUEST_ID")
    if request_id is None:
        request_id = str(uuid.uuid4())
    legacy = environ.get("HTTP_X_MS_REQUEST_ID", "")
    client = environ.get("HTTP_X_MS_CLIENT_REQUEST_ID", "")
    if legacy:
        logger.warning("x-ms-request-id header has been deprecated and will be removed from future versions of "
                       "the server. Please use x-ms-client-request-id.")
        if not client:
            client = legacy
    else:
        legacy = client or request_id
    return request_id, legacy, client


class PlainHeaders(list):
    """A PlainAnswer's headers: (name, value) pairs as werkzeug's Headers.to_wsgi_list() gives
    them, with the two of its methods the fast path uses. Each name the fast path sets is new to
    these headers (see PlainAnswer), so `headers[name] = value` appends as `add` does."""

    __slots__ = ()

    def add(self, name: str, value) -> None:
        self.append((name, _header_value(value)))

    def __setitem__(self, key, value) -> None:
        if isinstance(key, str):
            self.append((key, _header_value(value)))
        else:
            super().__setitem__(key, value)


class PlainAnswer:
    """run()'s plain (JSON-able) value answered as azmlinfsrv answers it - routes.wrap_response,
    AMLResponse(value, 200, json_str=True): the body json.dumps(value) ("{}" for None) as UTF-8,
    Content-Type application/json, Content-Length, x-ms-run-function-failed False, in werkzeug's
    order - but without werkzeug's Response and Headers objects (the app's CPU a request 0.72-0.78x
    of what it was with them, in-process; docs/performance.md)."""

    __slots__ = ("body", "headers")
    status_code = 200
    is_streamed = False

    def __init__(self, value):
        self.body = json.dumps(value if value is not None else {}).encode()
        self.headers = PlainHeaders((("Content-Type", "application/json"), ("Content-Length", str(len(self.body))),
                                     ("x-ms-run-function-failed", "False")))


def _header_value(value) -> str:
    """werkzeug's _str_header_value: a header value as str; a line break in it is refused."""
    if not isinstance(value, str):
        value = str(value)
    if "\n" in value or "\r" in value:
        raise ValueError("Header values must not contain newline characters.")
    return value


class StreamedBody:
    """A streamed answer, sent by granian chunk by chunk after the call returned: the worker's
    turn is held until granian closes it (also when the client went away), and each chunk must
    come within the gateway's limit, as nginx's proxy_read_timeout counts it."""

    def __init__(self, body, app: ScoringApp, token: object):
        self._body, self._next = body, iter(body).__next__
        self._app, self._token, self._closed = app, token, False

    def __iter__(self):
        return self

    def __next__(self):
        self._app._expect(self._token)
        return self._next()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if hasattr(self._body, "close"):
                self._body.close()
        finally:
            self._app.done(self._token)


def _drain(environ) -> None:
    stream = environ.get("wsgi.input")
    if stream is not None:
        try:
            while stream.read(1 << 20):
                pass
        except Exception:  # noqa: BLE001 - a body that cannot be read further has nothing to drain
            pass


def _exit_while_starting(signum, frame) -> None:
    os._exit(128 + signum)


def _die_with_host() -> None:
    """SIGTERM this worker when the host process dies, however it dies (Linux prctl): a host
    killed with SIGKILL left its workers serving its socket for minutes (gunicorn's workers
    notice a dead arbiter within seconds)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    host = os.environ.get(HOST_PID_ENV)
    if host and os.getppid() != int(host):  # the host died before the call: no signal will come
        os._exit(128 + signal.SIGTERM)


def _batching_config():
    if not os.environ.get("MLDEPLOY_BATCH_MAX_SIZE"):
        return None
    import scoring_batcher  # next to this file (the host's folder, sys.path[0]), only in batching images

    return scoring_batcher.BatchingConfig.from_environ()


def _batched_runs(flask_app, batching):
    """The batcher of this worker, once the contract held on the sampleRequest; otherwise the
    scorer refuses to serve: one line, exit code 3 (azmlinfsrv's for a failed start)."""
    import scoring_batcher

    runs = scoring_batcher.BatchedRuns(flask_app.azml_blueprint.user_script, batching, logger, timed_run)
    try:
        with open(batching.sample, encoding="utf-8") as sample:
            problem = runs.check_sample(sample.read())
    except (OSError, TypeError) as err:
        problem = f"cannot read the sampleRequest {batching.sample}: {err}"
    if problem:
        print(f"error: batching: {problem}", file=sys.stderr, flush=True)
        report_to_host("boot", 3)
        sys.exit(3)
    return runs


def create():
    """One worker's app: azmlinfsrv's Flask app (its start: logging, App Insights, the entry
    script, init(), swagger) wrapped by the fast path. Objects alive after the start are frozen out
    of the garbage collector's scans (gc.freeze): a full collection no longer walks the model on
    some request, a latency spike at one connection."""
    # Until granian installs its own handlers (once this returns), a SIGTERM or SIGINT would reach
    # the handler inherited from the host's process, and the worker would serve on unstopped while
    # the host waits for it (granian 2.8.7; found when a scorer was stopped during init()). There
    # is nothing to drain yet: stop at once.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_while_starting)
    _die_with_host()
    retirement = Retirement()
    batching = _batching_config()
    turn = OneAtATime(retirement, slots=batching.max_batch_size if batching else 1)
    watchdog = Watchdog(
        on_stuck=lambda thread_id: retirement.retire(
            f"run() did not stop at its scoring timeout (blocked outside Python, or it caught the TimeoutError, "
            f"for more than {STUCK_GRACE_S:g} s)", exit_after_s=STUCK_EXIT_DELAY_S),
        on_overdue=lambda: retirement.retire("a request is about to reach the gateway's timeout"))
    install_thread_timeout(watchdog)
    try:
        from azureml_inference_server_http.server.entry import app as flask_app
    except SystemExit as exc:  # azmlinfsrv's start failed (exit code 3): the host stops serving
        report_to_host("boot", exc.code if isinstance(exc.code, int) else 1)
        raise

    gateway_ms = os.environ.get(GATEWAY_TIMEOUT_ENV)
    scoring_app = ScoringApp(flask_app, watchdog, turn, retirement,
                             gateway_timeout_s=int(gateway_ms) / 1000 if gateway_ms else None,
                             batched_runs=_batched_runs(flask_app, batching) if batching else None,
                             # granian keeps connections only behind the gateway (scorer_host.py keeps_connections)
                             waiting=WaitingConnections.of_host() if gateway_ms else None)
    gc.collect()
    gc.freeze()
    return scoring_app


if __name__ == "__main__":  # pragma: no cover - a module for the host, not a program
    sys.exit("run scorer_host.py, which serves this app")
