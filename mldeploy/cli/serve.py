"""`mldeploy serve`: the local target - the image's build context served on this machine by the
scorer behind the gateway, no Docker and no Azure account needed."""
from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import click

from mldeploy.cli import find_project_root, project_dir_option
from mldeploy.contract import GATEWAY_PORT


class _Stopped(BaseException):
    """SIGTERM or Ctrl+C while services start: unwinds the start (each server stops its children)."""


def run_dir(root: Path, stack: str, service: str) -> Path:
    return root / ".mldeploy" / "local" / stack / service


def logs_command(stack: str, service: str, target: str) -> str:
    """The command that shows a served service's logs (named in its scorer's 500 bodies);
    `--local` for a service that `pulumi up` deploys to Azure (its logs are Azure's by default)."""
    return f"mldeploy logs --stack {stack} --service {service}" + ("" if target == "local" else " --local")


def sample_for(settings, name: str, root: Path) -> Path | None:
    """The service's sample request, else its image's (the smoke test's input)."""
    service = settings.services[name]
    sample = service.sample_request or settings.images[service.image].sample_request
    return root / sample if sample else None


def select_services(settings, wanted: str | None) -> list[str]:
    from mldeploy.config import ConfigError

    if wanted is not None:
        if wanted not in settings.services:
            known = ", ".join(sorted(settings.services)) or "none"
            raise ConfigError("--service", f"no service {wanted!r} in stack {settings.stack!r}; known: {known}")
        return [wanted]
    from mldeploy.plan.endpoint import is_endpoint

    # Local services, and v2 online endpoints (rehearsed here before `pulumi up`).
    local = [n for n, s in sorted(settings.services.items()) if s.target == "local" or is_endpoint(s)]
    if not local:
        known = ", ".join(sorted(settings.services)) or "none"
        raise ConfigError("--service", f"stack {settings.stack!r} declares no local service or online endpoint: "
                                       f"choose one with --service (known: {known})")
    return local


@click.command("serve")
@click.option("--stack", "-s", default="local", show_default=True, help="Reads stacks/Pulumi.<stack>.yaml.")
@click.option("--service", default=None, help="Serve only this service (any HTTP target's settings).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="The gateway's port on 127.0.0.1 (0: any free port). Default: the service's `port`.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line per service: URIs and keys.")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait for init().")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="PEM certificate (chain) for HTTPS; with --tls-key. Overrides the service's `tls` "
                   "(whose `secure:` values only `pulumi up` can decrypt).")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="PEM private key (unencrypted) of --tls-cert. Read in place by nginx, never copied.")
@click.option("--max-concurrent-requests", type=click.IntRange(1, 1000), default=None,
              help="Answer 503 beyond this many requests in flight, as AKS does "
                   "(default: an AKS service's replicaMaxConcurrentRequests, else no cap).")
@click.option("--containers", is_flag=True,
              help="Run the service as synthesized for its target (an aks/fpga pod or an aci container "
                   "group; images built from their contexts) with podman or docker, instead of local processes.")
@click.option("--image", "image_map", multiple=True, metavar="UPSTREAM=LOCAL",
              help="With --containers: run LOCAL where the pod names UPSTREAM (air-gapped machines).")
@project_dir_option
def command(stack: str, service: str | None, port: int | None, as_json: bool, timeout: float,
            tls_cert: Path | None, tls_key: Path | None, max_concurrent_requests: int | None,
            containers: bool, image_map: tuple[str, ...], project_dir: Path | None) -> None:
    """Serve a stack's services locally (scorer + gateway on 127.0.0.1) until Ctrl+C / SIGTERM,
    after a smoke test with the stack's sample request."""
    from mldeploy.targets import target_of
    from mldeploy.targets.stack import load_stack
    from mldeploy.plan.models import resolve_model
    from mldeploy.render.build_context import render_build_context
    from mldeploy.runtime.client import content_type_for, score
    from mldeploy.runtime.env import EnvError, ensure_env
    from mldeploy.plan.endpoint import is_endpoint
    from mldeploy.plan.front_door import front_door
    from mldeploy.runtime.endpoint_local import LocalEndpoint
    from mldeploy.runtime.local import LocalServer
    from mldeploy.runtime.processes import StartError

    root = project_dir.resolve() if project_dir else find_project_root()
    settings = load_stack(root, stack)
    if containers:
        from mldeploy.cli.serve_containers import serve_containers

        if service is None:
            raise click.UsageError("--containers needs --service")
        if (tls_cert is None) != (tls_key is None):
            raise click.UsageError("--tls-cert and --tls-key go together")
        if any("=" not in m for m in image_map):
            raise click.UsageError("--image takes UPSTREAM=LOCAL")
        if port == 0:
            raise click.UsageError("--containers publishes the gateway on a fixed port: give --port 1024-65535")
        select_services(settings, service)
        serve_containers(root, settings, service, port=GATEWAY_PORT if port is None else port, timeout=timeout, as_json=as_json,
                         tls_files=(tls_cert, tls_key) if tls_cert else None,
                         image_map=dict(m.split("=", 1) for m in image_map),
                         sample=sample_for(settings, service, root))
        return
    names = select_services(settings, service)
    if port is not None and len(names) > 1:
        raise click.UsageError("--port needs --service when the stack has several local services")
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    tls_files = (tls_cert, tls_key) if tls_cert is not None else None

    stopping = []
    starting = [True]

    def _on_signal(signum, _frame):
        stopping.append(signum)
        if starting[0]:
            # Start-up waits (init(), the environment) can be long: stop now, not after them.
            starting[0] = False
            raise _Stopped()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    def info(message: str) -> None:
        click.echo(message, err=True)

    def prepared(image_name: str):
        image = settings.images[image_name]
        models = [resolve_model(m, settings.models[m], root) for m in image.models]
        context = render_build_context(image_name, image, models, root)
        return context, ensure_env(context.env_kind, context.files[context.env_file].decode(), progress=info,
                                   scoring_server=context.scoring_server)

    servers: list = []
    try:
        for name in names:
            svc = settings.services[name]
            if is_endpoint(svc):
                if tls_files or max_concurrent_requests:
                    raise click.UsageError("--tls-cert/--tls-key/--max-concurrent-requests do not apply to an "
                                           "online endpoint: its deployments set maxConcurrentRequestsPerInstance")
                chosen = port or 0
                assets = {i: prepared(i) for i in sorted(set(svc.deployment_images))}
                server = LocalEndpoint(name, svc, {i: a[0] for i, a in assets.items()},
                                       {i: a[1] for i, a in assets.items()}, run_dir(root, stack, name), port=chosen,
                                       logs_command=logs_command(stack, name, svc.target))
                split = ", ".join(f"{n} {d.traffic_percent} %" + (f" (mirror {d.mirror_percent} %)" if d.mirror_percent
                                                                   else "") for n, d in sorted(svc.deployments.items()))
                door = front_door(svc.target)
                info(f"starting {name} ({svc.target} online endpoint): {split}; one scorer per deployment "
                     f"behind a gateway on 127.0.0.1:{chosen or '<any>'}, answering as {svc.target} does: "
                     f"{door.timeout_status} past requestTimeoutMs, {door.capacity_status} beyond "
                     f"{door.admitted_per_max_concurrent} × maxConcurrentRequestsPerInstance, "
                     f"{door.model_error_status} for {door.model_error_case}")
            elif (runner := target_of(svc).local_runner) and (server := runner(
                    name, svc, prepared, run_dir(root, stack, name), port=port or 0,
                    logs_command=logs_command(stack, name, svc.target))) is not None:
                if tls_files or max_concurrent_requests:
                    raise click.UsageError("--tls-cert/--tls-key/--max-concurrent-requests do not apply to "
                                           f"{name}'s split: its ingress is HTTP, each variant's gateway caps as configured")
                shares = ", ".join(f"{label} {image} {percent} %" for label, (image, percent) in server.shares.items())
                info(f"starting {name}: {shares}; one scorer + gateway per variant behind an ingress on "
                     f"127.0.0.1:{port or '<any>'}")
            else:
                context, env = prepared(svc.image)
                chosen = port if port is not None else getattr(svc, "port", GATEWAY_PORT)
                server = LocalServer(name, svc, context, env, run_dir(root, stack, name), port=chosen,
                                     max_concurrent=max_concurrent_requests, tls_files=tls_files,
                                     logs_command=logs_command(stack, name, svc.target),
                                     production=settings.production)
                info(f"starting {name}: scorer + gateway on 127.0.0.1:{chosen or '<any>'}")
            endpoint = server.start(timeout=timeout)
            servers.append(server)
            sample = sample_for(settings, name, root)
            if sample is not None:
                reply = score(endpoint.scoringUri, endpoint.primaryKey, sample.read_bytes(), content_type_for(sample),
                              cafile=endpoint.caFile)
                if not reply.ok:
                    raise StartError(f"smoke test of {name} failed: status {reply.status}: {reply.text()[:500]}")
                info(f"smoke test of {name} ({sample.relative_to(root)}): {reply.status} {reply.text()[:300]}")
            if as_json:
                click.echo(json.dumps({"scoringUri": endpoint.scoringUri, "swaggerUri": endpoint.swaggerUri,
                                       "primaryKey": endpoint.primaryKey, "secondaryKey": endpoint.secondaryKey}))
            else:
                click.echo(f"{name}\n  scoring URI:   {endpoint.scoringUri}\n  swagger URI:   {endpoint.swaggerUri}")
                if endpoint.primaryKey:
                    click.echo(f"  primary key:   {endpoint.primaryKey}\n  secondary key: {endpoint.secondaryKey}")
                if endpoint.caFile:
                    click.echo(f"  certificate:   {endpoint.caFile}")
            sys.stdout.flush()
        starting[0] = False
        info("serving; Ctrl+C (or SIGTERM) stops every process")
        while not stopping:
            time.sleep(0.25)
            for server in servers:
                for event in server.check():
                    info(event)
    except _Stopped:
        info("stopping before every service was ready")
    except (StartError, EnvError) as err:
        starting[0] = False
        for server in servers:
            server.stop()
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    finally:
        for server in servers:
            server.stop()
    info("stopped")
