"""The prod pod terminated (preStop pause, then the containers' stop signals, as the kubelet
does) while wrk keeps as many connections busy with scoring requests as the pod takes at once
(its gateway's cap; one more would get the capacity 503 by design), for both scoring servers
(issue 24, "graceful shutdown ... the pod ... for both servers; measured under wrk"). Each
request on a connection of its own (`Connection: close`): a request sent on a kept-alive
connection just as nginx's graceful stop closes it idle is the client's to retry (RFC 9112
9.3.1), not a request the pod accepted.

What must hold: every request the gateway accepted is answered 200 - no non-2xx answer, no read
or write error, no timeout. Refused connections (wrk's "connect" errors) are expected once the
gateway has stopped listening: by then a real cluster has taken the pod out of the Service's
endpoints (that is what the preStop pause waits for), so no client is sent there."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time

import pytest

from tests.containers.prod import start_pod
from tests.containers.synthesized import build_images, synth_to

READY_WITHIN_S = 240
ROWS = [[0.0381, 0.0507, 0.0617, 0.0219, -0.0442, -0.0348, -0.0434, -0.0026, 0.0199, -0.0176]]
LOAD_BEFORE_S = 2.0  # wrk runs this long before termination starts


@pytest.fixture(params=["mldeploy", "azmlinfsrv"])
def pod_of(request, engine, standins, trained_model, work_dir):
    from tests.harness import stack_values

    server = request.param
    values, _ = stack_values("prod")
    values["mldeploy:images"]["diabetes"]["scoringServer"] = server
    synth = synth_to("prod", work_dir / f"synth-prod-{server}", values=values)
    images = build_images(engine, synth, work_dir / "logs")
    running = start_pod(engine, synth, images, standins.images, work_dir, f"drain-{server}")
    try:
        running.pod.wait_ready(READY_WITHIN_S)
        yield server, running
    finally:
        running.pod.remove()


# wrk's Lua hooks: each answer's status counted per thread, the totals printed at the end.
STATUS_COUNTER = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do io.write(string.format("status %d: %d\\n", status, n)) end
  end
end
"""


def _wrk_script(path, key: str) -> None:
    body = json.dumps({"data": ROWS})
    path.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
                    f'wrk.headers["Content-Type"] = "application/json"\n'
                    f'wrk.headers["Authorization"] = "Bearer {key}"\n'
                    f'wrk.headers["Connection"] = "close"\n' + STATUS_COUNTER)


def parse_wrk(text: str) -> dict[str, int]:
    """wrk's summary: requests, non-2xx answers and socket errors by kind."""
    counts = {"requests": int(re.search(r"(\d+) requests in", text).group(1)), "non2xx": 0,
              "connect": 0, "read": 0, "write": 0, "timeout": 0}
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        counts["non2xx"] = int(m.group(1))
    for status, n in re.findall(r"status (\d+): (\d+)", text):
        counts[f"status {status}"] = counts.get(f"status {status}", 0) + int(n)
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        counts.update(connect=int(m.group(1)), read=int(m.group(2)), write=int(m.group(3)), timeout=int(m.group(4)))
    return counts


def test_terminating_the_pod_under_wrk_loses_no_accepted_request(pod_of, tmp_path):
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed (apt-get install wrk)")
    server, running = pod_of
    prestop_s = float(running.container("gateway")["lifecycle"]["preStop"]["exec"]["command"][-1])
    connections = int(running.env("scorer", "WORKER_COUNT"))  # the gateway's cap per pod
    script = tmp_path / "score.lua"
    _wrk_script(script, running.spec.keys[0])
    duration = int(LOAD_BEFORE_S + prestop_s + 6)
    out: dict[str, str] = {}

    def load() -> None:
        proc = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
                               "-s", str(script), f"{running.base}/score"], capture_output=True, text=True,
                              timeout=duration + 60)
        out["text"] = proc.stdout + proc.stderr

    thread = threading.Thread(target=load)
    thread.start()
    time.sleep(LOAD_BEFORE_S)
    stopped = running.pod.terminate()
    thread.join()
    counts = parse_wrk(out["text"])
    print(f"\n{server}: {counts}; stopped: {stopped}")
    assert counts["requests"] > 0, out["text"]
    lost = {k: counts[k] for k in ("non2xx", "read", "write", "timeout") if counts[k]}
    assert not lost, f"{server}: requests lost while the pod terminated: {lost} ({counts}); stopped: {stopped}\n{out['text']}"
    # Every container exits on its stop signal, within terminationGracePeriodSeconds (137: the
    # SIGKILL at its end, which also kills the model-data sidecar). Not asserted for azmlinfsrv:
    # its gunicorn workers flush App Insights at exit and retry the endpoints no container
    # reaches here (the telemetry stand-in, and statsbeat's host, which does not resolve), so its
    # scorer and the sidecar after it were SIGKILLed at 20 s in 2 of 3 runs (docs/containers.md).
    killed = {name: s for name, s in stopped.items() if s["exitCode"] != 0}
    if server == "mldeploy":
        logs = {name: running.pod.engine.logs(running.pod.cname(name), tail=15) for name in killed}
        assert not killed, f"{server}: containers not stopped within the grace period: {killed}\n{logs}"
