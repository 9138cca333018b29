"""End to end through the gateway on loopback: auth, limits, CORS, swagger, bad inputs, binary
data, a dead scorer coming back. One diabetes and one echo server for the whole module."""
from __future__ import annotations

import os
import signal
import time

import joblib
import numpy as np
import pytest
import requests

from tests.runtime.conftest import ORIGIN

pytestmark = pytest.mark.slow
SAMPLE = {"data": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]]}


def _auth(key):
    return {"Authorization": f"Bearer {key}"}


def test_no_key_or_wrong_key_is_401_with_json(diabetes_server):
    ep = diabetes_server.endpoint()
    for headers in ({}, _auth("x" * 32), _auth(ep.primaryKey.upper()), {"Authorization": ep.primaryKey}):
        r = requests.post(ep.scoringUri, json=SAMPLE, headers=headers)
        assert r.status_code == 401, f"{headers} must be refused, got {r.status_code}"
        assert "key" in r.json()["error"]


@pytest.mark.parametrize("prefix", ["bearer ", "BEARER ", "bEaReR   "])
def test_auth_scheme_is_case_insensitive_but_the_key_is_not(diabetes_server, prefix):
    # RFC 7235 §2.1: the auth-scheme is a case-insensitive token, followed by one or more spaces.
    ep = diabetes_server.endpoint()
    r = requests.post(ep.scoringUri, json=SAMPLE, headers={"Authorization": prefix + ep.primaryKey})
    assert r.status_code == 200, f"scheme {prefix!r} must be accepted, got {r.status_code} {r.text}"
    r = requests.post(ep.scoringUri, json=SAMPLE, headers={"Authorization": prefix + ep.primaryKey.swapcase()})
    assert r.status_code == 401, "the key itself is case-sensitive"


def test_client_request_id_is_kept_and_no_deprecation_warning(diabetes_server):
    ep = diabetes_server.endpoint()
    r = requests.post(ep.scoringUri, json=SAMPLE, headers={**_auth(ep.primaryKey), "x-ms-request-id": "client-id-42"})
    assert r.status_code == 200, r.text
    assert r.headers.get("x-ms-request-id") == "client-id-42", f"the client's id was replaced: {dict(r.headers)}"
    assert r.headers.get("x-ms-client-request-id") == "client-id-42", dict(r.headers)
    r = requests.post(ep.scoringUri, json=SAMPLE, headers={**_auth(ep.primaryKey), "x-request-id": "trace-7"})
    assert r.headers.get("x-request-id") == "trace-7", dict(r.headers)
    log = (diabetes_server.run_dir / "scorer.log").read_text()
    assert "x-ms-request-id header has been deprecated" not in log, "the gateway sends the deprecated header"


@pytest.mark.parametrize("which", ["primaryKey", "secondaryKey"])
def test_both_keys_score_like_the_model_in_process(diabetes_server, trained_model, which):
    ep = diabetes_server.endpoint()
    r = requests.post(ep.scoringUri, json=SAMPLE, headers=_auth(getattr(ep, which)))
    assert r.status_code == 200, r.text
    expected = joblib.load(trained_model).predict(np.asarray(SAMPLE["data"], dtype=float))
    np.testing.assert_allclose(r.json(), expected, rtol=1e-12)


def test_oversized_body_is_413_json(diabetes_server):
    ep = diabetes_server.endpoint()
    r = requests.post(ep.scoringUri, data=b"x" * (1024 * 1024 + 1), headers=_auth(ep.primaryKey))
    assert r.status_code == 413 and r.json()["status"] == 413


def test_cors_preflight_when_configured(diabetes_server):
    ep = diabetes_server.endpoint()
    pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    ok = requests.options(ep.scoringUri, headers={"Origin": ORIGIN, **pre})
    assert ok.status_code == 204 and ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "authorization" in ok.headers["Access-Control-Allow-Headers"].lower()
    other = requests.options(ep.scoringUri, headers={"Origin": "https://evil.example", **pre})
    assert "Access-Control-Allow-Origin" not in other.headers
    scored = requests.post(ep.scoringUri, json=SAMPLE, headers={"Origin": ORIGIN, **_auth(ep.primaryKey)})
    assert scored.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_cors_preflight_not_honoured_when_not_configured(echo_server):
    ep = echo_server.endpoint()
    r = requests.options(ep.scoringUri, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in r.headers, "CORS is off by default"
    assert r.status_code == 401


def test_swagger_is_valid_json_describing_score(diabetes_server):
    r = requests.get(diabetes_server.endpoint().swaggerUri)
    assert r.status_code == 200
    doc = r.json()
    assert doc["swagger"] == "2.0" and "/score" in doc["paths"]
    assert doc["definitions"]["ServiceInput"]["properties"]["data"]["type"] == "array"


def test_probes_and_unknown_paths(diabetes_server):
    base = diabetes_server.endpoint().scoringUri.rsplit("/", 1)[0]
    assert requests.get(base + "/healthz").status_code == 200
    assert requests.get(base + "/readyz").text == "Healthy"
    for path in ("/", "/score/x", "/admin", "/swagger.json/../x"):
        r = requests.get(base + path)
        assert r.status_code == 404 and r.json()["status"] == 404, path


BAD_BODIES = [
    b'{"data": [[1, 2, 3]]}', b'{"data": [["a","b","c","d","e","f","g","h","i","j"]]}', b"",
    b"not json", b'{"data": null}', b'{"data": {"a": 1}}', b'{"data": "abc"}', b'{"data": 5}',
    b'{"data": []}', b'{"data": [[]]}', b"[]", b"null", b'{"other": 1}',
    b'{"data": [[NaN, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}', b'{"data": [[1,2,3,4,5,6,7,8,9,true]]}',
    b'{"data": [[1e308,1e308,1e308,1e308,1e308,1e308,1e308,1e308,1e308,1e308]]}', b"\xff\xfe{",
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=lambda b: b[:24].decode("latin-1"))
def test_bad_input_is_4xx_never_5xx(diabetes_server, body):
    ep = diabetes_server.endpoint()
    r = requests.post(ep.scoringUri, data=body,
                      headers={"Content-Type": "application/json", **_auth(ep.primaryKey)})
    assert 400 <= r.status_code < 500, f"{body!r} -> {r.status_code} {r.text}"


def test_rawhttp_example_reverses_bytes_and_returns_the_url(echo_server):
    ep = echo_server.endpoint()
    payload = bytes(range(256)) * 4 + b"\x00tail"
    r = requests.post(ep.scoringUri, data=payload, headers={"Content-Type": "application/octet-stream",
                                                            **_auth(ep.secondaryKey)})
    assert r.status_code == 200 and r.content == payload[::-1]
    got = requests.get(ep.scoringUri + "?q=1", headers=_auth(ep.primaryKey))
    assert got.text == ep.scoringUri + "?q=1"


def test_schemathesis_finds_no_server_error(diabetes_server):
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    ep = diabetes_server.endpoint()
    schema = schemathesis.openapi.from_dict(requests.get(ep.swaggerUri).json())
    operation = schema["/score"]["POST"]
    base_url = ep.scoringUri.rsplit("/", 1)[0]
    seen = []

    @given(case=operation.as_strategy())
    @settings(max_examples=1000, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call(base_url=base_url, headers=_auth(ep.primaryKey))
        seen.append(response.status_code)
        assert response.status_code < 500, f"{case.body!r} -> {response.status_code} {response.text}"

    run()
    # The schema does not pin the row length, so most generated rows are (rightly) refused.
    assert len(seen) >= 1000, f"schemathesis ran only {len(seen)} cases"


def test_the_gateway_reaches_the_scorer_on_a_unix_socket(diabetes_server):
    # The scorer closes every connection: over a Unix socket no TCP connection is set up per request.
    upstream = diabetes_server._scorer_upstream()
    conf = (diabetes_server.run_dir / "gateway" / "nginx.conf").read_text()
    assert upstream.unix_socket and f"server unix:{upstream.unix_socket} " in conf, conf
    assert os.stat(upstream.unix_socket).st_mode & 0o777 == 0o666, "nginx's workers (nobody under root) connect"


def test_killed_scorer_is_restarted_and_serves_again(echo_server):
    ep = echo_server.endpoint()
    before = echo_server.scorer.pid
    os.killpg(before, signal.SIGKILL)
    deadline = time.monotonic() + 90
    status = None
    while time.monotonic() < deadline:
        echo_server.check()
        r = requests.post(ep.scoringUri, data=b"abc", headers=_auth(ep.primaryKey))
        status = r.status_code
        if status == 200:
            break
        assert status in (502, 503, 504), f"while the scorer restarts the gateway says {status} {r.text}"
        time.sleep(0.2)
    assert status == 200 and r.content == b"cba", "the scorer did not come back"
    assert echo_server.scorer.pid != before and echo_server.scorer.restarts == 1
