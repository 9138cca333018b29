"""The scorer behind the gateway under faults (issue 24): a run() stuck past the gateway's
timeout costs no other request, a scorer that answers without reading a large body is not a
502, and stopping a local service finishes the requests in flight - for both scoring servers
where the fault is not specific to one.

No timing is asserted: each request carries a generous client timeout and the assertions are
about statuses, never durations."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from mldeploy.targets.local.settings import LocalServiceSettings
from tests.harness import keepalive_load_while
from tests.runtime.conftest import _script_context, _serve
from tests.scoring.test_scoring_server_contract import ENVIRON_SCRIPT, STREAM_SCRIPT  # the same run()s

pytestmark = pytest.mark.slow
TIMEOUT_MS = 1000
FAULT_SCRIPT = """\
import json
import time


def init():
    pass


def run(raw_data):
    data = json.loads(raw_data)
    if data.get("started"):
        open(data["started"], "w").close()
    if data.get("stuck"):
        time.sleep(30)  # outside Python: no TimeoutError can stop it
    time.sleep(data.get("sleep", 0))
    return {"ok": True}
"""
SCHEMA_SCRIPT = """\
import numpy as np
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.schema_decorators import input_schema


def init():
    pass


@input_schema("data", NumpyParameterType(np.array([[1.0, 2.0]])))
def run(data):
    return data.sum(axis=1).tolist()
"""


def _server(scoring_env, tmp_path_factory, name: str, script: str, *, workers: int, server: str = "mldeploy",
            timeout_ms: int = TIMEOUT_MS):
    context = _script_context(tmp_path_factory, name, script, scoring_server=server)
    service = LocalServiceSettings.model_validate({"target": "local", "image": name, "workerCount": workers,
                                                   "scoringTimeoutMs": timeout_ms, "maxRequestBodyMb": 20})
    return _serve(f"{name}-{server}", service, context, scoring_env, tmp_path_factory)


def _post(server, body: dict | None = None, timeout: float = 30.0, **kwargs) -> requests.Response:
    ep = server.endpoint()
    return requests.post(ep.scoringUri, json=body, timeout=timeout,
                         headers={"Authorization": f"Bearer {ep.primaryKey}", **kwargs.pop("headers", {})}, **kwargs)


@pytest.mark.parametrize("workers", [1, 2])
def test_requests_after_a_stuck_run_are_never_answered_by_its_timeout(scoring_env, tmp_path_factory, workers):
    """A run() stuck in a 30 s sleep gets the gateway's 504; every request sent after that
    answer is scored (200) - none waits behind the stuck run() until its own 504. Before: the
    stuck worker took the next connection as soon as the gateway let go of the stuck one, and
    that request waited for the hand-over to the spare thread, past its own timeout."""
    server = _server(scoring_env, tmp_path_factory, f"stuck{workers}", FAULT_SCRIPT, workers=workers)
    try:
        for _ in range(2):
            stuck = _post(server, {"stuck": True})
            assert stuck.status_code == 504, stuck.text
            statuses = [_post(server, {}).status_code for _ in range(20)]
            assert statuses == [200] * 20, f"requests after a stuck run(): {statuses}"
    finally:
        server.stop()


def test_normal_requests_beside_stuck_runs_all_score(scoring_env, tmp_path_factory):
    """Two workers; stuck run()s keep arriving while four clients score on: every normal
    request gets 200 (the stuck ones their 504)."""
    server = _server(scoring_env, tmp_path_factory, "beside", FAULT_SCRIPT, workers=2)
    stuck_statuses: list[int] = []
    statuses: list[int] = []
    stop = threading.Event()

    def stuck_client():
        while not stop.is_set():
            stuck_statuses.append(_post(server, {"stuck": True}).status_code)

    def normal_client():
        for _ in range(60):
            statuses.append(_post(server, {"sleep": 0.02}).status_code)

    stuck = threading.Thread(target=stuck_client)
    normal = [threading.Thread(target=normal_client) for _ in range(4)]
    try:
        stuck.start()
        for thread in normal:
            thread.start()
        for thread in normal:
            thread.join(300)
    finally:
        stop.set()
        stuck.join(60)
        server.stop()
    assert stuck_statuses and set(stuck_statuses) == {504}, stuck_statuses
    assert statuses == [200] * len(statuses), (
        f"normal requests beside stuck runs: {[s for s in statuses if s != 200]} among {len(statuses)}")


def test_an_answer_before_a_large_body_is_read_reaches_the_client(scoring_env, tmp_path_factory):
    """An inference-schema script answers a non-JSON body with azmlinfsrv's 415 before reading
    it: the scorer reads the rest first, so the gateway passes the 415 on instead of a 502
    (before: the scorer closed the connection on unread data, the kernel reset it). 20 tries
    with a 19 MB body (the service's limit is 20): without the read, 15 of 20 were 502s on
    granian's WSGI interface and 5 of 20 on its ASGI one (the bridge reads the first MiB)."""
    server = _server(scoring_env, tmp_path_factory, "unread", SCHEMA_SCRIPT, workers=1)
    try:
        body = b"x" * (19 * 1024 * 1024)
        statuses = [_post(server, data=body, headers={"Content-Type": "text/plain"}).status_code for _ in range(20)]
    finally:
        server.stop()
    assert statuses == [415] * 20, {status: statuses.count(status) for status in set(statuses)}


@pytest.mark.parametrize("scoring_server", ["mldeploy", "azmlinfsrv"])
def test_stopping_a_service_finishes_the_requests_in_flight(scoring_env, tmp_path_factory, scoring_server):
    """`serve`'s stop (LocalServer.stop) while a 2 s request runs: the request gets its 200 (the
    gateway stops taking connections and drains before the scorer stops). Before: nginx got
    SIGTERM (its fast stop) and the request no answer."""
    server = _server(scoring_env, tmp_path_factory, "drain", FAULT_SCRIPT, workers=1, server=scoring_server,
                     timeout_ms=10_000)
    outcome: dict = {}

    started = tmp_path_factory.mktemp("drain") / "started"

    def in_flight():
        try:
            outcome["status"] = _post(server, {"sleep": 2, "started": str(started)}).status_code
        except requests.RequestException as err:
            outcome["error"] = repr(err)

    thread = threading.Thread(target=in_flight)
    thread.start()
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.01)
    assert started.exists(), outcome
    server.stop()  # while run() sleeps
    thread.join(60)
    assert outcome == {"status": 200}, f"{scoring_server}: a request in flight while the service stopped: {outcome}"


HEADER_BYTES_SCRIPT = """\
import json
from azureml_inference_server_http.api.aml_request import rawhttp
from azureml_inference_server_http.api.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request):
    seen = {k: [ord(c) for c in v] for k, v in request.headers.items() if k.lower().startswith("x-")}
    return AMLResponse(json.dumps(seen), 200, {"Content-Type": "application/json"})
"""


@pytest.mark.parametrize("scorer", ["azmlinfsrv", "mldeploy"])
def test_header_bytes_outside_ascii_pass_the_gateway_to_run(scoring_env, tmp_path_factory, scorer):
    """The same raw request through the gateway (nginx passes header bytes as they came):
    run() gets the value decoded as latin-1 and the answer's x-request-id has the client's bytes."""
    import socket
    from urllib.parse import urlsplit

    server = _server(scoring_env, tmp_path_factory, "hdrbytes", HEADER_BYTES_SCRIPT, workers=1, server=scorer)
    ep = server.endpoint()
    url = urlsplit(ep.scoringUri)
    request = (f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {ep.primaryKey}\r\n".encode()
               + b"X-Request-Id: id-\xc3\xa9\r\nX-Custom: caf\xe9\r\nContent-Type: application/json\r\n"
               b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), answer[:300]
    seen = {k.lower(): bytes(v) for k, v in __import__("json").loads(body).items()}
    assert seen.get("x-custom") == b"caf\xe9" and seen.get("x-request-id") == b"id-\xc3\xa9", seen
    assert b"\r\nx-request-id: id-\xc3\xa9" in head.lower(), head


@pytest.mark.parametrize("scorer", ["azmlinfsrv", "mldeploy"])
def test_a_streamed_answer_passes_the_gateway_as_it_is_produced(scoring_env, tmp_path_factory, scorer):
    """An AMLResponse over a generator (4 chunks, 0.5 s apart, 2 s in all: longer than the 1 s
    scoring timeout; each chunk says when it was made) through the gateway: the first chunk
    reaches the client before the last one is made, and the whole stream arrives with a 200 -
    the gateway's limit is per chunk, as nginx's proxy_read_timeout counts it."""
    server = _server(scoring_env, tmp_path_factory, "stream", STREAM_SCRIPT, workers=1, server=scorer)
    try:
        with _post(server, {}, stream=True) as response:
            lines = response.iter_lines()
            first = next(lines)
            first_arrived = time.time()
            rest = list(lines)
    finally:
        server.stop()
    assert response.status_code == 200 and len(rest) == 3, (response.status_code, first, rest)
    last_made = float(rest[-1].split()[1])
    assert first_arrived < last_made, f"{scorer}: the first chunk passed the gateway only after the last one was made"


@pytest.mark.parametrize("scoring_server", ["mldeploy", "azmlinfsrv"])
def test_stopping_a_service_under_kept_alive_clients_closes_no_connection_under_a_request(
        scoring_env, tmp_path_factory, scoring_server):
    """`serve`'s stop (LocalServer.stop, what its SIGTERM does) under clients that keep their
    connections alive: the gateway drains first (answers say `Connection: close`), so no
    kept-alive connection is closed under a request the client was entitled to send. Before: one
    reset per connection (nginx's graceful stop closes idle kept-alive connections unread) -
    3 of 8 for mldeploy in the run on the old code; azmlinfsrv's slower answers left no
    connection idle in that run."""
    server = _server(scoring_env, tmp_path_factory, "keepalive", FAULT_SCRIPT, workers=2, server=scoring_server)
    ep = server.endpoint()
    port = int(ep.scoringUri.split(":")[2].split("/")[0])
    body = b'{"sleep": 0}'
    request = (b"POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s" % (ep.primaryKey.encode(), len(body), body))
    counts, _ = keepalive_load_while(server.stop, port, request, connections=8, stop_after_s=2.0)
    print(f"\n{scoring_server}: {counts}")
    assert counts["answers"] > 0 and counts["status 200"] == counts["answers"], counts
    assert counts["reused_errors"] == 0, f"{scoring_server}: kept-alive connections closed under a request: {counts}"
    # And no new connection is reset: serve refuses new connections before nginx closes its
    # listener (processes.refuse_new_connections), so none is left in its queue.
    assert counts["fresh_errors"] == 0, f"{scoring_server}: new connections reset at the stop: {counts}"


@pytest.mark.parametrize("scorer", ["azmlinfsrv", "mldeploy"])
def test_a_clients_proxy_header_never_reaches_run_as_http_proxy(scoring_env, tmp_path_factory, scorer):
    """httpoxy through the gateway: a client's `Proxy:` header would be `HTTP_PROXY` in run()'s
    WSGI environ (both servers follow CGI's naming), which HTTP libraries read as the proxy for
    outgoing requests. The gateway removes the header (no standard header has that name), so run()
    sees neither; the request's other headers still arrive. Before: HTTP_PROXY was the client's
    value on both servers (bench/scoring_faults.py --table, item 4)."""
    server = _server(scoring_env, tmp_path_factory, "httpoxy", ENVIRON_SCRIPT, workers=1, server=scorer)
    try:
        answers = [_post(server, {}, headers={"Proxy": "http://attacker.invalid:3128", "X-Probe": "1"}),
                   _post(server, {}, headers={"Proxy": "http://attacker.invalid:3128", "X-Probe": "1",
                                              "Transfer-Encoding": "chunked"}, data=iter([b"{", b"}"]))]
    finally:
        server.stop()
    for answer in answers:
        assert answer.status_code == 200, answer.text
        seen = answer.json()
        assert "attacker.invalid" not in answer.text, f"{scorer}: a client's Proxy header reached run(): {seen}"
        assert "HTTP_PROXY" not in seen["environ"] and "Proxy" not in seen["headers"], seen
        assert seen["headers"].get("X-Probe") == "1", "the request's other headers must still arrive"
