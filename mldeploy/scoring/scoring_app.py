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
cProfile, 634 vs 916 us; issue 14, README "Performance"). Everything else is answered by the Flask app itself: `/`,
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
executes Python code; a run() blocked outside Python (a sleep, a socket wait, a long native call)
for STUCK_GRACE_S more is left behind and the next request runs on the server's second thread
(OneAtATime); only when that one is stuck as well does the worker exit, and the host starts a
new one. The next request reaches the worker once the stuck one's client has gone: a worker
holds one connection at a time (scorer_host.py), and granian lets go of a connection whose client
closed it - the gateway does at its timeout, before the scorer's limit (plan/timeouts.py).
"""
from __future__ import annotations

import contextlib
import ctypes
import datetime
import gc
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
WATCHDOG_POLL_S = 0.05
STUCK_EXIT_CODE = 70  # EX_SOFTWARE
BOOT_FAILURE_FD_ENV = "MLDEPLOY_BOOT_FAILURE_FD"  # set by scorer_host.py

logger = logging.getLogger("azmlinfsrv")


class Watchdog:
    """Stops a run() that outlives its timeout on a non-main thread (see the module docstring).
    `on_stuck(thread id)`: called for a run() still blocked STUCK_GRACE_S after its TimeoutError
    was fired; True when a spare thread takes over, else the worker exits."""

    def __init__(self, poll_s: float = WATCHDOG_POLL_S, stuck_grace_s: float = STUCK_GRACE_S, exit=os._exit,
                 on_stuck=lambda thread_id: False):
        self._lock = threading.Lock()
        self._entries: dict[int, list] = {}  # thread id -> [deadline, fired at, handed over]
        self._poll_s, self._stuck_grace_s, self._exit, self.on_stuck = poll_s, stuck_grace_s, exit, on_stuck
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

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._watch, name="mldeploy-scoring-timeout", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while True:
            time.sleep(self._poll_s)
            self.check(time.monotonic())

    def check(self, now: float) -> None:
        stuck = []
        with self._lock:
            for thread_id, entry in self._entries.items():
                if entry[1] is None:
                    if now >= entry[0]:
                        entry[1] = now
                        _async_raise(thread_id, TimeoutError)
                elif not entry[2] and now >= entry[1] + self._stuck_grace_s:
                    entry[2] = True
                    stuck.append(thread_id)
        for thread_id in stuck:
            if self.on_stuck(thread_id):
                logger.error(f"run() did not stop at its scoring timeout (blocked outside Python for more than "
                             f"{self._stuck_grace_s:g} s): the next request runs on another thread meanwhile")
                continue
            logger.error(f"run() did not stop at its scoring timeout (blocked outside Python for more than "
                         f"{self._stuck_grace_s:g} s) and no other thread is free: this worker exits and a "
                         "new one starts")
            logging.shutdown()
            self._exit(STUCK_EXIT_CODE)


class OneAtATime:
    """One request at a time per worker process, as in a gunicorn sync worker. The server calls
    the app on two threads; the second waits here for its turn, and takes over when the watchdog
    gives up on a run() blocked outside Python (`hand_over`): the worker is free again shortly
    after the scoring timeout, as azmlinfsrv's is (its SIGALRM also interrupts a sleep or a socket
    wait), with no restart and no second init(). The stuck thread holds no turn any more and
    gives none back when its native call returns (its TimeoutError then answers a client the
    gateway has answered already); meanwhile that call may still run beside the next request."""

    def __init__(self):
        self._turn = threading.Lock()
        self._mutex = threading.Lock()
        self._handed_over: set[int] = set()

    def __enter__(self):
        self._turn.acquire()
        return self

    def __exit__(self, *exc) -> None:
        thread_id = threading.get_ident()
        with self._mutex:
            if thread_id in self._handed_over:
                self._handed_over.discard(thread_id)
            else:
                self._turn.release()

    def hand_over(self, thread_id: int) -> bool:
        """Give `thread_id`'s turn to the next request; False when no thread is left for it."""
        with self._mutex:
            if self._handed_over:  # the spare thread is stuck too
                return False
            self._handed_over.add(thread_id)
            self._turn.release()
            return True


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


class ScoringApp:
    """The WSGI callable: the fast path for `/score`, azmlinfsrv's Flask app for the rest."""

    def __init__(self, flask_app, watchdog: Watchdog, turn: OneAtATime):
        from azureml_inference_server_http.api import aml_request
        from azureml_inference_server_http.server import routes
        from azureml_inference_server_http.server.config import config

        self.flask_app = flask_app
        self.blueprint = flask_app.azml_blueprint
        self.routes = routes
        self.watchdog, self.turn = watchdog, turn
        self.timeout_ms = config.scoring_timeout
        # @rawhttp scripts and a server doing CORS itself: every request through Flask.
        self.fast = not aml_request._rawHttpRequested and not config.cors_origins
        import flask
        from werkzeug.exceptions import HTTPException

        self.Request, self.Response, self.HTTPException = flask.Request, flask.Response, HTTPException

    def __call__(self, environ, start_response):
        with self.turn:
            try:
                if (self.fast and environ.get("PATH_INFO") == SCORE_PATH and environ.get("REQUEST_METHOD") in
                        ("GET", "POST") and _ids_within_limit(environ, self.routes)):
                    body = self._score(environ, start_response)
                else:
                    body = self.flask_app(environ, start_response)
                # The body (maybe a generator of run()'s) is read while this request has the turn.
                try:
                    return [b"".join(body)]
                finally:
                    if hasattr(body, "close"):
                        body.close()
            finally:
                self.watchdog.clear()

    def _score(self, environ, start_response):
        routes, bp = self.routes, self.blueprint
        start_datetime = datetime.datetime.utcnow()  # what azmlinfsrv hands App Insights
        start = time.perf_counter()
        request = self.Request(environ)
        request_id, legacy_client_request_id, client_request_id = _request_ids(request.headers)
        try:
            response = self._invoke(request, request_id, client_request_id)
        except self.HTTPException as ex:  # routes.handle_http_exception
            response = routes.ErrorResponse(ex.code, ex.description)
        except Exception:  # routes.all_unhandled_exception
            logger.error("Encountered Exception: {0}".format(traceback.format_exc()))
            response = routes.ErrorResponse(500, "An unexpected internal error occurred. Check the logs for more info.")

        # routes._after_request (registered second, so Flask runs it first)
        duration_ms = (time.perf_counter() - start) * 1e3
        path = request.path
        if request.query_string:
            path += f"?{request.query_string.decode()}"
        length = "N/A" if response.is_streamed else response.calculate_content_length()
        logger.info(" ".join(map(str, (request.method, path, response.status_code,
                                       "{:0.3f}ms".format(round(duration_ms, 3)), length))))
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
        if "TraceId" in request.headers:
            headers.add("TraceId", request.headers["TraceId"])
        return response(environ, start_response)

    def _invoke(self, request, request_id, client_request_id):
        """routes.handle_score, with g.request_id / g.client_request_id passed in."""
        from azureml_inference_server_http.server.input_parsers import BadInput, JsonStringInput, UnsupportedInput
        from azureml_inference_server_http.server.user_script import UserScriptException, UserScriptTimeout

        routes, bp = self.routes, self.blueprint
        try:
            timed = bp.user_script.invoke_run(request, timeout_ms=self.timeout_ms)
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
        else:
            response = routes.wrap_response(response)
        response.headers.add("x-ms-run-fn-exec-ms", f"{timed.elapsed_ms:.3f}")
        return response


_ID_HEADERS = ("HTTP_X_REQUEST_ID", "HTTP_X_MS_REQUEST_ID", "HTTP_X_MS_CLIENT_REQUEST_ID")


def _ids_within_limit(environ, routes) -> bool:
    """Whether azmlinfsrv would accept the request-id headers (else its 431 comes from Flask)."""
    return all(len(environ.get(name, "")) <= routes.HEADER_LIMIT for name in _ID_HEADERS)


def _request_ids(headers) -> tuple[str, str, str]:
    """routes._init_headers: (request id, legacy client request id, client request id)."""
    request_id = headers.get("x-request-id", str(uuid.uuid4()))
    legacy = headers.get("x-ms-request-id", "")
    client = headers.get("x-ms-client-request-id", "")
    if legacy:
        logger.warning("x-ms-request-id header has been deprecated and will be removed from future versions of "
                       "the server. Please use x-ms-client-request-id.")
        if not client:
            client = legacy
    else:
        legacy = client or request_id
    return request_id, legacy, client


def _exit_while_starting(signum, frame) -> None:
    os._exit(128 + signum)


def report_boot_failure(code: int) -> None:
    """Tell the scorer host (scorer_host.py) that this worker could not start, and its code."""
    fd = os.environ.get(BOOT_FAILURE_FD_ENV)
    if fd:
        try:
            os.write(int(fd), str(code).encode())
        except (OSError, ValueError):
            pass


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
    turn = OneAtATime()
    watchdog = Watchdog(on_stuck=turn.hand_over)
    install_thread_timeout(watchdog)
    try:
        from azureml_inference_server_http.server.entry import app as flask_app
    except SystemExit as exc:  # azmlinfsrv's start failed (exit code 3): the host stops serving
        report_boot_failure(exc.code if isinstance(exc.code, int) else 1)
        raise

    scoring_app = ScoringApp(flask_app, watchdog, turn)
    gc.collect()
    gc.freeze()
    return scoring_app


if __name__ == "__main__":  # pragma: no cover - a module for the host, not a program
    sys.exit("run scorer_host.py, which serves this app")
