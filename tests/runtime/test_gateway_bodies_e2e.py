"""The local gateway (real nginx + scorer) on requests the scorer alone would get wrong or the
gateway could not store: a body above nginx's in-memory buffer in a private run folder, and a
request whose headers the scorer refuses. No timing is asserted."""
from __future__ import annotations

import json

import pytest
import requests

from mldeploy.config.service import LocalServiceSettings
from mldeploy.runtime.local import LocalServer
from tests.runtime.conftest import _script_context

pytestmark = pytest.mark.slow
LENGTH_SCRIPT = """\
import json


def init():
    pass


def run(raw_data):
    return {"length": len(json.loads(raw_data)["data"])}
"""


def _start(scoring_env, tmp_path_factory, name: str, run_dir) -> LocalServer:
    context = _script_context(tmp_path_factory, name, LENGTH_SCRIPT, scoring_server="mldeploy")
    service = LocalServiceSettings.model_validate({"target": "local", "image": name, "workerCount": 1,
                                                   "maxRequestBodyMb": 5})
    server = LocalServer(name, service, context, scoring_env, run_dir, port=0)
    server.start(timeout=120)
    return server


def _post(server: LocalServer, **kwargs) -> requests.Response:
    ep = server.endpoint()
    headers = {"Authorization": f"Bearer {ep.primaryKey}", "Content-Type": "application/json",
               **kwargs.pop("headers", {})}
    return requests.post(ep.scoringUri, timeout=60, headers=headers, **kwargs)


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
    finally:
        server.stop()
    assert [(a.status_code, a.json()) for a in answers] == [(200, {"length": len(data)})] * 3, answers[0].text


@pytest.mark.xfail(strict=True, reason=(
    "not done (issue 24 item 9): granian answers >100 headers with an empty 431 (its limit is not "
    "configurable), which nginx passes on; a JSON page needs proxy_intercept_errors, which replaces "
    "every scorer status that has an error_page in the proxying location (the scorer's own 400/500/503 "
    "bodies among them), so it needs the proxying split into an inner location with only 431 (+ nginx's "
    "own proxy errors) intercepted"))
def test_a_request_with_too_many_headers_gets_a_json_answer(scoring_env, tmp_path_factory):
    """More than 100 request headers: the scorer (granian) refuses them with an empty 431; the
    gateway's answer is JSON like all its others."""
    server = _start(scoring_env, tmp_path_factory, "headers", tmp_path_factory.mktemp("headers-run"))
    try:
        answer = _post(server, data=json.dumps({"data": "x"}),
                       headers={f"X-Extra-{i}": "1" for i in range(120)})
    finally:
        server.stop()
    assert answer.status_code == 431, (answer.status_code, answer.text)
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["status"] == 431
