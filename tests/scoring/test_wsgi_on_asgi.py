"""wsgi_on_asgi.py: a WSGI app behind an ASGI server - the environ it gets, what it answers,
driven with ASGI messages as granian 2.8.7 sends them (its body in parts, the headers as bytes)."""
from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from mldeploy.scoring.wsgi_on_asgi import WsgiOnAsgi, header_bytes

HEADERS = [(b"host", b"x"), (b"x-request-id", b"id-\xc3\xa9"), (b"x-custom", b"caf\xe9"), (b"cookie", b"a=1"),
           (b"cookie", b"b=2"), (b"accept", b"a"), (b"accept", b"b"), (b"content-type", b"application/json"),
           (b"content-length", b"13")]


@pytest.fixture(autouse=True)
def _an_event_loop_for_the_next_tests():
    """asyncio.run() leaves the main thread with no event loop; Pulumi's mocks in later test
    files call asyncio.get_event_loop(), which then raises: give the thread a loop back."""
    yield
    asyncio.set_event_loop(asyncio.new_event_loop())


def scope(headers=HEADERS, path=b"/score", query=b"") -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": path.decode("utf-8", "replace"), "raw_path": path, "query_string": query, "root_path": "",
            "headers": headers, "server": ("127.0.0.1", "5001"), "client": ("127.0.0.2", "40000")}


def serve(app, scope, parts=(b'{"a": ', b"[1, 2]}", b"")) -> tuple[list[dict], int]:
    """One request: the body in `parts` (granian's last part is empty), the messages sent back
    and how many receive() calls the bridge made."""
    messages, received = [], []

    async def receive():
        received.append(1)
        index = len(received) - 1
        if index >= len(parts):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": parts[index], "more_body": index < len(parts) - 1}

    async def send(message):
        messages.append(message)

    asyncio.run(app(scope, receive, send))
    return messages, len(received)


def echo(seen: dict):
    def app(environ, start_response):
        seen.update(environ)
        seen["body"] = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/json"), ("x-request-id", environ["HTTP_X_REQUEST_ID"])])
        return [b"{}"]
    return app


def test_header_bytes_reach_the_app_as_latin1_and_come_back_as_the_same_bytes():
    seen = {}
    messages, _ = serve(WsgiOnAsgi(echo(seen)), scope())
    assert seen["HTTP_X_REQUEST_ID"].encode("latin-1") == b"id-\xc3\xa9", seen["HTTP_X_REQUEST_ID"]
    assert seen["HTTP_X_CUSTOM"] == "caf\xe9"
    start, body = messages
    assert start == {"type": "http.response.start", "status": 200,
                     "headers": [(b"Content-Type", b"application/json"), (b"x-request-id", b"id-\xc3\xa9")]}, start
    assert body == {"type": "http.response.body", "body": b"{}"}


def test_the_environ_holds_the_request_and_nothing_of_the_process(monkeypatch):
    monkeypatch.setenv("MY_SECRET_TOKEN", "s3cret")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy")
    seen = {}
    serve(WsgiOnAsgi(echo(seen)), scope(path=b"/a%20b%E9", query=b"x=%C3%A9"))
    assert not {"MY_SECRET_TOKEN", "HTTP_PROXY", "PATH", "HOME"} & set(seen), sorted(seen)
    assert "s3cret" not in repr(seen) and os.environ["MY_SECRET_TOKEN"] == "s3cret"
    assert (seen["REQUEST_METHOD"], seen["PATH_INFO"], seen["QUERY_STRING"]) == ("POST", "/a b\xe9", "x=%C3%A9")
    assert (seen["CONTENT_TYPE"], seen["CONTENT_LENGTH"]) == ("application/json", "13")
    assert "HTTP_CONTENT_TYPE" not in seen and "HTTP_CONTENT_LENGTH" not in seen
    assert (seen["HTTP_COOKIE"], seen["HTTP_ACCEPT"], seen["HTTP_HOST"]) == ("a=1; b=2", "a,b", "x")
    assert (seen["SERVER_NAME"], seen["SERVER_PORT"], seen["REMOTE_ADDR"], seen["SERVER_PROTOCOL"]) == \
        ("127.0.0.1", "5001", "127.0.0.2", "HTTP/1.1")
    assert seen["body"] == b'{"a": [1, 2]}'


def environ_of(headers, client=("127.0.0.1", "40000"), http_version="1.1") -> dict:
    seen = {}
    serve(WsgiOnAsgi(echo(seen)), {**scope(headers=[(b"x-request-id", b"r"), *headers]), "client": client,
                                   "http_version": http_version})
    return seen


def test_a_header_name_with_an_underscore_is_dropped_as_gunicorn_drops_it():
    """gunicorn's header_map "drop" (azmlinfsrv's server): `x_request_id` is no x-request-id and
    `Model_Name` no Model-Name header for run(); before, both reached the app."""
    seen = environ_of([(b"x_request_id", b"u"), (b"model_name", b"gpt"), (b"model-name", b"opt")])
    assert (seen["HTTP_X_REQUEST_ID"], seen["HTTP_MODEL_NAME"]) == ("r", "opt"), seen


@pytest.mark.parametrize("client, headers, scheme", [
    (("127.0.0.1", "40000"), [(b"x-forwarded-proto", b"https")], "https"),  # the gateway, TLS on
    (("::1", "40000"), [(b"x-forwarded-ssl", b"on")], "https"),
    (("", "0"), [(b"x-forwarded-protocol", b"ssl")], "https"),  # a Unix socket (the local target)
    (("127.0.0.1", "40000"), [(b"x-forwarded-proto", b"https"), (b"x-forwarded-ssl", b"on")], "https"),  # agreeing
    (("10.0.0.7", "40000"), [(b"x-forwarded-proto", b"https")], "http"),  # not a trusted peer
    (("127.0.0.1", "40000"), [(b"x-forwarded-proto", b"HTTPS")], "http"),  # gunicorn compares exactly
])
def test_a_trusted_peers_scheme_header_sets_the_url_scheme_as_gunicorn_does(client, headers, scheme):
    assert environ_of(headers, client)["wsgi.url_scheme"] == scheme


def test_the_peers_gunicorn_trusts_follow_forwarded_allow_ips(monkeypatch):
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/8")
    assert environ_of([(b"x-forwarded-proto", b"https")], ("10.0.0.7", "1"))["wsgi.url_scheme"] == "https"
    assert environ_of([(b"x-forwarded-proto", b"https")], ("127.0.0.1", "1"))["wsgi.url_scheme"] == "http"


@pytest.mark.parametrize("headers, status, message", [
    ([(b"host", b"b")], 400, "Invalid HTTP Header: &#x27;HOST&#x27;"),  # scope()'s own host is the first
    ([(b"Content-Type", b"text/plain")], 400, "Invalid HTTP Header: &#x27;CONTENT-TYPE&#x27;"),
    ([(b"x-forwarded-proto", b"https"), (b"x-forwarded-ssl", b"off")], 400, "Contradictory scheme headers"),
    ([(b"expect", b"something")], 417, "Unable to comply with expectation: &#x27;something&#x27;"),
])
def test_what_gunicorn_refuses_gets_its_html_answer_and_never_reaches_the_app(headers, status, message):
    """Measured on azmlinfsrv (gunicorn 27): these come back as gunicorn's own HTML page; granian
    passed them to the app (a 200 with Host 'x,b', Content-Type 'application/json,text/plain')."""
    seen = {}
    request = {**scope(headers=[*HEADERS, *headers]), "client": ("127.0.0.1", "40000")}
    messages, _ = serve(WsgiOnAsgi(echo(seen)), request)
    start, body = messages
    assert not seen and start["status"] == status, (start, seen)
    assert (b"content-type", b"text/html") in start["headers"] and message.encode() in body["body"], body


def test_expect_100_continue_in_any_case_reaches_the_app():
    assert environ_of([(b"expect", b"100-Continue")])["HTTP_EXPECT"] == "100-Continue"


def test_http_1_0_is_http_1_0():
    """granian's ASGI scope says "1" for HTTP/1.0 (measured); gunicorn's environ says HTTP/1.0."""
    assert environ_of([], http_version="1")["SERVER_PROTOCOL"] == "HTTP/1.0"


def test_a_body_of_known_length_is_read_without_waiting_for_its_empty_last_part():
    seen = {}
    headers = [h for h in HEADERS if h[0] != b"content-length"]
    body = b'{"a": [1, 2]}'
    _, receives = serve(WsgiOnAsgi(echo(seen)), scope(headers + [(b"content-length", str(len(body)).encode())]))
    assert seen["body"] == body and receives == 2, (seen["body"], receives)
    _, receives = serve(WsgiOnAsgi(echo(seen)), scope(headers))  # chunked: until granian says it ended
    assert seen["body"] == body and receives == 3, (seen["body"], receives)


def test_a_large_body_is_read_by_the_app_part_by_part(monkeypatch):
    import mldeploy.scoring.wsgi_on_asgi as bridge

    monkeypatch.setattr(bridge, "BODY_READ_AHEAD", 4)
    lines = []

    def app(environ, start_response):
        stream = environ["wsgi.input"]
        lines.extend([stream.readline(), stream.read(3), stream.read()])
        start_response("200 OK", [])
        return [b""]

    headers = [h for h in HEADERS if h[0] != b"content-length"]
    _, receives = serve(WsgiOnAsgi(app), scope(headers), parts=(b"ab\ncd", b"ef", b"gh", b""))
    assert lines == [b"ab\n", b"cde", b"fgh"] and receives == 4, (lines, receives)


def test_a_streamed_answer_is_sent_chunk_by_chunk_as_it_is_produced():
    events = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])

        def chunks():
            for index in range(3):
                events.append(f"made {index}")
                yield f"{index}".encode()
                yield b""  # an empty chunk is not sent
        return chunks()

    messages = []

    async def main():
        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            events.append(f"sent {message['type']} {message.get('body', b'')!r}")
            messages.append(message)

        await WsgiOnAsgi(app)(scope(HEADERS[:1]), receive, send)

    asyncio.run(main())
    assert events == ["made 0", "sent http.response.start b''", "sent http.response.body b'0'", "made 1",
                      "sent http.response.body b'1'", "made 2", "sent http.response.body b'2'",
                      "sent http.response.body b''"], events
    assert [m.get("more_body", False) for m in messages] == [False, True, True, True, False]


def test_the_app_runs_on_a_thread_of_its_own_and_a_failure_is_a_json_500():
    threads = []

    def app(environ, start_response):
        threads.append(threading.current_thread())
        raise RuntimeError("boom")

    messages, _ = serve(WsgiOnAsgi(app), scope())
    assert threads[0] is not threading.main_thread() and threads[0].daemon, threads
    assert messages[0]["status"] == 500 and b"Check the logs" in messages[1]["body"], messages


@pytest.mark.parametrize("threads", [2, 33])
def test_two_requests_at_once_each_get_a_thread(threads):
    """With batching a worker holds several requests at once: each runs on its own thread, the
    second handed over while the first still runs."""
    both = threading.Barrier(2, timeout=30)  # broken (a 500) if the second never runs beside the first

    def app(environ, start_response):
        both.wait()
        start_response("200 OK", [])
        return [b"ok"]

    bridge = WsgiOnAsgi(app, threads=threads)

    async def main():
        async def one():
            sent = []

            async def receive():
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message):
                sent.append(message)
            await bridge(scope(HEADERS[:1]), receive, send)
            return sent[1]["body"]
        return await asyncio.gather(one(), one())

    assert asyncio.run(main()) == [b"ok", b"ok"]


def test_answer_headers_leave_as_latin1_bytes_and_what_http_cannot_carry_is_left_out():
    assert header_bytes([("X-Id", "id-\xc3\xa9"), ("X-Wide", "\u20ac"), ("X-Num", 3), ("Bad Name", "v"),
                         ("X-Split", "a\r\nInjected: 1"), ("X-Tab", "a\tb")]) == \
        [(b"X-Id", b"id-\xc3\xa9"), (b"X-Wide", "\u20ac".encode()), (b"X-Num", b"3"), (b"X-Tab", b"a\tb")]


def test_a_stream_ends_when_its_client_goes_away():
    """granian's receive() says http.disconnect once the client is gone: the app's generator
    is closed instead of running on for nobody."""
    made, closed = [], []

    def app(environ, start_response):
        start_response("200 OK", [])

        def chunks():
            try:
                for index in range(1000):
                    made.append(index)
                    yield b"x"
                    if index == 2:
                        client_gone.set()
                        time.sleep(0.2)  # the loop notices the disconnect meanwhile
            finally:
                closed.append(True)
        return chunks()

    client_gone = threading.Event()

    calls = []

    async def main():
        async def receive():
            calls.append(1)
            if len(calls) == 1:  # the (empty) body
                return {"type": "http.request", "body": b"", "more_body": False}
            while not client_gone.is_set():
                await asyncio.sleep(0.01)
            return {"type": "http.disconnect"}

        async def send(message):
            pass

        await WsgiOnAsgi(app)(scope(HEADERS[:1]), receive, send)

    asyncio.run(main())
    assert closed == [True] and len(made) < 1000, (len(made), closed)


def test_a_quick_answer_reaches_the_waiting_loop_without_an_asyncio_hand_back(monkeypatch):
    """One request per worker: the loop waits (blocked, briefly) for the app's thread instead of
    being woken through call_soon_threadsafe - the dearer hand-back (docs/performance.md)."""
    import mldeploy.scoring.wsgi_on_asgi as bridge

    handed_back = []
    real = bridge._settle
    monkeypatch.setattr(bridge, "_settle", lambda *args: (handed_back.append(args), real(*args)))
    seen = {}
    messages, _ = serve(WsgiOnAsgi(echo(seen)), scope())
    assert messages[0]["status"] == 200 and seen["body"] == b'{"a": [1, 2]}', messages
    assert handed_back == [], handed_back


def test_a_batching_workers_lone_request_is_waited_for_without_an_asyncio_hand_back(monkeypatch):
    """A worker that may hold a batch's worth of requests (33 threads) waits blocked for the
    answer of a request that is alone in it, as a one-request worker does: at one connection the
    batching worker's path costs what the unbatched one does (it used the asyncio hand-back
    always: 0.98x at one connection on a quiet machine, 0.33-0.72x on a loaded one)."""
    import mldeploy.scoring.wsgi_on_asgi as bridge

    handed_back = []
    real = bridge._settle
    monkeypatch.setattr(bridge, "_settle", lambda *args: (handed_back.append(args), real(*args)))
    seen = {}
    messages, _ = serve(WsgiOnAsgi(echo(seen), threads=33), scope())
    assert messages[0]["status"] == 200 and seen["body"] == b'{"a": [1, 2]}', messages
    assert handed_back == [], handed_back


def test_each_request_is_told_to_the_batcher_before_the_app_gets_it():
    told = []

    def app(environ, start_response):
        start_response("200 OK", [])
        return [b"told" if told == [environ] else b"not told"]

    messages, _ = serve(WsgiOnAsgi(app, threads=33, dispatched=told.append), scope())
    assert messages[1]["body"] == b"told", messages


def test_the_loop_is_free_while_a_longer_answer_runs():
    """The loop waits for the app's thread only a moment (LOOP_WAIT_S): a run() that takes
    longer leaves it free for what else the worker holds (a spare request, a signal, granian's
    own callbacks) - here the loop itself must run for the app to finish."""
    loop_ran = threading.Event()

    def app(environ, start_response):
        start_response("200 OK", [])
        return [b"ran" if loop_ran.wait(30) else b"the loop stayed blocked"]

    async def main():
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        async def meanwhile():
            await asyncio.sleep(0)
            loop_ran.set()

        other = asyncio.ensure_future(meanwhile())
        await WsgiOnAsgi(app)(scope(HEADERS[:1]), receive, send)
        await other
        return sent[1]["body"]

    assert asyncio.run(main()) == b"ran"


def test_an_app_failure_on_the_waited_path_is_the_same_json_500():
    def app(environ, start_response):
        raise ValueError("boom")

    messages, _ = serve(WsgiOnAsgi(app), scope())
    assert messages[0]["status"] == 500 and b"unexpected internal error" in messages[1]["body"], messages


class Settled:
    """A stand-in Handover for DaemonThreads' tests: set once the job's result is handed over."""

    def __init__(self):
        self.done = threading.Event()

    def settle(self, result, error):
        self.done.set()


def test_the_apps_threads_start_only_as_requests_need_them():
    """A batching worker may hold maxBatchSize + 1 threads, but starts one only when a request
    finds none of its started ones free: at one connection it runs on one thread, as an
    unbatched worker does (all 33 started at the first request cost the app's threads ~10 % more
    CPU a request at one connection, measured)."""
    from mldeploy.scoring.wsgi_on_asgi import DaemonThreads

    pool = DaemonThreads(33)

    for _ in range(20):  # one at a time: one thread
        handover = Settled()
        pool.call(handover, lambda: None)
        assert handover.done.wait(30)
        time.sleep(0.001)  # the thread is back in the pool before the next call
    assert pool._started == 1, pool._started

    gate = threading.Barrier(5, timeout=30)  # five at once: five threads, each job on its own
    handovers = [Settled() for _ in range(5)]
    for handover in handovers:
        pool.call(handover, gate.wait)
    assert all(h.done.wait(30) for h in handovers)
    assert pool._started == 5, pool._started


def test_one_request_at_a_time_runs_on_one_thread_after_many_were_started():
    """Once a batching worker has started its threads (a busy round: 33), one request at a time
    (one connection) runs on the thread freed last, always the same one - not on each started
    thread in turn, as a shared queue handed them out (traced: the forest at one connection
    after a 64-connection round ran on all 33 threads, its CPU a request 4-8 % above the
    unbatched worker's)."""
    from mldeploy.scoring.wsgi_on_asgi import DaemonThreads

    pool = DaemonThreads(33)

    gate = threading.Barrier(8, timeout=30)  # a busy moment: eight threads started
    handovers = [Settled() for _ in range(8)]
    for handover in handovers:
        pool.call(handover, gate.wait)
    assert all(h.done.wait(30) for h in handovers)
    assert pool._started == 8, pool._started

    ran_on = []
    for _ in range(40):  # then one at a time, each once the previous answer is in (no sleep between)
        handover = Settled()
        pool.call(handover, lambda: ran_on.append(threading.get_ident()))
        assert handover.done.wait(30)
    assert len(set(ran_on)) == 1, f"one at a time ran on {len(set(ran_on))} threads"
    assert pool._started == 8


def test_the_pool_never_starts_more_threads_than_its_limit():
    from mldeploy.scoring.wsgi_on_asgi import DaemonThreads

    pool = DaemonThreads(2)
    release = threading.Event()

    handovers = [Settled() for _ in range(4)]
    for handover in handovers:
        pool.call(handover, release.wait)
    assert pool._started == 2
    release.set()
    assert all(h.done.wait(30) for h in handovers), "the queued jobs run on the two threads once they are free"


class ASGIHTTPProtocol:
    """Stands in for granian's protocol object (by its class name, as the bridge tells it):
    its send does its work when called and returns an awaitable with nothing to wait for."""

    def __init__(self):
        self.messages, self.threads = [], []

    def send(self, message):
        self.messages.append(message)
        self.threads.append(threading.get_ident())
        return _Done()


class _Done:
    def __await__(self):
        return iter(())


def test_a_plain_answer_leaves_from_the_apps_thread_through_granians_send():
    """granian's send needs no event loop: the app's thread sends a plain answer itself, so it
    leaves without first waking the loop (docs/performance.md: 1 connection)."""
    proto, seen = ASGIHTTPProtocol(), {}
    loop_thread = threading.get_ident()

    async def receive():
        return {"type": "http.request", "body": b'{"a": [1, 2]}', "more_body": False}

    asyncio.run(WsgiOnAsgi(echo(seen))(scope(), receive, proto.send))
    assert [m["type"] for m in proto.messages] == ["http.response.start", "http.response.body"], proto.messages
    assert proto.messages[0]["headers"][1] == (b"x-request-id", b"id-\xc3\xa9") and proto.messages[1]["body"] == b"{}"
    assert loop_thread not in proto.threads and len(set(proto.threads)) == 1, proto.threads


def test_a_failing_app_through_granians_send_is_the_same_json_500():
    proto = ASGIHTTPProtocol()

    def app(environ, start_response):
        raise ValueError("boom")

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    asyncio.run(WsgiOnAsgi(app)(scope(HEADERS[:1]), receive, proto.send))
    assert proto.messages[0]["status"] == 500 and b"unexpected internal error" in proto.messages[1]["body"]


class GranianAwaitable:
    """granian's awaitable of a receive() (PyFutureAwaitable, src/callbacks.rs): a done-callback
    added before the result goes through the loop's call_soon_threadsafe when the result comes
    (from granian's thread), one added after it through the loop's call_soon."""

    def __init__(self, loop):
        self._loop, self._result, self._callback = loop, None, None

    def add_done_callback(self, callback, context=None):
        if self._result is None:
            self._callback = callback
        else:
            self._loop.call_soon(callback, self, context=context)

    def set_result(self, message):
        self._result = message
        if self._callback is not None:
            self._loop.call_soon_threadsafe(self._callback, self, context=None)

    def result(self):
        return self._result


class Watcher:
    """granian's CallbackWatcherHTTP: the request's scope and protocol; done()/err() end it."""

    def __init__(self, scope, proto):
        self.scope, self.proto, self.ended = scope, proto, threading.Event()
        self.outcome = None

    def done(self):
        self.outcome = "done"
        self.ended.set()

    def err(self, exc):
        self.outcome = exc
        self.ended.set()


class ReceivingProtocol(ASGIHTTPProtocol):
    def __init__(self, loop, parts, complete_at_once=False):
        super().__init__()
        self.loop, self.parts, self.complete_at_once, self.awaitables = loop, list(parts), complete_at_once, []

    def receive(self):
        awaitable = GranianAwaitable(self.loop)
        self.awaitables.append(awaitable)
        if self.complete_at_once:
            awaitable.set_result(self.parts.pop(0))
        return awaitable


@pytest.mark.parametrize("complete_at_once", [False, True])
def test_a_request_goes_from_granians_thread_to_the_apps_without_the_event_loop(complete_at_once):
    """granian's hand-over thread offers each request to the bridge (scorer_host.py
    requests_past_the_loop): its body read from granian, the request run on the app's thread and
    its answer sent from there - the event loop never runs (here it is not even running)."""
    loop, seen = asyncio.new_event_loop(), {}
    try:
        bridge = WsgiOnAsgi(echo(seen))
        assert bridge.past_the_loop(loop)
        proto = ReceivingProtocol(loop, [{"type": "http.request", "body": b'{"a": [1, 2]}', "more_body": False}],
                                  complete_at_once)
        watcher = Watcher(scope(), proto)
        assert bridge.take(watcher, loop) is True
        if not complete_at_once:  # granian completes the body's awaitable from its thread
            threading.Thread(target=proto.awaitables[0].set_result, args=(proto.parts.pop(0),)).start()
        assert watcher.ended.wait(10) and watcher.outcome == "done", watcher.outcome
        assert seen["body"] == b'{"a": [1, 2]}' and seen["HTTP_X_REQUEST_ID"] == "id-\u00c3\u00a9"
        assert "PATH" not in seen and seen["wsgi.input"].read() == b""
        assert [m["type"] for m in proto.messages] == ["http.response.start", "http.response.body"]
        assert proto.messages[0]["headers"][1] == (b"x-request-id", b"id-\xc3\xa9")
        assert len(loop._ready) == 0  # nothing was left for the loop to do
    finally:
        loop.close()


def test_a_request_without_a_body_length_and_other_callbacks_stay_on_the_loop():
    loop = asyncio.new_event_loop()
    try:
        bridge = WsgiOnAsgi(echo({}))
        bridge.past_the_loop(loop)
        chunked = [h for h in HEADERS if h[0] != b"content-length"]
        assert bridge.take(Watcher(scope(chunked), ReceivingProtocol(loop, [])), loop) is False
        ran = []
        loop.call_soon_threadsafe(ran.append, 1)
        loop.call_soon(ran.append, 2)
        assert ran == []
        loop.run_until_complete(asyncio.sleep(0))
        assert ran == [1, 2]
    finally:
        loop.close()


def test_a_failing_app_past_the_loop_is_the_same_json_500_and_what_escapes_goes_to_granian():
    loop = asyncio.new_event_loop()
    try:
        def app(environ, start_response):
            raise ValueError("boom")

        bridge = WsgiOnAsgi(app)
        bridge.past_the_loop(loop)
        proto = ReceivingProtocol(loop, [{"type": "http.request", "body": b'{"a": [1, 2]}', "more_body": False}], True)
        watcher = Watcher(scope(), proto)
        bridge.take(watcher, loop)
        assert watcher.ended.wait(10) and watcher.outcome == "done"
        assert proto.messages[0]["status"] == 500 and b"unexpected internal error" in proto.messages[1]["body"]

        def escapes(environ, start_response):
            raise KeyboardInterrupt  # not an Exception: the bridge does not answer it itself

        bridge = WsgiOnAsgi(escapes)
        proto = ReceivingProtocol(loop, [{"type": "http.request", "body": b"{}", "more_body": False}], True)
        watcher = Watcher(scope(), proto)
        bridge.take(watcher, loop)
        assert watcher.ended.wait(10) and isinstance(watcher.outcome, KeyboardInterrupt), watcher.outcome
    finally:
        loop.close()
