"""`mldeploy serve`: the local target - the image's build context served on this machine by the
scorer behind the gateway, no Docker and no Azure account needed.

Which services it runs and how comes from the target table (mldeploy/targets): a target's
`local_runner` builds what runs (from its serve plan, plan/serve.py); `served_by_default` says
whether `serve` without --service runs it; `runs_here` whether its logs are this machine's."""
from __future__ import annotations

import json
import math
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import click

from mldeploy.cli import find_project_root, project_dir_option
from mldeploy.contract import GATEWAY_PORT


def run_dir(root: Path, stack: str, service: str) -> Path:
    return root / ".mldeploy" / "local" / stack / service


def logs_command(stack: str, service: str, runs_here: bool) -> str:
    """The command that shows a served service's logs (named in its scorer's 500 bodies);
    `--local` for a service that `pulumi up` deploys to Azure (its logs are Azure's by default)."""
    return f"mldeploy logs --stack {stack} --service {service}" + ("" if runs_here else " --local")


def sample_for(settings, name: str, root: Path) -> Path | None:
    """The service's sample request, else its image's (the smoke test's input)."""
    service = settings.services[name]
    sample = service.sample_request or settings.images[service.image].sample_request
    return root / sample if sample else None


def select_services(settings, wanted: str | None) -> list[str]:
    """`--service`, checked; else every service whose target `serve` runs by default (local
    services, and v2 online endpoints rehearsed here before `pulumi up`), or the stack's only
    service when `serve` can run it."""
    from mldeploy.config import ConfigError
    from mldeploy.targets import target_of

    if wanted is not None:
        if wanted not in settings.services:
            known = ", ".join(sorted(settings.services)) or "none"
            raise ConfigError("--service", f"no service {wanted!r} in stack {settings.stack!r}; known: {known}"
                                           + "".join(f"; {hint}" for hint in _elsewhere(settings, wanted)))
        return [wanted]
    if not settings.services and (hints := _elsewhere(settings, None)):
        # A stack of batch or edge entries only (hwalk3: `serve --stack edge` read 'choose one with --service
        # (known: none)'): what runs each of them instead.
        raise ConfigError("--stack", f"stack {settings.stack!r} declares no service; " + "; ".join(hints))
    local = [n for n, s in sorted(settings.services.items()) if target_of(s).served_by_default]
    if not local:
        # A stack of one service rehearsed here only on request (init's prod: one AKS service): that
        # one, as `serve --stack prod` reads (hday2's day 2 was refused, naming the only choice).
        here = [n for n, s in sorted(settings.services.items()) if target_of(s).local_runner is not None]
        if len(settings.services) == 1 and here:
            return here
        known = ", ".join(sorted(settings.services)) or "none"
        raise ConfigError("--service", f"stack {settings.stack!r} declares no local service or online endpoint: "
                                       f"choose one with --service (known: {known})")
    return local


def _elsewhere(settings, wanted: str | None) -> list[str]:
    """What runs the stack's section entries here (all of them, or the one named `wanted`), from their rows."""
    from mldeploy.targets import SECTION_TARGETS

    return [t.elsewhere(settings.stack, name, entry) for t in SECTION_TARGETS if t.elsewhere is not None
            for name, entry in sorted(t.entries(settings).items()) if wanted in (None, name)]


def _not_nan(value: float) -> float:
    """click's FloatRange lets NaN through (every comparison with it is false)."""
    if math.isnan(value):
        raise click.BadParameter("nan is not a number of seconds; give seconds > 0, or inf for no limit")
    return value


@click.command("serve")
@click.option("--stack", "-s", default="local", show_default=True, help="Reads stacks/Pulumi.<stack>.yaml.")
@click.option("--service", default=None, help="Serve only this service (any HTTP target's settings).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="The gateway's port on 127.0.0.1 (0: any free port). Default: the service's `port`.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line per service: URIs and keys.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=120.0, show_default=True,
              callback=lambda _ctx, _param, value: _not_nan(value),
              help="Seconds to wait for init() (inf: no limit).")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="PEM certificate (chain) for HTTPS; with --tls-key. Overrides the service's `tls` "
                   "(whose `secure:` values only `pulumi up` can decrypt).")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="PEM private key (unencrypted) of --tls-cert. Read in place by nginx, never copied.")
@click.option("--max-concurrent-requests", type=click.IntRange(1, 1000), default=None,
              help="Answer 503 beyond this many requests in flight, as AKS does "
                   "(default: an AKS service's replicaMaxConcurrentRequests, else no cap).")
@click.option("--containers", is_flag=True,
              help="Run the service as synthesized for its target (its containers as the synth output "
                   "declares them, images built from their contexts) with podman or docker, instead of local "
                   "processes; a target with nothing to run here names the ones that have.")
@click.option("--image", "image_map", multiple=True, metavar="UPSTREAM=LOCAL",
              help="With --containers: run LOCAL where the synthesized service names UPSTREAM (air-gapped machines).")
@click.option("--reload", is_flag=True,
              help="Watch what the images ship (entry script, sourceDirectory as .amlignore leaves it, models, "
                   "environment file) and the stack file; on a change start new scorers and swap them in once "
                   "their init() has finished (the gateway, its port and keys stay). Needs mldeploy[reload].")
@project_dir_option
def command(stack: str, service: str | None, port: int | None, as_json: bool, timeout: float,
            tls_cert: Path | None, tls_key: Path | None, max_concurrent_requests: int | None,
            containers: bool, image_map: tuple[str, ...], reload: bool, project_dir: Path | None) -> None:
    """Serve a stack's services locally (scorer + gateway on 127.0.0.1) until Ctrl+C / SIGTERM,
    after a smoke test with the stack's sample request."""
    from mldeploy.config.source_directory import walks_cached
    from mldeploy.targets.stack import load_stack

    if image_map and not containers:
        raise click.UsageError("--image goes with --containers (it names the image a container runs)")
    if reload and containers:
        raise click.UsageError("--reload runs with local processes; --containers builds images: run it again "
                               "after a change")
    if reload:
        from mldeploy.cli.serve_reload import require_watchfiles
        require_watchfiles()
    root = project_dir.resolve() if project_dir else find_project_root()
    # One walk of each sourceDirectory for the start: the load-time rule, the script warnings and
    # every build context share it (three walks of up to 2000 files each before). The scope ends
    # once the services answer (`_Serving.run`): a walk done later (a --reload) reads the folder anew.
    start_scope = ExitStack()
    start_scope.enter_context(walks_cached())
    with start_scope:
        settings = load_stack(root, stack)
        _serve(root, settings, start_scope=start_scope, service=service, port=port, timeout=timeout,
               as_json=as_json, tls_files=(tls_cert, tls_key), max_concurrent_requests=max_concurrent_requests,
               containers=containers, image_map=image_map, reload=reload)


def _serve(root: Path, settings, *, start_scope: ExitStack, service: str | None, port: int | None, timeout: float,
           as_json: bool, tls_files: tuple[Path | None, Path | None], max_concurrent_requests: int | None,
           containers: bool, image_map: tuple[str, ...], reload: bool) -> None:
    tls_cert, tls_key = tls_files
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    tls_files = (tls_cert, tls_key) if tls_cert is not None else None
    if tls_files is not None:
        # The same check serving runs (nginx's needs), before anything starts: an argument's
        # mistake is a usage error (exit 2), not a failed start.
        from mldeploy.runtime.local import StartError, check_tls_files

        try:
            check_tls_files(*tls_files)
        except StartError as err:
            raise click.BadParameter(str(err), param_hint="'--tls-cert' / '--tls-key'") from None
    if containers:
        _serve_containers(root, settings, service, port, timeout, as_json, tls_files, image_map)
        return
    names = select_services(settings, service)
    if port is not None and len(names) > 1:
        raise click.UsageError("--port needs --service when the stack has several local services")
    _Serving(root, settings, port=port, timeout=timeout, as_json=as_json, tls_files=tls_files,
             max_concurrent=max_concurrent_requests, reload=reload).run(names, started=start_scope.close)


def _serve_containers(root: Path, settings, service: str | None, port: int | None, timeout: float, as_json: bool,
                      tls_files: tuple[Path, Path] | None, image_map: tuple[str, ...]) -> None:
    from mldeploy.cli.serve_containers import serve_containers

    if service is None:
        raise click.UsageError("--containers needs --service")
    if any("=" not in m for m in image_map):
        raise click.UsageError("--image takes UPSTREAM=LOCAL")
    if port == 0:
        raise click.UsageError("--containers publishes the gateway on a fixed port: give --port 1024-65535")
    select_services(settings, service)
    serve_containers(root, settings, service, port=GATEWAY_PORT if port is None else port, timeout=timeout,
                     as_json=as_json, tls_files=tls_files, image_map=dict(m.split("=", 1) for m in image_map),
                     sample=sample_for(settings, service, root),
                     record_dir=run_dir(root, settings.stack, service))  # plain serve's: `test --local` reads it


def info(message: str) -> None:
    click.echo(message, err=True)


class _Serving:
    """One `serve` run: start each service (its target's local runner, smoke test, URIs printed),
    supervise them until a signal, stop them all."""

    def __init__(self, root: Path, settings, *, port: int | None, timeout: float, as_json: bool,
                 tls_files: tuple[Path, Path] | None, max_concurrent: int | None, reload: bool = False):
        self.root, self.settings, self.reload = root, settings, reload
        self._log_marks: dict[Path, int] = {}  # each scorer log's size before this run started
        self.port, self.timeout, self.as_json = port, timeout, as_json
        self.tls_files, self.max_concurrent = tls_files, max_concurrent
        self.servers: dict[str, object] = {}
        self.stopping: list[int] = []
        self.starting = True
        self.reloading = False  # a --reload is swapping a scorer: a stop signal ends it at once

    def run(self, names: list[str], started=lambda: None) -> None:
        """Start `names`, then serve until a signal; `started()` is called once every one answers
        (it ends the start's one walk of each sourceDirectory)."""
        from mldeploy.runtime.env import EnvError
        from mldeploy.runtime.processes import STOP_REQUESTED, StartError, StopRequested

        from mldeploy.contract import stack_file_path
        from mldeploy.plan.script_checks import script_warnings

        # What synth warns of an entry script (a module next to it the image does not carry, a model
        # file its model does not hold): said before the scorer fails on it, not only by synth.
        from mldeploy.plan.v1_script import v2_core_warnings
        # ... and what a v2 endpoint stops on in Azure (its rehearsal stops there too, runtime/local.py
        # v2_deployment_env): said before the scorer fails on it.
        # ... and a model pickled by another scikit-learn than its environment pins (plan/model_libraries.py).
        from mldeploy.plan.model_libraries import model_library_warnings
        ahead = [*script_warnings(self.settings, self.root), *v2_core_warnings(self.settings, self.root).values(),
                 *model_library_warnings(self.settings, self.root)]
        for warning in ahead:
            info(f"warning: {stack_file_path(self.settings.stack)}: {warning}")
        STOP_REQUESTED.clear()
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        reloader = None
        try:
            for name in names:
                self._start(name)
            self.starting = False
            started()
            if self.reload:
                reloader = self._reloader()
            info("serving; Ctrl+C (or SIGTERM) stops every process"
                 + ("; --reload: a saved change starts new scorers" if reloader else ""))
            while not self.stopping:
                time.sleep(0.25)
                for server in self.servers.values():
                    for event in server.check():
                        info(event)
                if reloader is not None and not self.stopping:
                    self.reloading = True
                    try:
                        reloader.poll()
                    finally:
                        self.reloading = False
                    self.settings = reloader.settings
        except StopRequested:  # each server stopped its children on the way out
            info("stopping" if reloader is not None else "stopping before every service was ready")
        except (StartError, EnvError) as err:
            self.starting = False
            self._stop_all()
            click.echo(f"error: {err}", err=True)
            sys.exit(1)
        finally:
            if reloader is not None:
                reloader.stop()
            self._stop_all()
            STOP_REQUESTED.clear()  # this run's: a later start in this process waits as usual
        info("stopped")

    def _on_signal(self, signum, _frame) -> None:
        from mldeploy.runtime.processes import STOP_REQUESTED, StopRequested  # loaded by run() already

        self.stopping.append(signum)
        if self.starting or self.reloading:
            # Start-up waits (init(), the environment) can be long: stop now, not after them. The
            # event stops the readiness wait should this raise be lost (runtime/processes.py).
            self.starting = self.reloading = False
            STOP_REQUESTED.set()
            raise StopRequested()

    def _stop_all(self) -> None:
        from mldeploy.runtime.local import mark_stopping

        for server in self.servers.values():  # all at once: a `serve` started meanwhile waits for each
            if getattr(server, "run_dir", None) is not None:
                mark_stopping(server.run_dir)
        for server in self.servers.values():
            server.stop()

    def _reloader(self):
        from mldeploy.cli.serve_reload import Reloader
        from mldeploy.runtime.processes import StartError
        from mldeploy.targets import target_of

        def logs(name: str) -> str:
            return logs_command(self.settings.stack, name, target_of(self.settings.services[name]).runs_here)

        def smoke_test(settings, name: str, endpoint) -> None:
            self._smoke_test(name, endpoint, StartError, settings)

        return Reloader(self.root, self.settings, self.servers, prepare=self._prepared, smoke_test=smoke_test,
                        timeout=self.timeout, logs_command=logs, info=info)

    def _start(self, name: str) -> None:
        from mldeploy.runtime.processes import StartError
        from mldeploy.targets import target_of
        from mldeploy.targets.target import LocalServe, ServeRefused

        svc = self.settings.services[name]
        target = target_of(svc)
        if target.local_runner is None:
            raise click.UsageError(f"service {name!r} (target {target.name}) is not served on this machine; "
                                   "`mldeploy serve` runs HTTP scoring services")
        stack = self.settings.stack
        serve = LocalServe(stack=self.settings, prepared=self._prepared, run_dir=run_dir(self.root, stack, name),
                           port=self.port, logs_command=logs_command(stack, name, target.runs_here),
                           tls_files=self.tls_files, max_concurrent=self.max_concurrent, info=info)
        self._log_marks = {log: log.stat().st_size for log in serve.run_dir.rglob("scorer.log")}
        try:
            server = target.local_runner(name, svc, serve)  # the one way a target is served here
        except ServeRefused as err:
            raise click.UsageError(str(err)) from None
        endpoint = server.start(timeout=self.timeout)
        self.servers[name] = server
        self._smoke_test(name, endpoint, StartError)
        self._print(name, endpoint)

    def _prepared(self, image_name: str, settings=None):
        """The image's build context and the scoring environment it runs in here (of `settings`: a
        reload's; default: the stack as serve started it)."""
        from mldeploy.plan.models import resolve_model
        from mldeploy.render.build_context import render_build_context
        from mldeploy.runtime.env import ensure_env

        settings = settings or self.settings
        image = settings.images[image_name]
        models = [resolve_model(m, settings.models[m], self.root) for m in image.models]
        context = render_build_context(image_name, image, models, self.root)
        return context, ensure_env(context.env_kind, context.env_text, progress=info, constraints=context.env_constraints,
                                   scoring_server=context.scoring_server)

    def _smoke_test(self, name: str, endpoint, error: type[Exception], settings=None) -> None:
        from mldeploy.runtime.client import content_type_for, score

        sample = sample_for(settings or self.settings, name, self.root)
        if sample is None:
            return
        reply = score(endpoint.scoringUri, endpoint.primaryKey, sample.read_bytes(), content_type_for(sample),
                      cafile=endpoint.caFile)
        if not reply.ok:
            raise error(f"smoke test of {name} failed: status {reply.status}: {reply.text()[:500]}"
                        + self._scorer_said(name))
        info(f"smoke test of {name} ({sample.relative_to(self.root)}): {reply.status} {reply.text()[:300]}")

    def _scorer_said(self, name: str) -> str:
        """The exception a failed smoke test left in the service's newest scorer log, as a suffix:
        the 500 body only points at `mldeploy logs`, and serve has stopped by the time it is read."""
        from mldeploy.runtime.processes import last_error

        logs = sorted(run_dir(self.root, self.settings.stack, name).rglob("scorer.log"), key=lambda p: p.stat().st_mtime)
        if not logs:
            return ""
        with logs[-1].open("rb") as log:  # only what this run wrote (a log is appended to across runs)
            mark = self._log_marks.get(logs[-1], 0)
            log.seek(mark if mark <= logs[-1].stat().st_size else 0)
            lines = log.read().decode(errors="replace").splitlines()[-80:]
        line = last_error([line for line in lines if "Traceback" not in line])
        return f"; the scorer logged: {line[-300:]}" if line else ""

    def _print(self, name: str, endpoint) -> None:
        if self.as_json:
            click.echo(json.dumps({"scoringUri": endpoint.scoringUri, "swaggerUri": endpoint.swaggerUri,
                                   "primaryKey": endpoint.primaryKey, "secondaryKey": endpoint.secondaryKey}))
        else:
            click.echo(f"{name}\n  scoring URI:   {endpoint.scoringUri}\n  swagger URI:   {endpoint.swaggerUri}")
            if endpoint.primaryKey:
                click.echo(f"  primary key:   {endpoint.primaryKey}\n  secondary key: {endpoint.secondaryKey}")
            if endpoint.caFile:
                click.echo(f"  certificate:   {endpoint.caFile}")
        sys.stdout.flush()
