"""A WSGI app (scoring_app.py's) served through granian's ASGI interface, so that header bytes
reach run() as PEP 3333 and azmlinfsrv (gunicorn) hand them over: every byte of a value kept,
decoded as latin-1; and the answer's header strings leave as their latin-1 bytes (an
x-request-id with such bytes comes back unchanged). Standard library only: the scorer host
(scorer_host.py) loads it next to scoring_app.py, where mldeploy is not installed.

Why not granian's WSGI interface: granian 2.8.7 builds each environ header value with
`HeaderValue::to_str().unwrap_or_default()` (src/wsgi/callbacks.rs), which is "" for any byte
outside visible ASCII, and encodes response header strings as UTF-8 (src/conversion.rs
`headers_from_py`); upstream keeps it so (emmett-framework/granian#335, wontfix), and its RSGI
headers do the same. Its ASGI interface hands the header bytes over as received
(src/asgi/utils.rs) and sends the bytes it is given (src/asgi/io.rs).

Why not a2wsgi's WSGIMiddleware (the usual adapter): it waits for the event loop at every
message - the answer's start, each chunk and its end, three round trips between threads for a
plain answer - and reads os.environ["SCRIPT_NAME"] into every request. Here the app runs on a
thread of this module's pool (the watchdog of scoring_app.py interrupts run() there, as on
granian's WSGI threads), and a request with a body of known length up to BODY_READ_AHEAD never
touches the event loop: granian's hand-over thread gives it to the bridge (`WsgiOnAsgi.take`,
hooked in by scorer_host.py), its body is read from granian and the request handed to the app's
thread, which sends the answer through granian's own `send` (a plain answer in one go). Others
(a chunked body, a larger one) go through the loop (`__call__`); a streamed answer goes chunk by
chunk through the loop, each sent as it is produced.

What the app sees is what granian's WSGI interface gave it (the same keys; the environ starts
from nothing but the request, never os.environ), except: header values are every byte as
latin-1 (were "" outside visible ASCII), REMOTE_PORT is set (gunicorn sets it), HTTP/1.0 is
"HTTP/1.0" (granian's scope says "1": was "HTTP/1") and repeated Cookie headers are joined with
"; " (RFC 9113 8.2.3). Two rules of gunicorn's, which serves azmlinfsrv (gunicorn 27,
http/message.py `_apply_header_policy`, its defaults): a header whose name holds "_" is dropped
(`header_map = "drop"`: `X_Request_Id` would otherwise read as x-request-id), and from a trusted
peer (FORWARDED_ALLOW_IPS, default 127.0.0.1 and ::1, or a Unix socket - where mldeploy's gateway
is) the first of X-Forwarded-Proto: https, X-Forwarded-Protocol: ssl, X-Forwarded-Ssl: on (or
the same header with another value) sets wsgi.url_scheme (`secure_scheme_headers`): behind the
gateway with TLS, run()'s request.url and request.is_secure say https, as with azmlinfsrv. What
gunicorn refuses there, among what granian lets through, gets gunicorn's HTML answer (`Refused`): a
repeated Host or Content-Type (400), contradicting scheme headers (400), an Expect other than
100-continue (417).
"""
from __future__ import annotations

import asyncio
import collections
import html
import io
import ipaddress
import logging
import os
import re
import sys
import threading
from urllib.parse import unquote_to_bytes

logger = logging.getLogger("azmlinfsrv")

# What granian's ASGI `send` accepts (the http crate's HeaderName/HeaderValue::from_bytes): a
# header it refuses fails the whole answer, so such a header is left out, as granian's WSGI
# interface left it out.
_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
BODY_READ_AHEAD = 1 << 20
LOOP_WAIT_S = 0.05  # Handover: at most this long is the event loop blocked waiting for an answer
# gunicorn's secure_scheme_headers (names as the environ spells them) and forwarded_allow_ips.
SECURE_SCHEME_HEADERS = {"HTTP_X_FORWARDED_PROTOCOL": "ssl", "HTTP_X_FORWARDED_PROTO": "https",
                         "HTTP_X_FORWARDED_SSL": "on"}
FORWARDED_ALLOW_IPS_ENV = "FORWARDED_ALLOW_IPS"
FORWARDED_ALLOW_IPS = "127.0.0.1,::1"
_HTTP_VERSIONS = {"1": "1.0"}  # granian's ASGI scope for HTTP/1.0
_INTERNAL_ERROR = (500, [(b"content-type", b"application/json")],
                   b'{"message": "An unexpected internal error occurred. Check the logs for more info."}')


SINGLETON_HEADERS = ("HTTP_HOST", "CONTENT_TYPE")  # gunicorn's RFC9110_5_3_SINGLETON_FIELDS


class Refused(Exception):
    """A request gunicorn answers itself (workers/base.py handle_error), with its status and
    message, before the app sees it."""

    def __init__(self, status: int, reason: str, message: str):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message

    def answer(self) -> tuple[int, list, bytes]:
        """gunicorn's util.write_error: the HTML page, as text/html."""
        page = (f"<html>\n  <head>\n    <title>{self.reason}</title>\n  </head>\n  <body>\n"
                f"    <h1><p>{self.reason}</p></h1>\n    {html.escape(self.message)}\n  </body>\n</html>\n").encode("latin-1")
        return self.status, [(b"content-type", b"text/html"), (b"content-length", str(len(page)).encode())], page


def trusted_peers(allowed: str):
    """gunicorn's forwarded_allow_ips as a test of a peer's address: "*" trusts all, else the
    listed addresses and networks; a Unix socket's peer (granian: an empty address) is always
    trusted, as gunicorn trusts a peer that is not an (address, port) pair."""
    names = [a.strip() for a in allowed.split(",") if a.strip()]
    networks = []
    for name in names:
        try:
            networks.append(ipaddress.ip_network(name, strict=False))
        except ValueError:
            pass

    def trusted(address: str) -> bool:
        if not address or "*" in names:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)
    return trusted


class WsgiOnAsgi:
    """The ASGI callable granian calls per request; `threads`: how many requests the app may
    hold at once (one, or a batch's worth), each on a thread of its own."""

    def __init__(self, app, threads: int = 1, dispatched=None):
        self.app = app
        self._pool = DaemonThreads(threads)
        # The event loop waits, blocked, up to LOOP_WAIT_S for the app's answer (see Handover) when
        # the request is the only one this worker holds (always, with one request per worker: two
        # threads, its own and the spare). A worker that holds several (batching) waits blocked
        # only for a lone request: with others live the loop must hand each to the app as it
        # comes, or no batch could form. A request arriving during a lone request's blocked wait is
        # handed over once that answer is in (as an unbatched worker would not even have taken it).
        self._always_wait = threads <= 2
        self._live = 0  # requests of this worker between their start and their answer (on the loop's thread)
        # `dispatched(environ)`, on the loop's thread just before a request goes to the app's
        # thread (scoring_app.ScoringApp.dispatched: the batcher counts requests on their way).
        self._dispatched = dispatched
        # The keys granian's WSGI interface sets for every request (granian/wsgi.py), without
        # its copy of os.environ.
        self._fixed = {"GATEWAY_INTERFACE": "CGI/1.1", "SCRIPT_NAME": "", "SERVER_SOFTWARE": "Granian",
                       "wsgi.errors": sys.stderr, "wsgi.input_terminated": True, "wsgi.multiprocess": False,
                       "wsgi.multithread": True, "wsgi.run_once": False, "wsgi.version": (1, 0)}
        self._trusted = trusted_peers(os.environ.get(FORWARDED_ALLOW_IPS_ENV, FORWARDED_ALLOW_IPS))

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":  # granian runs this with websockets off and without lifespan
            return
        self._live += 1  # from its start until its answer is sent: another request meanwhile finds it live
        try:
            loop = asyncio.get_running_loop()
            # The body's first MiB is read here, on the loop (granian hands a body over in parts, and
            # even a small one takes two receives): the rest, if any, when the app reads it.
            # A body of a known length is complete once that much has come: no receive() more (each
            # costs a hand-over between granian's threads and the loop).
            length = _content_length(scope["headers"])
            data, more = b"", True
            while more and len(data) < BODY_READ_AHEAD:
                message = await receive()
                data += message.get("body", b"")
                more = (message.get("type") == "http.request" and bool(message.get("more_body"))
                        and (length is None or len(data) < length))
            handover = Handover(loop)
            body = RequestBody(data, receive, loop, handover.free_the_loop) if more else io.BytesIO(data)
            try:
                environ = self.environ(scope, body)
            except Refused as refused:
                status, headers, data = refused.answer()
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": data})
                return
            if self._dispatched is not None:
                self._dispatched(environ)
            self._pool.call(handover, self._call, environ, receive, send, loop, handover, _sends_from_any_thread(send))
            outcome = handover.wait(LOOP_WAIT_S if self._always_wait or self._live == 1 else 0.0)
            result, error = await outcome if isinstance(outcome, asyncio.Future) else outcome
            if error is not None:
                raise error
            if result is not None:
                status, headers, data = result
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": data})
        finally:
            self._live -= 1


    def take(self, watcher, loop) -> bool:
        """On granian's hand-over thread (it holds Python's lock), instead of scheduling the
        request's coroutine on the event loop (scorer_host.py `requests_past_the_loop`): a request
        with a body of known length up to BODY_READ_AHEAD goes to the app's thread without the loop
        - its body read from granian (`receive()`, which granian completes on this same thread),
        the app's answer sent through granian's `send` from the app's thread, granian told it is
        done there (`watcher.done()`, or `watcher.err()`: granian's own 500 and log line, as for a
        coroutine that raised). False: the loop's path (`__call__`), for everything else."""
        scope = watcher.scope
        if scope["type"] != "http":
            return False
        length = _content_length(scope["headers"])
        if length is None or length > BODY_READ_AHEAD:
            return False
        proto = watcher.proto
        try:
            environ = self.environ(scope, None)
        except Refused:
            return False  # answered on the loop's path
        arrival = Arrival(self, environ, length, proto, watcher, loop)
        if length == 0:
            arrival.dispatch(b"", False)
        else:
            awaitable = proto.receive()  # granian's runtime reads the body meanwhile
            awaitable.add_done_callback(arrival)  # called on this thread: see Arrival
        return True

    @staticmethod
    def past_the_loop(loop) -> bool:
        """See the module's `past_the_loop`."""
        return past_the_loop(loop)

    def _direct(self, environ, first: bytes, more: bool, proto, loop):
        """On the app's thread: the answer of a request `take` took, sent from here."""
        environ["wsgi.input"] = RequestBody(first, proto.receive, loop) if more else io.BytesIO(first)
        return self._call(environ, proto.receive, proto.send, loop, _LOOP_FREE, direct=True)

    def environ(self, scope, body) -> dict:
        server, client = scope.get("server") or ("", 0), scope.get("client") or ("", 0)
        environ = {
            **self._fixed,
            "REQUEST_METHOD": scope["method"],
            "PATH_INFO": unquote_to_bytes(scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
            "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
            "SERVER_PROTOCOL": f"HTTP/{_HTTP_VERSIONS.get(scope.get('http_version'), scope.get('http_version', '1.1'))}",
            "SERVER_NAME": str(server[0]), "SERVER_PORT": str(server[1]),
            "REMOTE_ADDR": str(client[0]), "REMOTE_PORT": str(client[1]),
            "wsgi.url_scheme": scope.get("scheme", "http"),
            "wsgi.input": body,
        }
        schemes = SECURE_SCHEME_HEADERS if self._trusted(client[0]) else {}
        scheme = None
        for raw_name, raw_value in scope["headers"]:
            if b"_" in raw_name:
                continue
            name, value = raw_name.decode("latin-1").upper().replace("-", "_"), raw_value.decode("latin-1")
            if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                name = f"HTTP_{name}"
            if name in schemes:
                verdict = "https" if value == schemes[name] else "http"
                if scheme is not None and verdict != scheme:
                    raise Refused(400, "Bad Request", "Contradictory scheme headers")
                scheme = verdict
            if name == "HTTP_EXPECT" and value.lower() != "100-continue":
                raise Refused(417, "Expectation Failed", f"Unable to comply with expectation: '{value}'")
            if name in environ:
                if name in SINGLETON_HEADERS:
                    raise Refused(400, "Bad Request", f"Invalid HTTP Header: '{raw_name.decode('latin-1').upper()}'")
                value = environ[name] + ("; " if name == "HTTP_COOKIE" else ",") + value
            environ[name] = value
        if scheme is not None:
            environ["wsgi.url_scheme"] = scheme
        return environ

    def _call(self, environ, receive, send, loop, handover: Handover, direct: bool = False):
        """On a pool thread: the app's answer as (status, headers, body), or None once it has
        been sent from here (`direct`: granian's send, see _sends_from_any_thread) or, streamed,
        chunk by chunk."""
        started = Started()
        try:
            body = self.app(environ, started)
        except Exception:  # noqa: BLE001 - granian's WSGI interface answered an empty 500
            logger.exception("the scoring app failed")
            answer = _INTERNAL_ERROR
        else:
            if not isinstance(body, list):  # scoring_app.py answers all but streams as a list
                handover.free_the_loop()  # a streamed answer goes to the loop chunk by chunk
                try:
                    self._stream(body, started, receive, send, loop)
                finally:
                    if hasattr(body, "close"):
                        body.close()
                return None
            try:
                answer = started.status, started.headers, b"".join(body)
            finally:
                if hasattr(body, "close"):
                    body.close()
        if not direct:
            return answer
        status, headers, data = answer
        send({"type": "http.response.start", "status": status, "headers": headers})
        send({"type": "http.response.body", "body": data})
        return None

    @staticmethod
    def _stream(body, started: Started, receive, send, loop) -> None:
        """Each chunk sent as the app produces it (the answer's start with the first, PEP 3333),
        waiting for granian to take it: a slow client slows the stream down, not memory. A
        client that goes away ends the stream (the body is closed), as on granian's WSGI
        interface: granian's receive() says `http.disconnect` once the body is read and the
        connection is gone (or the answer is complete)."""

        def sent(message) -> None:
            asyncio.run_coroutine_threadsafe(_send(send, message), loop).result()

        gone = threading.Event()
        watch = asyncio.run_coroutine_threadsafe(_until_disconnect(receive, gone), loop)
        try:
            head = False
            for chunk in body:
                if gone.is_set():
                    return
                if not chunk:
                    continue
                if not head:
                    sent({"type": "http.response.start", "status": started.status, "headers": started.headers})
                    head = True
                sent({"type": "http.response.body", "body": bytes(chunk), "more_body": True})
            if not head:
                sent({"type": "http.response.start", "status": started.status, "headers": started.headers})
            sent({"type": "http.response.body", "body": b""})
        finally:
            watch.cancel()


async def _until_disconnect(receive, gone: threading.Event) -> None:
    message = await receive()
    while message.get("type") == "http.request" and message.get("more_body"):  # what is left of the body
        message = await receive()
    if message.get("type") == "http.request":  # its end: the next receive() waits for the disconnect
        message = await receive()
    if message.get("type") == "http.disconnect":
        gone.set()


def _sends_from_any_thread(send) -> bool:
    """Whether `send` is granian's own (ASGIHTTPProtocol.send, Rust): it does its work when
    called - a whole answer's start is kept, its body handed to granian's runtime through a
    channel (granian 2.8.7 src/asgi/io.rs) - and returns an awaitable with nothing left to wait
    for, so the app's thread can send a plain answer itself: the answer leaves without waking the
    event loop first. Any other ASGI server's send is awaited on the loop."""
    return type(getattr(send, "__self__", None)).__name__ == "ASGIHTTPProtocol"


def _content_length(headers) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _send(send, message) -> None:
    await send(message)


async def _receive(receive):
    return await receive()


class Started:
    """WSGI's start_response: the status as a number, the headers as bytes."""

    __slots__ = ("status", "headers")

    def __init__(self):
        self.status, self.headers = 500, []

    def __call__(self, status: str, headers, exc_info=None):
        code = status.split(" ", 1)[0]
        self.status = int(code) if code.isdigit() and 100 <= int(code) <= 999 else 500
        self.headers = header_bytes(headers)


def header_bytes(headers) -> list[tuple[bytes, bytes]]:
    """PEP 3333: header strings are latin-1. A value outside latin-1 (no WSGI server sends one)
    goes as UTF-8, as granian's WSGI interface sent every value; a name or value HTTP cannot
    carry is left out."""
    out = []
    for name, value in headers:
        value = str(value)
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError:
            raw = value.encode("utf-8")
        raw_name = name.encode("latin-1", errors="replace")
        if _NAME.fullmatch(raw_name) and _VALUE.fullmatch(raw):
            out.append((raw_name, raw))
    return out


class RequestBody(io.RawIOBase):
    """wsgi.input for a body that arrives in several parts: read on the app's thread, each
    further part fetched from granian on the event loop. A client that goes away ends it."""

    def __init__(self, first: bytes, receive, loop, free_the_loop=lambda: None):
        super().__init__()
        self._buffer, self._receive, self._loop, self._more = bytearray(first), receive, loop, True
        self._free_the_loop = free_the_loop

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        if not self._more:
            return False
        self._free_the_loop()
        message = asyncio.run_coroutine_threadsafe(_receive(self._receive), self._loop).result()
        self._more = message.get("type") == "http.request" and bool(message.get("more_body"))
        self._buffer += message.get("body", b"")
        return True

    def read(self, size: int = -1) -> bytes:
        while (size is None or size < 0 or len(self._buffer) < size) and self._fill():
            pass
        size = len(self._buffer) if size is None or size < 0 else min(size, len(self._buffer))
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def readinto(self, target) -> int:
        data = self.read(len(target))
        target[:len(data)] = data
        return len(data)

    def readline(self, size: int = -1) -> bytes:
        while b"\n" not in self._buffer and (size is None or size < 0 or len(self._buffer) < size) and self._fill():
            pass
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        if size is not None and size >= 0:
            end = min(end, size)
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        return data


class DaemonThreads:
    """The threads the app runs on, in the worker (after the fork), each started only when a
    request finds none of the started ones free, up to `count`: a worker holds as many threads as
    it has had requests at once, not its limit (a batching worker's limit is maxBatchSize + 1, 33
    threads at its first request; measured at one connection, load 4-7: the app's threads cost
    704-714 us a request with threads started on demand, against the unbatched worker's 631-724,
    and more with all 33). A job goes to the thread that became free last (a stack, LIFO): the
    same thread serves request after request at low load, as one thread would. A shared queue
    woke its threads in turn instead - traced 2026-12-05, the forest at one connection after a
    64-connection round: all 33 threads of the batching worker ran one request in 33 each, its
    CPU a request 4-8 % above the unbatched worker's two threads (every request on a thread whose
    stack, caches and malloc arena had gone cold). Not concurrent.futures' ThreadPoolExecutor
    (nor the loop's run_in_executor): it joins its threads when the interpreter exits, so a
    worker retired around a run() that never returns would never exit; these are daemon threads,
    as granian's own WSGI threads are outside Python's reach. A result goes to the loop through a
    Handover. A thread survives whatever is raised in it (the watchdog's TimeoutError may land
    just after run())."""

    def __init__(self, count: int):
        self._count = count
        self._lock = threading.Lock()
        self._started = 0
        self._idle: list[_PoolThread] = []  # free threads, the one freed last at the end
        self._backlog: collections.deque = collections.deque()  # jobs that found every thread busy, at the limit

    def call(self, handover: Handover, fn, *args) -> None:
        """fn(*args) on one of the threads; its result (or exception) given to `handover`."""
        job = (handover, fn, args)
        with self._lock:
            if self._idle:
                thread = self._idle.pop()
                thread.job, thread.free = job, False
                thread.wake.release()
                return
            if self._started >= self._count:
                self._backlog.append(job)
                return
            index, self._started = self._started, self._started + 1
        thread = _PoolThread(job)
        threading.Thread(target=self._work, args=(thread,), name=f"mldeploy-wsgi-{index}", daemon=True).start()

    def _work(self, me: _PoolThread) -> None:
        while True:
            try:
                job, me.job = me.job, None
                if job is None:  # only after an exception between jobs
                    with self._lock:
                        if not me.free:
                            me.free = True
                            self._idle.append(me)
                    me.wake.acquire()
                    continue
                handover, fn, args = job
                try:
                    result, error = fn(*args), None
                except BaseException as exc:  # noqa: BLE001 - handed to the request's coroutine
                    result, error = None, exc
                # Free (or given the next waiting job) before the answer is handed over: the
                # request that follows this answer finds this thread on top of the stack.
                with self._lock:
                    following = self._backlog.popleft() if self._backlog else None
                    if following is None:
                        me.free = True
                        self._idle.append(me)
                    else:
                        me.job = following
                handover.settle(result, error)
                if following is None:
                    me.wake.acquire()  # released by call(), which set me.job
            except BaseException:  # noqa: BLE001 - an asynchronous exception between jobs
                continue


class _PoolThread:
    """A DaemonThreads thread: its next job, and the lock it waits on while it is free."""

    __slots__ = ("job", "free", "wake")

    def __init__(self, job):
        self.job, self.free, self.wake = job, False, threading.Lock()
        self.wake.acquire()


class Arrival:
    """A request's body from granian, then the request to the app's thread (`WsgiOnAsgi.take`).
    Called with the body's awaitable once granian has read it: through the event loop's
    `call_soon_threadsafe` (or `call_soon`, when it was read already), which `past_the_loop`
    makes call it at once, on the calling thread (granian's hand-over thread): the loop is not
    woken for it."""

    __slots__ = ("_bridge", "_environ", "_length", "_proto", "_watcher", "_loop")

    def __init__(self, bridge: WsgiOnAsgi, environ: dict, length: int, proto, watcher, loop):
        self._bridge, self._environ, self._length = bridge, environ, length
        self._proto, self._watcher, self._loop = proto, watcher, loop

    def __call__(self, awaitable) -> None:
        try:
            message = awaitable.result()
        except BaseException:  # noqa: BLE001 - a body granian could not read: as an empty one
            message = {"type": "http.disconnect"}
        try:
            data = message.get("body", b"")
            more = message.get("type") == "http.request" and bool(message.get("more_body")) and len(data) < self._length
            self.dispatch(data, more)
        except BaseException as exc:  # noqa: BLE001 - granian's own 500 and log line
            self._watcher.err(exc)

    def dispatch(self, data: bytes, more: bool) -> None:
        bridge = self._bridge
        if bridge._dispatched is not None:
            bridge._dispatched(self._environ)
        bridge._pool.call(Finished(self._watcher), bridge._direct, self._environ, data, more, self._proto, self._loop)


def past_the_loop(loop) -> bool:
    """Lets `Arrival`s be called at once, on the thread that completes a body's awaitable,
    instead of through the event loop (granian calls the loop's `call_soon_threadsafe`, or
    `call_soon` when the awaitable was complete already, with each done-callback): every other
    callback goes to the loop as before. False when the loop's methods cannot be replaced (not
    asyncio's own loop)."""
    threadsafe, soon = loop.call_soon_threadsafe, loop.call_soon

    def call_soon_threadsafe(callback, *args, context=None):
        if callback.__class__ is Arrival:
            return callback(*args)
        return threadsafe(callback, *args, context=context)

    def call_soon(callback, *args, context=None):
        if callback.__class__ is Arrival:
            return callback(*args)
        return soon(callback, *args, context=context)

    try:
        loop.call_soon_threadsafe, loop.call_soon = call_soon_threadsafe, call_soon
    except (AttributeError, TypeError):
        return False
    return True


class Finished:
    """What the app's thread tells granian once a request `take` took is over: `done()` (its
    answer was sent; granian's 500 if none was), or `err()` with what was raised (granian logs it
    and answers its 500, as for an ASGI coroutine that raised)."""

    __slots__ = ("_watcher",)

    def __init__(self, watcher):
        self._watcher = watcher

    @staticmethod
    def free_the_loop() -> None:
        """The loop is not waiting for this request: nothing to free."""

    def settle(self, result, error) -> None:
        if error is not None:
            self._watcher.err(error)
        else:
            self._watcher.done()


_LOOP_FREE = Finished(None)


class Handover:
    """A request's answer from the app's thread to the event loop. The loop waits for it,
    blocked, up to `wait(seconds)` (an answer of a few milliseconds, the usual one, then costs two
    thread wake-ups and nothing of asyncio's); after that - or as soon as the app's thread needs
    the loop itself (`free_the_loop`: a streamed answer, a body read beyond the first MiB) - the
    answer comes through an asyncio future, as every one did before (measured on a quiet-ish
    machine in docs/performance.md: the future's hand-back, call_soon_threadsafe, wakes the loop
    through its self-pipe and makes the two threads queue for the GIL)."""

    __slots__ = ("_loop", "_lock", "_ready", "_waiting", "_outcome", "_future")

    def __init__(self, loop):
        self._loop, self._lock, self._ready = loop, threading.Lock(), threading.Lock()
        self._ready.acquire()  # released once, for the waiting loop: the outcome is there or it may go
        self._waiting, self._outcome = True, None
        self._future = loop.create_future()

    def wait(self, seconds: float):
        """On the loop's thread: (result, error), or the future that will hold them."""
        if seconds > 0:
            self._ready.acquire(timeout=seconds)
        with self._lock:
            self._waiting = False
            return self._outcome if self._outcome is not None else self._future

    def free_the_loop(self) -> None:
        """On the app's thread, before it needs the loop: the loop stops waiting."""
        with self._lock:
            if self._waiting:
                self._waiting = False
                self._ready.release()

    def settle(self, result, error) -> None:
        with self._lock:
            if self._waiting:
                self._outcome, self._waiting = (result, error), False
                self._ready.release()
                return
        self._loop.call_soon_threadsafe(_settle, self._future, (result, error))


def _settle(future: asyncio.Future, outcome) -> None:
    if not future.cancelled():
        future.set_result(outcome)
