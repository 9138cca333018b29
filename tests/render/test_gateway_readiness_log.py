"""The gateway's log at a scorer's start: the readiness probes a starting scorer refuses answer 502
and leave no line in the log (they read as failures to a new user in `mldeploy logs`), while a
scoring request meeting the same refusing scorer is still logged. Runs the real nginx."""
from __future__ import annotations

import http.client
import re
import subprocess
from pathlib import Path

import pytest

from mldeploy.contract import READINESS_PATH, SCORE_PATH
from mldeploy.plan.gateway import GatewaySpec, Upstream
from mldeploy.render.gateway import config_dirs, direct_command, render_nginx_conf, render_upstreams
from tests.render.test_gateway_reload import _default_stop_signals, _free_port, _kill_left_nginx
from tests.render.test_gateway_stop_signals import _wait_listening


FAILED = re.compile(r"connect\(\) (to \S+ )?failed")  # nginx: "connect() failed (111: ...)", "connect() to unix:... failed"


def _status(port: int, method: str, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=b"{}" if method == "POST" else None,
                     headers={"Content-Type": "application/json"})
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.parametrize("scorer", ["tcp", "unix"])
def test_probes_refused_by_a_starting_scorer_leave_no_error_line_but_a_scoring_request_does(tmp_path, scorer):
    # A scorer that has not opened its socket yet: nothing listens on the port (nginx: "111:
    # Connection refused", level error), or its Unix socket is not made yet (2: No such file, crit).
    upstream = Upstream("127.0.0.1", _free_port(), 1) if scorer == "tcp" else \
        Upstream("127.0.0.1", unix_socket=str(tmp_path / "scorer.sock"))
    watched = tmp_path / "stable.conf"
    spec = GatewaySpec(listen_port=_free_port(), listen_host="127.0.0.1", run_dir=str(tmp_path / "run"),
                       auth_enabled=False, upstreams_file=str(watched), upstreams=(upstream,))
    for folder in config_dirs(spec):
        Path(folder).mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx_conf(spec))
    watched.write_text(render_upstreams(spec))
    log = tmp_path / "gateway.log"
    with log.open("w") as out:
        gateway = subprocess.Popen(direct_command(str(conf), spec.run_dir), stderr=out, stdout=out,
                                   preexec_fn=_default_stop_signals)
        try:
            _wait_listening(spec.listen_port)
            probes = [_status(spec.listen_port, "GET", READINESS_PATH) for _ in range(5)]
            after_probes = log.read_text()
            scored = _status(spec.listen_port, "POST", SCORE_PATH)
        finally:
            gateway.terminate()
            gateway.wait(timeout=60)
            _kill_left_nginx(Path(spec.pid_file))
    assert probes == [502] * 5, probes
    assert not FAILED.search(after_probes), after_probes
    assert scored in (502, 503), scored
    assert FAILED.search(log.read_text()) or "no live upstreams" in log.read_text(), log.read_text()
