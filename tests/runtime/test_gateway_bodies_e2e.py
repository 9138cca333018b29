"""The local gateway (real nginx + scorer) on requests the scorer alone would get wrong or the
gateway could not store: a body above nginx's in-memory buffer in a private run folder, and a
request whose headers the scorer refuses. No timing is asserted."""
from __future__ import annotations

import json

import pytest
import requests

from mldeploy.targets.local.settings import LocalServiceSettings
from mldeploy.runtime.local import LocalServer
from tests.runtime.plans import plan_of
from tests.runtime.conftest import _script_context

pytestmark = pytest.mark.slow
LENGTH_SCRIPT = """\
import json

from azureml_inference_server_http.api.aml_response import AMLResponse


def init():
    pass


def run(raw_data):
    data = json.loads(raw_data)
    if "status" in data:  # the script's own error answer, with its own JSON body
        return AMLResponse({"mine": data["status"]}, data["status"], json_str=True)
    return {"length": len(data["data"])}
"""


def _start(scoring_env, tmp_path_factory, name: str, run_dir) -> LocalServer:
    context = _script_context(tmp_path_factory, name, LENGTH_SCRIPT, scoring_server="mldeploy")
    service = LocalServiceSettings.model_validate({"target": "local", "image": name, "workerCount": 1,
                                                   "maxRequestBodyMb": 5})
    server = LocalServer(plan_of(name, service), context, scoring_env, run_dir, port=0)
    server.start(timeout=120)
    return server


def _post(server: LocalServer, **kwargs) -> requests.Response:
    ep = server.endpoint()
    headers = {"Authorization": f"Bearer {ep.primaryKey}", "Content-Type": "application/json",
               **kwargs.pop("headers", {})}
    url = ep.scoringUri.rsplit("/", 1)[0] + kwargs.pop("url_path") if "url_path" in kwargs else ep.scoringUri
    return requests.post(url, timeout=60, headers=headers, **kwargs)


def test_a_body_over_the_memory_buffer_is_scored_from_a_private_run_folder(scoring_env, tmp_path_factory):
    """A ~2 MB body (within the 5 MB limit, above nginx's 1 MB in-memory buffer, so nginx writes
    it to its temp folder) to a service whose run folder sits in a 0700 folder, as `serve` run by
    root in /root/<project> has: the scorer's answer, not a 500. Before: nginx's workers ran as
    `nobody`, could not enter the run folder, and every such body was a 500."""
    private = tmp_path_factory.mktemp("private")
    private.chmod(0o700)
    server = _start(scoring_env, tmp_path_factory, "bigbody", private / "run")
    try:
        data = "x" * (2 * 1024 * 1024)
        answers = [_post(server, data=json.dumps({"data": data})) for _ in range(3)]
        # Chunked: read by nginx, then through the gateway's own socket (its hop) to the scorer.
        answers.append(_post(server, data=iter([json.dumps({"data": data}).encode()])))
    finally:
        server.stop()
    assert [(a.status_code, a.json()) for a in answers] == [(200, {"length": len(data)})] * 4, answers[-1].text


@pytest.fixture(scope="module")
def headers_server(scoring_env, tmp_path_factory):
    server = _start(scoring_env, tmp_path_factory, "headers", tmp_path_factory.mktemp("headers-run"))
    yield server
    server.stop()


def test_a_request_with_too_many_headers_gets_a_json_answer(headers_server):
    """More than 100 request headers: the scorer (granian) refuses them with an empty 431; the
    gateway's answer is JSON like all its others. Before: the empty 431 reached the client."""
    answer = _post(headers_server, data=json.dumps({"data": "x"}), headers={f"X-Extra-{i}": "1" for i in range(120)})
    assert answer.status_code == 431, (answer.status_code, answer.text)
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["status"] == 431 and "headers" in answer.json()["error"], answer.text


def test_a_chunked_request_with_too_many_headers_gets_a_json_answer(headers_server):
    """The same with a chunked body (Transfer-Encoding: chunked): nginx reads and checks the chunks
    where its own errors are JSON, then the scorer's empty 431 is replaced as for a plain body.
    Before: chunked requests bypassed the replacement and the empty 431 reached the client."""
    answer = _post(headers_server, data=iter([json.dumps({"data": "x"}).encode()]),
                   headers={f"X-Extra-{i}": "1" for i in range(120)})
    assert answer.status_code == 431, (answer.status_code, answer.text)
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["status"] == 431 and "headers" in answer.json()["error"], answer.text


@pytest.mark.parametrize("status", [400, 404, 500, 503])
def test_the_scripts_own_error_bodies_pass_the_gateway(headers_server, status):
    """Only the scorer's 431 is replaced: what run() answers - its status and JSON body - is the
    client's answer, whichever path /score takes (plain or chunked body)."""
    answer = _post(headers_server, data=json.dumps({"status": status}))
    chunked = _post(headers_server, data=iter([json.dumps({"status": status}).encode()]))
    for a in (answer, chunked):
        assert (a.status_code, a.json()) == (status, {"mine": status}), (a.status_code, a.text)


@pytest.mark.parametrize("chunked", [False, True])
def test_azmlinfsrvs_own_431_for_a_long_request_id_passes_the_gateway(headers_server, chunked):
    """azmlinfsrv refuses an x-request-id over 100 characters with a 431 of its own, whose body
    says why: that one is not replaced (plain or chunked body)."""
    body = json.dumps({"data": "x"})
    answer = _post(headers_server, data=iter([body.encode()]) if chunked else body, headers={"x-request-id": "r" * 150})
    assert answer.status_code == 431 and "x-request-id must not exceed 100" in answer.text, answer.text


def test_the_gateways_own_hop_is_not_reachable_from_outside(headers_server):
    """The location behind the gateway's own socket (chunked bodies, already read) answers only
    that socket: from the network it is a JSON 404, whatever the key."""
    answer = _post(headers_server, data=json.dumps({"data": "x"}), url_path="/.mldeploy-dechunked/score")
    assert (answer.status_code, answer.headers["Content-Type"]) == (404, "application/json"), answer.text


def test_a_chunked_request_with_a_bad_chunk_gets_the_gateways_json_400(headers_server):
    import socket

    ep = headers_server.endpoint()
    host = ep.scoringUri.split("/")[2]
    request = (f"POST /score HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {ep.primaryKey}\r\n"
               "Transfer-Encoding: chunked\r\n\r\nZZ\r\nxx\r\n0\r\n\r\n").encode()
    with socket.create_connection((host.split(":")[0], int(host.split(":")[1])), timeout=30) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and json.loads(body)["status"] == 400, data[:300]
