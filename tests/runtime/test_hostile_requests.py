"""Hostile requests against the served gateway + scorer (the diabetes example, auth on, a 1 MB
body limit): every one gets a JSON 4xx (or 503) - never a 500, never HTML - and the service keeps
answering the sample afterwards. Raw sockets for what an HTTP library would refuse to send."""
from __future__ import annotations

import json
import socket

import pytest
import requests

pytestmark = pytest.mark.slow
SAMPLE = {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]}

# (id, raw request with {host} and {auth} placeholders, expected status or None for "any 4xx")
RAW = [
    ("garbage-request-line", b"GARBAGE\r\n\r\n", 400),
    ("trace", b"TRACE / HTTP/1.1\r\nHost: {host}\r\n\r\n", 405),
    ("trace-score", b"TRACE /score HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n", 405),
    ("lowercase-method", b"get / HTTP/1.1\r\nHost: {host}\r\n\r\n", 400),
    ("http-version-9", b"GET /score HTTP/9.9\r\nHost: {host}\r\n\r\n", 505),
    ("no-host", b"GET /score HTTP/1.1\r\n\r\n", 400),
    ("bad-header-line", b"GET / HTTP/1.1\r\nHost: {host}\r\nNoColonHere\r\n\r\n", None),
    ("space-in-header-name", b"GET / HTTP/1.1\r\nHost: {host}\r\nBad Header: x\r\n\r\n", 400),
    ("huge-uri", b"GET /score?" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: {host}\r\n\r\n", 414),
    ("huge-header", b"GET / HTTP/1.1\r\nHost: {host}\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n", 400),
    ("bad-content-length", b"POST /score HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Length: abc\r\n\r\n", 400),
    ("two-content-lengths", b"POST /score HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    ("bad-chunk", b"POST /score HTTP/1.1\r\nHost: {host}\r\n{auth}Transfer-Encoding: chunked\r\n\r\nZZ\r\nxx\r\n0\r\n\r\n", 400),
    ("null-in-path", b"GET /sco\x00re HTTP/1.1\r\nHost: {host}\r\n\r\n", 400),
    ("bad-percent-escape", b"GET /%zz/../score HTTP/1.1\r\nHost: {host}\r\n\r\n", 400),
    ("dotdot-above-root", b"GET /../../etc/passwd HTTP/1.1\r\nHost: {host}\r\n\r\n", 400),
    ("unknown-path", b"GET /admin HTTP/1.1\r\nHost: {host}\r\n\r\n", 404),
    ("no-key", b"POST /score HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2\r\n\r\n{{}}", 401),
    ("put-score", b"PUT /score HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Length: 0\r\n\r\n", 405),
    ("delete-score", b"DELETE /score HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n", 405),
    ("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", None),
]

# (id, body bytes, content type): POSTed to /score with a valid key.
BODIES = [
    ("huge-integer", b'{"data": [[' + b"9" * 5000 + b", 1, 2, 3, 4, 5, 6, 7, 8, 9]]}", "application/json"),
    ("deep-array", b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json"),
    ("deep-object", b'{"data": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"}", "application/json"),
    ("not-utf8", b'{"data": "\xff\xfe"}', "application/json"),
    ("truncated", b'{"data": [[1, 2', "application/json"),
    ("empty", b"", "application/json"),
    ("empty-object", b"{}", "application/json"),
    ("null", b"null", "application/json"),
    ("list", b"[1, 2]", "application/json"),
    ("data-null", b'{"data": null}', "application/json"),
    ("data-string", b'{"data": "x"}', "application/json"),
    ("data-nan", b'{"data": [[NaN, 1, 2, 3, 4, 5, 6, 7, 8, 9]]}', "application/json"),
    ("data-wrong-width", b'{"data": [[1, 2]]}', "application/json"),
    ("text-plain", b"hello", "text/plain"),
    ("over-the-body-limit", b'{"data": "' + b"x" * (2 * 1024 * 1024) + b'"}', "application/json"),
]


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def _assert_json_error(what: str, status: int, headers: dict[str, str], body: bytes, expected: int | None) -> None:
    assert 400 <= status < 500 or status in (503, 505), f"{what}: status {status}, expected a 4xx: {body[:300]!r}"
    if expected is not None:
        assert status == expected, f"{what}: status {status}, expected {expected}: {body[:300]!r}"
    assert headers.get("content-type", "").startswith("application/json"), \
        f"{what}: {status} with content-type {headers.get('content-type')!r}: {body[:300]!r}"
    doc = json.loads(body)
    assert isinstance(doc, dict) and (doc.get("error") or doc.get("message")), f"{what}: no error text: {doc}"


def _still_answers(server) -> None:
    ep = server.endpoint()
    r = requests.post(ep.scoringUri, json=SAMPLE, headers=_auth(ep.primaryKey), timeout=30)
    assert r.status_code == 200, f"the service stopped answering: {r.status_code} {r.text[:300]}"


@pytest.mark.parametrize("name,request_bytes,expected", RAW, ids=[r[0] for r in RAW])
def test_malformed_http_gets_a_json_4xx(diabetes_server, name, request_bytes, expected):
    ep = diabetes_server.endpoint()
    auth = f"Authorization: Bearer {ep.primaryKey}\r\n".encode()
    request = request_bytes.replace(b"{host}", f"127.0.0.1:{diabetes_server.port}".encode()) \
        .replace(b"{auth}", auth).replace(b"{{}}", b"{}")
    status, headers, body = _raw(diabetes_server.port, request)
    _assert_json_error(name, status, headers, body, expected)
    if status == 405:
        assert "POST" in headers.get("allow", ""), f"{name}: a 405 must say what is allowed: {headers}"
    _still_answers(diabetes_server)


@pytest.mark.parametrize("name,body,content_type", BODIES, ids=[b[0] for b in BODIES])
def test_hostile_body_gets_a_json_4xx(diabetes_server, name, body, content_type):
    ep = diabetes_server.endpoint()
    r = requests.post(ep.scoringUri, data=body, timeout=60,
                      headers={**_auth(ep.primaryKey), "Content-Type": content_type})
    _assert_json_error(name, r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content, None)
    _still_answers(diabetes_server)


def test_swagger_requires_data(diabetes_server):
    ep = diabetes_server.endpoint()
    spec = requests.get(ep.swaggerUri, timeout=10).json()
    body = spec["paths"]["/score"]["post"]["parameters"][0]["schema"] if "parameters" in spec["paths"]["/score"]["post"] \
        else spec["paths"]["/score"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema = body
    if "$ref" in schema:
        schema = spec["definitions"][schema["$ref"].rsplit("/", 1)[1]]
    assert "data" in schema.get("required", []), f"the served swagger must mark `data` required: {schema}"
