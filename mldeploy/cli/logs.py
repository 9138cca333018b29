"""`mldeploy logs`: a service's logs - the scorer's (its tracebacks) and the gateway's.

Served on this machine (`target: local`, or `--local` for a service `mldeploy serve` rehearses):
the log files `serve` writes and the containers `serve --containers` runs, merged by time and
prefixed. Deployed: what Azure keeps (see
mldeploy/azure/logs.py) - the names come from the stack file (service, deployments, namespace
labels) and from `pulumi stack output` (resource group, workspace, endpoint and container group
names, the AKS kubeconfig), so the Pulumi CLI and Azure credentials are needed, and named when
missing."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable

import click

from mldeploy.cli import find_project_root, project_dir_option

FOLLOW_POLL_S = 5.0  # between two reads of Azure's logs with --follow
LOCAL_FOLLOW_POLL_S = 1.0  # between two reads of `serve --containers`' container logs with --follow
FOLLOW_WINDOW = 1000  # lines read back each time (Azure's calls take a tail, not an offset)


@click.command("logs")
@click.option("--stack", "-s", required=True, help="Reads stacks/Pulumi.<stack>.yaml.")
@click.option("--service", required=True, help="The service (a key of `services`).")
@click.option("--deployment", default=None, help="Online endpoints (and AKS variants): only this deployment.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until Ctrl+C.")
@click.option("--tail", type=click.IntRange(0, 100_000), default=100, show_default=True,
              help="Lines to show first (per container for a deployed service).")
@click.option("--container", default=None,
              help="Only this container: scorer or gateway (ACI, AKS); inference-server (default) or "
                   "storage-initializer (online endpoints).")
@click.option("--local", "local", is_flag=True,
              help="The logs of `mldeploy serve` on this machine (the default for `target: local`).")
@project_dir_option
def command(stack: str, service: str, deployment: str | None, follow: bool, tail: int, container: str | None,
            local: bool, project_dir: Path | None) -> None:
    """Show a service's scorer and gateway logs: local ones merged by time, deployed ones from Azure."""
    from mldeploy.cli.serve import select_services
    from mldeploy.targets.stack import load_stack
    from mldeploy.targets import target_of

    root = project_dir.resolve() if project_dir else find_project_root()
    settings = load_stack(root, stack)
    select_services(settings, service)  # an unknown service: one line naming the known ones
    svc = settings.services[service]
    target = target_of(svc)
    deployments = (*target.deployments(svc), *target.log_variants(svc))
    if deployment is not None and deployment not in deployments:
        if not deployments:  # was ignored: every log of the service shown as if it were that deployment's
            raise click.UsageError(f"--deployment: service {service!r} (target {target.name}) has no deployments "
                                   "or variants; it names an online endpoint's deployment, an AKS or FPGA "
                                   "canary's variant (stable, canary) or a container app's revision")
        raise click.UsageError(f"--deployment: service {service!r} has no deployment {deployment!r}; "
                               f"it has {', '.join(deployments)}")
    stopping = _stop_on_ctrl_c() if follow else (lambda: True)
    if local or target.runs_here:
        _local(root, stack, service, deployment, follow, tail, container, stopping,
               pod=target.containers is not None)  # `serve --containers` may run it: its pod's logs too
    else:
        _deployed(root, stack, service, svc, target, deployment, follow, tail, container, stopping)


def _stop_on_ctrl_c() -> Callable[[], bool]:
    import signal

    stopped = []

    def on_signal(signum, _frame):
        stopped.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return lambda: bool(stopped)


# -- served on this machine ----------------------------------------------------------------------

def _local(root: Path, stack: str, service: str, deployment: str | None, follow: bool, tail: int,
           container: str | None, stopping: Callable[[], bool], pod: bool) -> None:
    from mldeploy.cli.serve import run_dir
    from mldeploy.runtime.logs import (LogSource, container_lines, file_lines, follow as follow_files, local_sources,
                                       merge, merged_tail)
    from mldeploy.runtime.pod import pod_name

    folder = run_dir(root, stack, service)
    every = local_sources(folder, deployment)
    sources = [s for s in every if container in (None, s.name.rsplit("/", 1)[-1])]
    engine, running = _pod_containers(stack, service, container, deployment) if pod else (None, [])
    if every and not sources and not running:  # logs there are, but none of --container
        names = sorted({s.name.rsplit("/", 1)[-1] for s in every})
        raise click.UsageError(f"--container: {container!r}: the logs of service {service!r} on this machine are "
                               f"of {' and '.join(names)}")
    if not sources and not running:
        raise click.UsageError(f"no logs of service {service!r} on this machine ({_shown(folder, root)} holds none "
                               f"and no container of pod {pod_name(stack, service)} runs): `mldeploy serve --stack "
                               f"{stack} --service {service}` (or `serve --containers`) writes them")
    if not running:
        for line in merged_tail(sources, tail):
            click.echo(line)
        if follow:
            follow_files(sources, lambda line: click.echo(line), stopping)
        return

    def fetch(lines: int | None) -> list[tuple[str, str]]:
        return [(c.name, "\n".join(container_lines(engine, c, lines))) for c in running]

    def merged(texts: list[tuple[str, str]]) -> list[str]:
        return merge((LogSource(name, Path()), text.splitlines()) for name, text in texts)

    lines = merge([*((s, file_lines(s.path)) for s in sources),
                   *((LogSource(name, Path()), text.splitlines()) for name, text in fetch(None))])
    for line in lines[-tail:] if tail else []:
        click.echo(line)
    if follow:
        if sources:  # `serve` and `serve --containers` of one service at once: both followed
            import threading

            threading.Thread(target=follow_files, args=(sources, lambda line: click.echo(line), stopping),
                             daemon=True).start()
        follow_remote(lambda: fetch(FOLLOW_WINDOW), lambda texts: [click.echo(line) for line in merged(texts)],
                      stopping, seen=fetch(FOLLOW_WINDOW), poll_s=LOCAL_FOLLOW_POLL_S)


def _pod_containers(stack: str, service: str, container: str | None, deployment: str | None):
    """(the engine, the running containers of the service's `serve --containers` pod - of one
    deployment with `deployment`), or (None, []) when no container engine answers."""
    from mldeploy.runtime.containers import ENGINES, EngineError, find_engine
    from mldeploy.runtime.logs import pod_sources
    from mldeploy.runtime.pod import pod_name

    if not any(shutil.which(name) for name in ENGINES):
        return None, []
    try:
        engine = find_engine()
    except EngineError:
        return None, []
    return engine, [c for c in pod_sources(engine, pod_name(stack, service), deployment) if container in (None, c.name)]


# -- deployed: what Azure keeps --------------------------------------------------------------------

def stack_outputs(root: Path, stack: str) -> dict:
    """`pulumi stack output --json --show-secrets` of stack `stack` (the kubeconfig is a secret)."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise click.ClickException(
            f"the logs of deployed stack {stack!r} need the names `pulumi up` gave its resources, read with "
            "`pulumi stack output`, and the Pulumi CLI is not on PATH: install it "
            "(https://www.pulumi.com/docs/install/) and `pulumi login`; `--local` shows the logs of "
            "`mldeploy serve` and `serve --containers` without it")
    done = subprocess.run([pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack],
                          cwd=root, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise click.ClickException(f"`pulumi stack output --stack {stack}` failed: {why} (logged in to the stack's "
                                   "backend with `pulumi login`? deployed with `pulumi up`?)")
    try:
        return json.loads(done.stdout or "{}")
    except ValueError:
        raise click.ClickException(f"`pulumi stack output --json --stack {stack}` printed no JSON") from None


def _deployed(root: Path, stack: str, service: str, svc, target, deployment: str | None, follow: bool, tail: int,
              container: str | None, stopping: Callable[[], bool]) -> None:
    """What Azure keeps, read by the target's own reader (the table's `logs` hook)."""
    from mldeploy.azure.logs import LogsError
    from mldeploy.targets import TARGETS

    if target.logs is None:
        readers = ", ".join(t.name for t in TARGETS if t.logs is not None or t.runs_here)
        raise click.UsageError(f"service {service!r} (target {target.name}): its logs are not kept where "
                               f"mldeploy reads them; mldeploy logs reads {readers} services")
    if container not in (None, *target.log_containers):
        raise click.UsageError(f"--container: a {target.name} service has {', '.join(target.log_containers)}")
    outputs = stack_outputs(root, stack)
    mine = (outputs.get("services") or {}).get(service)
    if not mine:
        raise click.ClickException(f"stack {stack!r} has no outputs for service {service!r}: deploy it first "
                                   "(`pulumi up`)")

    def fetch(lines: int | None) -> list[tuple[str, str]]:
        return target.logs(outputs, mine, service, svc, deployment, container, lines)

    from mldeploy.runtime.logs import LogSource, merge

    def merged(texts: list[tuple[str, str]]) -> list[str]:
        return merge((LogSource(name, Path()), text.splitlines()) for name, text in texts)

    try:
        for line in merged(fetch(tail)):
            click.echo(line)
        if follow:
            follow_remote(lambda: fetch(FOLLOW_WINDOW), lambda texts: [click.echo(line) for line in merged(texts)],
                          stopping, seen=fetch(FOLLOW_WINDOW))
    except LogsError as err:
        raise click.ClickException(str(err)) from None


def follow_remote(fetch: Callable[[], list[tuple[str, str]]], emit: Callable[[list[tuple[str, str]]], None],
                  stop: Callable[[], bool], *, seen: list[tuple[str, str]], poll_s: float = FOLLOW_POLL_S,
                  sleep: Callable[[float], None] = time.sleep) -> None:
    """Read the logs again every `poll_s` and emit, per source, the lines after those seen."""
    last = {name: text.splitlines() for name, text in seen}
    while not stop():
        sleep(poll_s)
        if stop():
            return
        fresh = []
        for name, text in fetch():
            lines = text.splitlines()
            fresh.append((name, "\n".join(new_lines(last.get(name, []), lines))))
            last[name] = lines
        emit([(n, t) for n, t in fresh if t])


def new_lines(before: list[str], now: list[str]) -> list[str]:
    """The lines of `now` after its overlap with the end of `before` (both windows of one log)."""
    for k in range(min(len(before), len(now)), 0, -1):
        if now[:k] == before[-k:]:
            return now[k:]
    return now


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
