"""`mldeploy test` of a cloud stack on a machine without the Pulumi CLI."""
from __future__ import annotations

import click
import pytest

from mldeploy.cli import test as test_cli


def test_without_pulumi_the_error_points_at_the_local_rehearsal(monkeypatch, tmp_path):
    # A new user rehearsing `mldeploy serve --stack managed` then running the test command of
    # docs/rollout.md was told only to install Pulumi or pass --uri and --key.
    monkeypatch.setattr(test_cli.shutil, "which", lambda name: None)
    with pytest.raises(click.ClickException) as err:
        test_cli._stack_endpoint(tmp_path, "managed", "wine")
    assert "`--local` tests the copy `mldeploy serve --stack managed` runs" in err.value.message


# -- a body that is not JSON ------------------------------------------------------------------

def _mldeploy_test(tmp_path, *args: str):
    import subprocess
    import sys
    # Port 9 (discard) on 127.0.0.1: nothing answers, so a request that is sent fails with exit 1.
    return subprocess.run([sys.executable, "-c", "import sys; from mldeploy.cli import main; "
                           "sys.argv[0] = 'mldeploy'; main()", "test", "--uri", "http://127.0.0.1:9/score",
                           "--key", "k", *args], capture_output=True, text=True, cwd=tmp_path, timeout=120)


def test_a_json_body_that_is_not_json_is_refused_locally_naming_the_file_and_the_error(tmp_path):
    # A new user's `--data bad.json` went to the server and came back as a 400.
    (tmp_path / "bad.json").write_text('{"data": [[1, 2,]]}')
    run = _mldeploy_test(tmp_path, "--data", "bad.json")
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr
    assert "bad.json: --data: not JSON" in run.stderr and "line 1 column 17" in run.stderr, run.stderr


def test_a_body_sent_as_json_by_content_type_is_checked_too_and_raw_bodies_are_sent_as_they_are(tmp_path):
    (tmp_path / "request.txt").write_text("not json")
    run = _mldeploy_test(tmp_path, "--data", "request.txt", "--content-type", "application/json; charset=utf-8")
    assert run.returncode == 2 and "request.txt: --data: not JSON" in run.stderr, run.stderr
    # A raw body (the guide's @rawhttp scorer, examples/binary-echo) is not checked: it is sent.
    (tmp_path / "request.bin").write_bytes(b"\x00\xffnot json")
    run = _mldeploy_test(tmp_path, "--data", "request.bin")
    assert run.returncode == 1 and "status no answer" in run.stderr, run.stderr
    run = _mldeploy_test(tmp_path, "--data", "request.txt", "--content-type", "text/plain")
    assert run.returncode == 1 and "status no answer" in run.stderr, run.stderr


def test_a_400_for_rows_sent_without_their_data_key_says_how_to_wrap_them(tmp_path):
    # A new user's `--data rows.json` with the rows alone got only azmlinfsrv's "POST body should
    # be a JSON dictionary." back.
    import http.server
    import subprocess
    import sys
    import threading

    class Scorer(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ok = body.startswith(b"{")
            answer = b"[0]" if ok else b'{"message": "POST body should be a JSON dictionary."}'
            self.send_response(200 if ok else 400)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Scorer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (tmp_path / "rows.json").write_text("[[5.1, 3.5, 1.4, 0.2]]")
    (tmp_path / "request.json").write_text('{"data": [[5.1, 3.5, 1.4, 0.2]]}')
    try:
        def run(name):
            return subprocess.run([sys.executable, "-c", "import sys; from mldeploy.cli import main; "
                                   "sys.argv[0] = 'mldeploy'; main()", "test", "--uri",
                                   f"http://127.0.0.1:{server.server_port}/score", "--key", "k", "--data", name],
                                  capture_output=True, text=True, cwd=tmp_path, timeout=120)
        bad, good = run("rows.json"), run("request.json")
    finally:
        server.shutdown()
    assert bad.returncode == 1, bad.stderr
    assert "status 400" in bad.stderr and 'rows.json holds a JSON list; a scoring request is a JSON object' in bad.stderr \
        and 'put your rows under "data"' in bad.stderr, bad.stderr
    assert good.returncode == 0 and good.stdout == "[0]\n", good.stderr


# -- options sent in the request line or its headers ------------------------------------------

def _mldeploy(tmp_path, *args: str):
    import subprocess
    import sys
    (tmp_path / "request.json").write_text('{"data": [[1.0]]}')
    return subprocess.run([sys.executable, "-c", "import sys; from mldeploy.cli import main; "
                           "sys.argv[0] = 'mldeploy'; main()", "test", "--data", "request.json", *args],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)


@pytest.mark.parametrize("args, said", [
    (["--uri", "127.0.0.1:8890/score"], "'127.0.0.1:8890/score': a scoring URI is http://HOST[:PORT]/PATH"),
    (["--uri", "http://[::1/score"], "'http://[::1/score': Invalid IPv6 URL; a scoring URI is"),
    (["--uri", "http://127.0.0.1:99999/score"], "Port out of range 0-65535; a scoring URI is"),
    (["--uri", "ftp://example.com/score"], "'ftp://example.com/score': a scoring URI is"),
    (["--uri", "http://127.0.0.1:9/score", "--key", "Bearer abc"], "'--key': character 7 cannot be sent in a Bearer"),
    (["--uri", "http://127.0.0.1:9/score", "--key", "abc\n"], "'--key': character 4 cannot be sent in a Bearer"),
    (["--uri", "http://127.0.0.1:9/score", "--key", "k", "--content-type", "text/csv; charset=ütf"],
     "'text/csv; charset=ütf': character 19 ('ü') cannot be sent in an HTTP header; a media type is ASCII"),
    (["--uri", "http://127.0.0.1:9/score", "--key", "k", "--deployment", "grün"],
     "'grün': character 3 ('ü') cannot be sent in an HTTP header"),
])
def test_a_uri_or_header_value_urllib_cannot_send_is_one_usage_error(tmp_path, args, said):
    """hreview's trial: each of these ended in urllib's traceback (unknown url type, Invalid IPv6 URL,
    UnicodeEncodeError, Invalid header value) or a DNS lookup of ftp://."""
    run = _mldeploy(tmp_path, *args)
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr and run.stderr.splitlines()[-1].startswith("error: "), run.stderr
    assert said in run.stderr, run.stderr


def test_a_refused_key_is_not_repeated_in_the_error(tmp_path):
    run = _mldeploy(tmp_path, "--uri", "http://127.0.0.1:9/score", "--key", "s3cr3t-k3y with-a-space")
    assert run.returncode == 2 and "s3cr3t" not in run.stderr, run.stderr


def test_an_http_or_https_uri_with_a_host_is_sent(tmp_path):
    run = _mldeploy(tmp_path, "--uri", "http://[::1]:9/score", "--key", "k")
    assert run.returncode == 1 and "status no answer" in run.stderr, run.stderr
