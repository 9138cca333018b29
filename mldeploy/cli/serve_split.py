"""`mldeploy serve --containers` of a traffic split as synthesized (targets/serving.py
SplitContainers: a container app's labelled revisions): every variant's pod, its gateway published
on a port of its own (the label's URL), and an ingress on 127.0.0.1 splitting by the weights
(runtime/ingress.py), as the platform's ingress does. Each pod's gateway checks the keys, so the
ingress passes them on unchecked."""
from __future__ import annotations

import json
import signal
import sys
import time

import click



def fail(message: str) -> None:
    """serve --containers' one-line error, exit 1 (as mldeploy/cli/serve_containers.py's, which imports this module)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def info(message: str) -> None:
    click.echo(message, err=True)


def run_split(runs, split) -> None:
    """Start every variant's pod and the ingress, smoke-test through the ingress, print where each
    answers, serve until a signal, then stop the ingress (requests in flight finish) and the pods
    as the kubelet would."""
    from mldeploy.contract import SCORE_PATH, SWAGGER_PATH
    from mldeploy.plan.gateway import Upstream
    from mldeploy.runtime.client import content_type_for, score
    from mldeploy.runtime.containers import EngineError
    from mldeploy.runtime.ingress import SplitIngress
    from mldeploy.runtime.local import Endpoint
    from mldeploy.runtime.pod import SERVICE_LABEL, LocalPod, PodError, pod_name
    from mldeploy.runtime.processes import StartError, free_port
    from mldeploy.scoring.scorer_host import LOGS_COMMAND_ENV

    logs_command = f"mldeploy logs --stack {runs.stack} --service {runs.name} --local"
    try:
        for local in sorted({i for src, _ in split.pods.values() for i in src.inputs.images.values()}
                            - set(runs.built.values())):
            runs.engine.ensure_image(local, "the pod's image", f"load it here, or run an image this machine has "
                                                               f"in its place: --image {local}=LOCAL")
    except EngineError as err:
        fail(str(err))
    ports = {label: free_port() for label in split.pods}
    pods = {}
    for label, (src, _) in split.pods.items():
        src.inputs.extra_env.setdefault("scorer", {})[LOGS_COMMAND_ENV] = logs_command
        src.inputs.labels[SERVICE_LABEL] = pod_name(runs.stack, runs.name)  # what `logs --local` lists by
        pods[label] = LocalPod(runs.engine, f"{pod_name(runs.stack, runs.name)}-{label}", src.inputs,
                               runs.work / f"pod-{label}", publish=(f"127.0.0.1:{ports[label]}:{split.gateway_port}",))
    ingress = SplitIngress(runs.work / "ingress", runs.work / "ingress.log", port=runs.port,
                           max_body_mb=split.max_body_mb, scoring_timeout_ms=split.scoring_timeout_ms)
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda s, f: stopping.append(s))
    signal.signal(signal.SIGINT, lambda s, f: stopping.append(s))
    try:
        shares = ", ".join(f"{label} {weight} %" for label, (_, weight) in split.pods.items())
        info(f"starting pods {', '.join(p.name for p in pods.values())} ({shares}) and an ingress splitting them")
        for p in pods.values():
            p.start()
        for p in pods.values():
            p.wait_ready(runs.timeout)
        (runs.work / "ingress").mkdir(parents=True, exist_ok=True)
        port = ingress.start(tuple(Upstream("127.0.0.1", ports[label], weight=weight)
                                   for label, (_, weight) in split.pods.items()))
        uri = f"http://127.0.0.1:{port}{SCORE_PATH}"
        labels = {label: f"http://127.0.0.1:{ports[label]}{SCORE_PATH}" for label in split.pods}
        if runs.sample is not None:
            reply = score(uri, split.keys[0], runs.sample.read_bytes(), content_type_for(runs.sample))
            if not reply.ok:
                raise PodError(f"smoke test of {runs.name} failed: status {reply.status}: "
                               f"{reply.error or reply.text()[:300]}")
            info(f"smoke test of {runs.name}: {reply.status} {reply.text()[:300]}")
        if runs.as_json:
            click.echo(json.dumps({"scoringUri": uri, "swaggerUri": uri.replace(SCORE_PATH, SWAGGER_PATH),
                                   "primaryKey": split.keys[0], "secondaryKey": split.keys[1], "labels": labels}))
        else:
            click.echo(f"{runs.name} ({runs.engine.name} pods, split {shares})\n  scoring URI:   {uri}\n"
                       + "".join(f"  label {label}:{' ' * max(1, 7 - len(label))}{u}\n" for label, u in labels.items())
                       + f"  primary key:   {split.keys[0]}\n  secondary key: {split.keys[1]}")
        sys.stdout.flush()
        # The endpoint file `test --local` reads (runtime/local.py EndpointRecord): the ingress's URI.
        runs.record.publish(Endpoint(uri, uri.replace(SCORE_PATH, SWAGGER_PATH), split.keys[0], split.keys[1]))
        info(f"serving; logs: `{logs_command}` (one label's: --deployment <label>); Ctrl+C (or SIGTERM) stops")
        while not stopping:
            time.sleep(0.25)
            restarted = ingress.check()
            if restarted:
                info(restarted)
            for p in pods.values():
                if not p.ready:
                    info(f"pod {p.name} not ready: {p.describe()}")
                    time.sleep(5)
        ingress.stop(timeout=split.scoring_timeout_ms / 1000 + 5)
        for p in pods.values():
            p.terminate()
    except (PodError, EngineError, StartError) as err:
        fail(str(err).splitlines()[0][:2000])
    finally:
        runs.record.withdraw()
        ingress.stop(timeout=2)
        for p in pods.values():
            p.remove()
    info("stopped")
