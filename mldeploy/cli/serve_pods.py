"""What `serve --containers` does around the pods it runs, whichever way the target synthesized them
(a pod and its canary's, serve_containers.py; a split's revisions, serve_split.py): the images the
pods name checked, each pod marked for `logs`, the stop signals caught, the pods started and
awaited, the smoke test, the watch until a signal, and the stop (pods as the kubelet stops them,
the endpoint file withdrawn first, every pod removed whatever happened)."""
from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import click


def fail(message: str) -> None:
    """serve --containers' one-line error, exit 1."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def info(message: str) -> None:
    click.echo(message, err=True)


def ensure_images(engine, images, built: dict[str, str]) -> None:
    """Every image the pods name that was not built here is one this machine has, or exit 1 saying how."""
    from mldeploy.runtime.containers import EngineError

    try:
        for local in sorted(set(images) - set(built.values())):
            engine.ensure_image(local, "the pod's image", f"load it here, or run an image this machine has "
                                                          f"in its place: --image {local}=LOCAL")
    except EngineError as err:
        fail(str(err))


def mark(pod_src, service_label: str, logs_command: str) -> None:
    """The additions to a pod as synthesized: its scorer's 500 bodies name the command that shows the
    traceback (as `serve` does), and its containers carry the label `logs --local` finds them by."""
    from mldeploy.runtime.pod import SERVICE_LABEL
    from mldeploy.scoring.scorer_host import LOGS_COMMAND_ENV

    pod_src.inputs.extra_env.setdefault("scorer", {})[LOGS_COMMAND_ENV] = logs_command
    pod_src.inputs.labels[SERVICE_LABEL] = service_label


def stop_signals() -> list[int]:
    """From now on SIGTERM and Ctrl+C only ask to stop: the list they append to."""
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda s, f: stopping.append(s))
    signal.signal(signal.SIGINT, lambda s, f: stopping.append(s))
    return stopping


def smoke_test(what: str, uri: str, key: str, sample: Path, *, cafile: str | None = None,
               headers: dict[str, str] | None = None) -> None:
    """POST the sample once; a failed answer raises StartError (the run's one error line)."""
    from mldeploy.runtime.client import content_type_for, score
    from mldeploy.runtime.processes import StartError

    reply = score(uri, key, sample.read_bytes(), content_type_for(sample), cafile=cafile, extra_headers=headers)
    if not reply.ok:
        raise StartError(f"smoke test of {what} failed: status {reply.status}: {reply.error or reply.text()[:300]}")
    info(f"smoke test of {what}: {reply.status} {reply.text()[:300]}")


@contextlib.contextmanager
def pods_running(pods: dict, record, also_stop: tuple[Callable[[], None], ...] = ()) -> Iterator[list[int]]:
    """The block starts and serves `pods` and yields the list a stop signal appends to. Left normally,
    every pod is terminated as the kubelet would; a pod, engine or start error is the one `error:`
    line (exit 1). Either way the endpoint file `record` is withdrawn first (`test --local` stops
    finding it), then `also_stop` (an ingress), then every pod removed."""
    from mldeploy.runtime.containers import EngineError
    from mldeploy.runtime.pod import PodError
    from mldeploy.runtime.processes import StartError

    stopping = stop_signals()
    try:
        yield stopping
        for p in pods.values():
            p.terminate()
    except (PodError, EngineError, StartError) as err:
        fail(str(err).splitlines()[0][:2000])
    finally:
        record.withdraw()
        for stop in also_stop:
            stop()
        for p in pods.values():
            p.remove()
    info("stopped")


def start_and_wait(pods: dict, timeout: float) -> None:
    """Every pod started, then each awaited until Ready (a pod not Ready in `timeout` s raises PodError)."""
    for p in pods.values():
        p.start()
    for p in pods.values():
        p.wait_ready(timeout)


def watch(pods: dict, stopping: list[int], check: Callable[[], str | None] = lambda: None) -> None:
    """Until a stop signal: every quarter second `check` (a line to show, or None) and every pod's
    readiness (a pod not Ready is described, then a 5 s pause)."""
    while not stopping:
        time.sleep(0.25)
        line = check()
        if line:
            info(line)
        for p in pods.values():
            if not p.ready:
                info(f"pod {p.name} not ready: {p.describe()}")
                time.sleep(5)
