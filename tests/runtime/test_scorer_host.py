"""The scorer process's changes to azmlinfsrv (mldeploy/runtime/scorer_host.py), without serving."""
from __future__ import annotations

import json

import pytest

from mldeploy.runtime import scorer_host


@pytest.mark.parametrize("body", [b'{"data": [' + b"9" * 5000 + b"]}", b"[" * 100_000 + b"]" * 100_000,
                                  b'{"data": "\xff"}'])
def test_unusable_json_is_a_decode_error_the_server_answers_with_400(body):
    with pytest.raises(json.JSONDecodeError):
        scorer_host.BoundedJson.loads(body)


def test_usable_json_is_parsed_as_json_parses_it():
    assert scorer_host.BoundedJson.loads(b'{"data": [[1, 2.5]]}') == {"data": [[1, 2.5]]}


def test_gunicorn_serves_the_handed_socket_without_a_shared_control_socket(monkeypatch, tmp_path):
    import gunicorn.app.wsgiapp as wsgiapp
    from azureml_inference_server_http.server import input_parsers, swagger

    for module, name in ((wsgiapp, "WSGIApplication"), (input_parsers, "json"), (swagger, "get_input_schema")):
        monkeypatch.setattr(module, name, getattr(module, name))  # restored after the test
    monkeypatch.setenv("MLDEPLOY_SCORER_FD", "7")
    monkeypatch.setattr("sys.argv", ["azmlinfsrv", "-b", "127.0.0.1:5001", "-w", "1",
                                     "azureml_inference_server_http.server.entry:app"])
    scorer_host._patch_server()
    app = wsgiapp.WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]")
    assert app.cfg.bind == ["fd://7"], "the scorer must serve the socket bound by mldeploy"
    assert app.cfg.control_socket_disable, "every gunicorn of a user shares the default control socket"
    assert input_parsers.json is scorer_host.BoundedJson
