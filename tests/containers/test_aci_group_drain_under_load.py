"""The dev stack's ACI container group stopped while wrk keeps as many connections busy with
scoring requests as the group takes at once, for both scoring servers (issue 24, "graceful
shutdown ... ACI ... for both servers; measured under wrk"). ACI documents no preStop hook and
no order among the group's containers: here the scorer gets its stop signal first and the
gateway SCORER_FIRST_S later (the worst order; then the pod runner's termination without hooks:
each image's stop signal, SIGKILL at the end of the grace period). Each request on a connection
of its own, as in test_aks_pod_drain_under_load.py.

What must hold: every request the group took is answered 200 - no non-2xx answer, no timeout,
and no answer the scorer made that the client did not read. A read error (a request written and
no answer) is allowed only as the kernel's reset of a connection still queued when the gateway
closed its listener (at most one per connection; checks.drain_losses). Connections refused once
the gateway stopped listening are expected: the group is going away, and its address with it;
wrk counts them among its write errors here (the connection fails when the request is written;
on the pod's address in test_aks_pod_drain_under_load.py it counts them as connect errors), and
a write error is a request that never left the client. The containers exit on their stop signals
(exit 0), within the grace period.

ACI documents no stop signal either (render/gateway.py graceful_nginx cites what there is), so
each run stops the group one of three ways: `image` (each image's STOPSIGNAL: the nginx image's
SIGQUIT), `sigterm` (SIGTERM to every container, the scorer first) and `gateway-sigterm` (SIGTERM
to the gateway alone, the scorer serving on). nginx by itself takes SIGTERM as a fast stop that
drops the requests in flight; the gateway's command turns it into the graceful one."""
from __future__ import annotations

import threading
import time

import pytest

from mldeploy.runtime.pod import LocalPod
from mldeploy.runtime.synthesized_pod import local_image, synthesized_group
from tests.containers import RUN_PREFIX
from tests.containers.checks import drain_losses, scorer_answered
from tests.containers.synthesized import standin_for, synth_and_build
from tests.harness import wrk_while

SERVICE = "diabetes-aci"
READY_WITHIN_S = 240
LOAD_BEFORE_S = 2.0  # wrk runs this long before the group stops
SCORER_FIRST_S = 0.5


@pytest.fixture(params=["mldeploy", "azmlinfsrv"])
def group_of(request, engine, standins, trained_model, work_dir):
    server = request.param
    synth, images = synth_and_build(engine, "dev", server, work_dir)
    src = synthesized_group(synth, SERVICE, lambda ref: local_image(ref, images, synth,
                                                                    lambda up: standin_for(up, standins.images)))
    pod = LocalPod(engine, f"{RUN_PREFIX}-aci-drain-{server}", src.inputs, work_dir / f"aci-drain-{server}")
    pod.start()
    try:
        pod.wait_ready(READY_WITHIN_S)
        yield server, pod, src
    finally:
        pod.remove()


def _env(src, container: str, name: str) -> str:
    spec = next(c for c in src.inputs.spec["containers"] if c["name"] == container)
    return next(e["value"] for e in spec["env"] if e["name"] == name)


@pytest.mark.parametrize("how", ["image", "sigterm", "gateway-sigterm"])
def test_stopping_the_aci_group_under_wrk_loses_no_accepted_request(group_of, tmp_path, how):
    server, pod, src = group_of
    connections = int(_env(src, "scorer", "WORKER_COUNT"))  # the gateway's cap per group

    def stop() -> dict:
        if how == "gateway-sigterm":
            pod.engine.run("kill", "--signal", "TERM", pod.cname("gateway"))
            waited = pod.engine.run("wait", pod.cname("gateway"), check=False, timeout=60)
            return {"gateway": {"exitCode": int(waited.stdout.strip() or -1)}}
        stop_scorer = (("kill", "--signal", "TERM", pod.cname("scorer")) if how == "sigterm"
                       else ("stop", "-t", "30", pod.cname("scorer")))
        scorer = threading.Thread(target=pod.engine.run, args=stop_scorer, kwargs={"check": False, "timeout": 60})
        scorer.start()
        time.sleep(SCORER_FIRST_S)
        stopped = pod.terminate(stop_signal="TERM" if how == "sigterm" else None)
        scorer.join()
        return stopped

    scored_before = scorer_answered(pod)
    counts, text, stopped = wrk_while(stop, f"http://{pod.ip}:{src.port}/score", src.keys[0], connections,
                                      int(LOAD_BEFORE_S + 8), LOAD_BEFORE_S, tmp_path)
    print(f"\n{server}, {how}: {counts}; stopped: {stopped}")
    assert counts["requests"] > 0, text
    problem = drain_losses(counts, scorer_answered(pod) - scored_before, connections, ("read",))
    assert not problem, f"{server}: {problem} while the group stopped ({counts}); stopped: {stopped}\n{text}"
    killed = {name: s for name, s in stopped.items() if s["exitCode"] != 0}
    assert not killed, f"{server}: containers not stopped on their signal within the grace period: {killed}"
