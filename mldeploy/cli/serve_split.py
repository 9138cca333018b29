"""`mldeploy serve --containers` of a traffic split as synthesized (targets/serving.py
SplitContainers: a container app's labelled revisions): every variant's pod, its gateway published
on a port of its own (the label's URL), and an ingress on 127.0.0.1 splitting by the weights
(runtime/ingress.py), as the platform's ingress does. Each pod's gateway checks the keys, so the
ingress passes them on unchecked."""
from __future__ import annotations

import json
import sys

import click

from mldeploy.cli.serve_pods import ensure_images, info, mark, pods_running, smoke_test, start_and_wait, watch


def run_split(runs, split) -> None:
    """Start every variant's pod and the ingress, smoke-test through the ingress, print where each
    answers, serve until a signal, then stop the ingress (requests in flight finish) and the pods
    as the kubelet would."""
    from mldeploy.contract import SCORE_PATH, SWAGGER_PATH
    from mldeploy.plan.gateway import Upstream
    from mldeploy.runtime.ingress import SplitIngress
    from mldeploy.runtime.local import Endpoint
    from mldeploy.runtime.pod import LocalPod, pod_name
    from mldeploy.runtime.processes import free_port

    logs_command = f"mldeploy logs --stack {runs.stack} --service {runs.name} --local"
    ensure_images(runs.engine, {i for src, _ in split.pods.values() for i in src.inputs.images.values()}, runs.built)
    ports = {label: free_port() for label in split.pods}
    pods = {}
    for label, (src, _) in split.pods.items():
        mark(src, pod_name(runs.stack, runs.name), logs_command)
        pods[label] = LocalPod(runs.engine, f"{pod_name(runs.stack, runs.name)}-{label}", src.inputs,
                               runs.work / f"pod-{label}", publish=(f"127.0.0.1:{ports[label]}:{split.gateway_port}",))
    ingress = SplitIngress(runs.work / "ingress", runs.work / "ingress.log", port=runs.port,
                           max_body_mb=split.max_body_mb, scoring_timeout_ms=split.scoring_timeout_ms)
    with pods_running(pods, runs.record, also_stop=(lambda: ingress.stop(timeout=2),)) as stopping:
        shares = ", ".join(f"{label} {weight} %" for label, (_, weight) in split.pods.items())
        info(f"starting pods {', '.join(p.name for p in pods.values())} ({shares}) and an ingress splitting them")
        start_and_wait(pods, runs.timeout)
        (runs.work / "ingress").mkdir(parents=True, exist_ok=True)
        port = ingress.start(tuple(Upstream("127.0.0.1", ports[label], weight=weight)
                                   for label, (_, weight) in split.pods.items()))
        uri = f"http://127.0.0.1:{port}{SCORE_PATH}"
        labels = {label: f"http://127.0.0.1:{ports[label]}{SCORE_PATH}" for label in split.pods}
        if runs.sample is not None:
            smoke_test(runs.name, uri, split.keys[0], runs.sample)
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
        watch(pods, stopping, check=ingress.check)
        ingress.stop(timeout=split.scoring_timeout_ms / 1000 + 5)
