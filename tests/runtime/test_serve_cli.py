"""`mldeploy serve` as a user runs it: JSON line, smoke test, SIGTERM leaves no process behind,
clear one-line errors. Each test serves a copy of the project in a temporary folder."""
from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
from urllib.parse import urlsplit

import pytest
import requests

from tests.harness import MLDEPLOY, alive, copy_project, descendants, serving

pytestmark = pytest.mark.slow


@pytest.fixture()
def project(tmp_path, trained_model):
    return copy_project(tmp_path, "local")


def _local(project, *args) -> list[str]:
    return ["--stack", "local", "--project-dir", str(project), *args]


def _serve(project, *args):
    return subprocess.Popen([*MLDEPLOY, "serve", *_local(project, *args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_serve_json_scores_then_sigterm_leaves_no_process(project):
    with serving(*_local(project, "--port", "0", "--json")) as served:
        endpoint = served.endpoint
        assert set(endpoint) == {"scoringUri", "swaggerUri", "primaryKey", "secondaryKey"}
        sample = json.loads((project / "examples/diabetes/sample-request.json").read_text())
        r = requests.post(endpoint["scoringUri"], json=sample,
                          headers={"Authorization": f"Bearer {endpoint['secondaryKey']}"})
        assert r.status_code == 200 and len(r.json()) == 2
        _check_test_command(project, endpoint)
        # The wrong key's 401 is in the gateway's log (errors only: the 200s are not), which `logs` shows.
        gateway_log = (project / ".mldeploy/local/local/diabetes/gateway.log").read_text()
        assert ' [answer] 401 "POST /score"' in gateway_log and " [answer] 200 " not in gateway_log, gateway_log
        children = descendants(served.proc.pid)
        assert len(children) >= 4, f"expected scorer + gateway with workers, found {children}"
    assert served.proc.returncode == 0, served.err
    left = [p for p in children if alive(p)]
    assert left == [], f"processes left after SIGTERM: {left}"
    assert not (project / ".mldeploy/local/local/diabetes/endpoint.json").exists()


def _check_test_command(project, endpoint):
    """`mldeploy test` against the served stack: the sample scores; a wrong key fails loudly."""
    ok = subprocess.run([*MLDEPLOY, "test", "--stack", "local", "--service", "diabetes",
                         "--project-dir", str(project)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert len(json.loads(ok.stdout)) == 2, ok.stdout
    bad = subprocess.run([*MLDEPLOY, "test", "--uri", endpoint["scoringUri"], "--key", "wrong-key-0123456789",
                          "--data", str(project / "examples/diabetes/sample-request.json")],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "status 401" in bad.stderr, bad.stderr


def test_serve_with_tls_files_smoke_tests_and_test_command_trust_that_certificate(project, tmp_path):
    from tests.runtime.test_tls_e2e import self_signed

    cert_pem, key_pem = self_signed()
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_text(cert_pem)
    key.write_text(key_pem)
    key.chmod(0o600)
    # A JSON line means serve's own smoke test passed over HTTPS, trusting this certificate.
    with serving(*_local(project, "--port", "0", "--json", "--tls-cert", str(cert), "--tls-key", str(key))) as served:
        endpoint = served.endpoint
        uri = endpoint["scoringUri"]
        assert uri.startswith("https://127.0.0.1:"), uri
        presented = ssl.get_server_certificate(("127.0.0.1", urlsplit(uri).port))
        assert ssl.PEM_cert_to_DER_cert(presented) == ssl.PEM_cert_to_DER_cert(cert_pem)
        sample = json.loads((project / "examples/diabetes/sample-request.json").read_text())
        r = requests.post(uri, json=sample, verify=str(cert), headers={"Authorization": f"Bearer {endpoint['primaryKey']}"})
        assert r.status_code == 200 and len(r.json()) == 2, r.text
        # `mldeploy test --stack local` finds the certificate in the endpoint file...
        ok = subprocess.run([*MLDEPLOY, "test", "--stack", "local", "--service", "diabetes",
                             "--project-dir", str(project)], capture_output=True, text=True)
        assert ok.returncode == 0 and len(json.loads(ok.stdout)) == 2, ok.stderr
        # ...while a plain --uri call verifies as usual, and a self-signed certificate fails that.
        plain = subprocess.run([*MLDEPLOY, "test", "--uri", uri, "--key", endpoint["primaryKey"], "--data",
                                str(project / "examples/diabetes/sample-request.json")], capture_output=True, text=True)
        assert plain.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in plain.stderr, plain.stderr
    assert served.proc.returncode == 0, served.err
    secret_line = key_pem.splitlines()[1]
    assert secret_line not in served.out + served.err + served.line
    logs = [p for p in (project / ".mldeploy").rglob("*") if p.is_file() and secret_line in p.read_text(errors="replace")]
    assert logs == [], f"the private key was copied into {logs}"


def test_serve_tls_options_go_together_and_a_wrong_key_is_one_clear_line(project, tmp_path):
    from tests.runtime.test_tls_e2e import self_signed

    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_text(self_signed()[0])
    key.write_text(self_signed()[1])  # a key of another certificate
    alone = subprocess.run([*MLDEPLOY, "serve", "--project-dir", str(project), "--tls-cert", str(cert)],
                           capture_output=True, text=True)
    assert alone.returncode == 2 and "--tls-cert and --tls-key go together" in alone.stderr
    proc = _serve(project, "--port", "0", "--tls-cert", str(cert), "--tls-key", str(key))
    _, err = proc.communicate(timeout=120)
    # An argument's mistake: a usage error before anything starts (it was exit 1 after "starting").
    assert proc.returncode == 2, err
    assert f"TLS key {key} does not fit certificate {cert}" in err and "starting" not in err, err
    assert "Traceback" not in err, err


def test_test_command_without_a_running_service_says_how_to_start_it(project):
    done = subprocess.run([*MLDEPLOY, "test", "--stack", "local", "--service", "diabetes",
                           "--project-dir", str(project)], capture_output=True, text=True)
    assert done.returncode == 1 and "mldeploy serve --stack local --service diabetes" in done.stderr


def test_port_in_use_is_one_clear_line(project):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _serve(project, "--port", str(port))
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert err.strip().splitlines()[-1] == f"error: port {port} on 127.0.0.1 is in use: stop what uses it or pass --port"


def test_init_failure_is_one_clear_line(project):
    script = project / "examples/diabetes/score.py"
    script.write_text(script.read_text().replace("model = joblib.load(model_path)",
                                                 "raise RuntimeError('model file is corrupt')"))
    proc = _serve(project, "--port", "0")
    _, err = proc.communicate(timeout=180)
    last = err.strip().splitlines()[-1]
    assert proc.returncode == 1
    assert last.startswith("error: the scorer exited") and "model file is corrupt" in last, last


def test_missing_nginx_says_how_to_install(monkeypatch):
    from mldeploy.runtime import processes

    monkeypatch.setattr(processes.shutil, "which", lambda *a, **k: None)
    with pytest.raises(processes.StartError, match="apt-get install nginx-light"):
        processes.find_nginx()


def test_sigterm_during_a_slow_init_stops_at_once_and_cleanly(project):
    script = project / "examples/diabetes/score.py"
    script.write_text(script.read_text().replace("model = joblib.load(model_path)",
                                                 "import time; time.sleep(600); model = joblib.load(model_path)"))
    proc = _serve(project, "--port", "0", "--timeout", "900")
    children: set[int] = set()
    try:
        for line in proc.stderr:  # the scorer is starting: init() now sleeps far past any wait below
            if line.startswith("starting diabetes"):
                break
        while len(children) < 3 and proc.poll() is None:
            children = descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)  # far below init()'s 600 s and --timeout 900
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopping before every service was ready" in err and "Traceback" not in err, err
    left = [p for p in children if alive(p)]
    assert left == [], f"processes left after SIGTERM during init(): {left}"
    assert not (project / ".mldeploy/local/local/diabetes/endpoint.json").exists()


def test_a_stale_endpoint_file_after_sigkill_is_replaced_with_a_private_one(project):
    run_dir = project / ".mldeploy/local/local/diabetes"
    run_dir.mkdir(parents=True)
    stale = run_dir / "endpoint.json"
    # What a SIGKILLed serve leaves: its pid (now gone, or reused by another program) and old keys.
    stale.write_text(json.dumps({"scoringUri": "http://127.0.0.1:1/score", "primaryKey": "old-key", "pid": 1}))
    stale.chmod(0o644)
    with serving(*_local(project, "--port", "0", "--json")) as served:  # it starts over a stale endpoint.json
        endpoint = served.endpoint
        written = json.loads(stale.read_text())
        assert written["primaryKey"] == endpoint["primaryKey"] != "old-key", "the stale keys must be replaced"
        assert stale.stat().st_mode & 0o777 == 0o600, f"endpoint.json mode {stale.stat().st_mode & 0o777:o}"


def test_a_failed_smoke_test_names_the_scorer_s_exception(project):
    """run() failing on the sample: the 500 body only points at `mldeploy logs`, and serve stops;
    the error line carries the exception the scorer logged."""
    script = project / "examples/diabetes/score.py"
    script.write_text(script.read_text().replace("    return predictions.tolist()", "    return predictions"))
    proc = _serve(project, "--port", "0")
    _, err = proc.communicate(timeout=180)
    last = err.strip().splitlines()[-1]
    assert proc.returncode == 1, err
    assert last.startswith("error: smoke test of diabetes failed: status 500: "), last
    assert last.endswith("; the scorer logged: TypeError: Object of type ndarray is not JSON serializable"), last


@pytest.mark.parametrize("scoring_server", ["mldeploy", "azmlinfsrv"])
def test_sigterm_to_serve_finishes_a_request_in_flight(project, scoring_server):
    """Issue 24 item 11: SIGTERM to the `mldeploy serve` process itself (not LocalServer.stop() in
    the test's own process) while a 4 s run() is in flight - longer than the gateway's 2 s drain
    (render/gateway.py DRAIN_SECONDS), so nginx's graceful stop must wait for it too: that request
    is answered 200 before serve exits 0, on both scoring servers."""
    import threading
    import time

    script = project / "examples/diabetes/score.py"
    text = script.read_text()
    slow = "def run(data):\n    if isinstance(data, list) and len(data) == 3:\n        import time\n        time.sleep(4)\n"
    assert text.count("def run(data):\n") == 1
    script.write_text(text.replace("def run(data):\n", slow))
    stack = project / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text().replace("      models: [diabetes]\n",
                                               f"      models: [diabetes]\n      scoringServer: {scoring_server}\n"))
    answers: list = []
    with serving(*_local(project, "--port", "0", "--json")) as served:
        endpoint = served.endpoint
        rows = json.loads((project / "examples/diabetes/sample-request.json").read_text())["data"][:1] * 3

        def post():
            try:
                answers.append(requests.post(endpoint["scoringUri"], json={"data": rows}, timeout=30,
                                             headers={"Authorization": f"Bearer {endpoint['primaryKey']}"}))
            except requests.RequestException as exc:
                answers.append(exc)

        sender = threading.Thread(target=post)
        sender.start()
        time.sleep(0.7)  # the request is inside its 4 s run() when serve gets SIGTERM on leaving the block
        assert served.proc.poll() is None and not answers, (answers, served.proc.poll())
    sender.join(30)
    assert served.proc.returncode == 0, served.err
    assert len(answers) == 1 and not isinstance(answers[0], Exception), answers
    assert answers[0].status_code == 200 and len(answers[0].json()) == 3, answers[0].text
