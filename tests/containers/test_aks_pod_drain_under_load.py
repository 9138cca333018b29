"""The prod pod terminated (preStop pause, then the containers' stop signals, as the kubelet
does) while wrk keeps as many connections busy with scoring requests as the pod takes at once
(its gateway's cap; one more would get the capacity 503 by design), for both scoring servers
(issue 24, "graceful shutdown ... the pod ... for both servers; measured under wrk"). Each
request on a connection of its own (`Connection: close`): a request sent on a kept-alive
connection just as nginx's graceful stop closes it idle is the client's to retry (RFC 9112
9.3.1), not a request the pod accepted.

What must hold: every request the gateway accepted is answered 200 - no non-2xx answer, no
timeout, no answer the scorer made that wrk did not read; a read or write error only as the
kernel's reset of a connection still queued when nginx closed its listener
(checks.drain_losses). Refused connections (wrk's "connect" errors) are expected once the
gateway has stopped listening: by then a real cluster has taken the pod out of the Service's
endpoints (that is what the preStop pause waits for), so no client is sent there."""
from __future__ import annotations

import pytest

from tests.containers.checks import drain_losses, scorer_answered
from tests.containers.prod import ready_pod
from tests.containers.synthesized import synth_and_build
from tests.harness import wrk_while

LOAD_BEFORE_S = 2.0  # wrk runs this long before termination starts


@pytest.fixture(params=["mldeploy", "azmlinfsrv"])
def pod_of(request, engine, standins, trained_model, work_dir):
    server = request.param
    synth, images = synth_and_build(engine, "prod", server, work_dir)
    with ready_pod(engine, synth, images, standins.images, work_dir, f"drain-{server}") as running:
        yield server, running


@pytest.mark.parametrize("stop_signal", [None, "TERM"], ids=["image", "sigterm"])
def test_terminating_the_pod_under_wrk_loses_no_accepted_request(pod_of, tmp_path, stop_signal):
    server, running = pod_of
    prestop_s = float(running.container("gateway")["lifecycle"]["preStop"]["exec"]["command"][-1])
    connections = int(running.env("scorer", "WORKER_COUNT"))  # the gateway's cap per pod
    # The kubelet sends each image's STOPSIGNAL when the runtime honours it (containerd does),
    # else SIGTERM (kubernetes.io "Termination of Pods"): both, the gateway's preStop being a pause.
    scored_before = scorer_answered(running.pod)
    counts, text, stopped = wrk_while(lambda: running.pod.terminate(stop_signal=stop_signal), f"{running.base}/score",
                                      running.spec.keys[0], connections, int(LOAD_BEFORE_S + prestop_s + 6),
                                      LOAD_BEFORE_S, tmp_path)
    print(f"\n{server}, {stop_signal or 'image'}: {counts}; stopped: {stopped}")
    assert counts["requests"] > 0, text
    problem = drain_losses(counts, scorer_answered(running.pod) - scored_before, connections, ("read", "write"))
    assert not problem, f"{server}: {problem} while the pod terminated ({counts}); stopped: {stopped}\n{text}"
    # Every container exits on its stop signal, within terminationGracePeriodSeconds (137: the
    # SIGKILL at its end, which also kills the model-data sidecar). azmlinfsrv's gunicorn workers
    # flush App Insights at exit to endpoints no container reaches here (the telemetry stand-in);
    # that flush is bounded (scorer_host.bounded_exit_flush): before, its scorer and the sidecar
    # after it were SIGKILLed at 20 s in 2 of 3 runs.
    killed = {name: s for name, s in stopped.items() if s["exitCode"] != 0}
    logs = {name: running.pod.engine.logs(running.pod.cname(name), tail=15) for name in killed}
    assert not killed, f"{server}: containers not stopped within the grace period: {killed}\n{logs}"
