"""`mldeploy serve --containers`: a service exactly as synthesized for its target - an AKS or
FPGA service's pod, or an ACI container group - its images built from their build contexts, the
same gateway config, keys, probes and security settings, run with podman or docker on this
machine, the gateway published on 127.0.0.1. (FPGA node placement has no meaning here.)"""
from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
from pathlib import Path

import click

from mldeploy.runtime.pod import PodError


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def serve_containers(root: Path, settings, name: str, *, port: int, timeout: float, as_json: bool,
                     tls_files: tuple[Path, Path] | None, image_map: dict[str, str], sample: Path | None) -> None:
    from mldeploy.runtime.client import content_type_for, score
    from mldeploy.runtime.containers import EngineError, find_engine, image_map_lookup
    from mldeploy.runtime.pod import LocalPod, pod_name
    from mldeploy.scoring.scorer_host import LOGS_COMMAND_ENV
    from mldeploy.runtime.synthesized_pod import (PodSourceError, build_images, local_image, synthesized_group,
                                                  synthesized_pod)
    from mldeploy.synth.run import synthesize
    from mldeploy.synth.write import prepare_out_dir, write_result

    from mldeploy.config.endpoint import EndpointSettings

    svc = settings.services[name]
    endpoint_service = isinstance(svc, EndpointSettings)
    if svc.target not in ("aks", "fpga", "aci") and not endpoint_service:
        fail(f"--containers runs an aks, fpga, aci, managed or kubernetes-endpoint service as synthesized; "
             f"service {name!r} is target {svc.target!r} (serve it without --containers)")
    try:
        engine = find_engine()
    except EngineError as err:
        fail(str(err))
    work = root / ".mldeploy" / "containers" / settings.stack / name
    info = lambda m: click.echo(m, err=True)  # noqa: E731
    if engine.settings:
        info(f"{engine.name} runs with mldeploy's engine settings {engine.settings} (podman has none of its own; "
             "set CONTAINERS_CONF to use others)")
    info(f"synthesizing stack {settings.stack!r} (the manifests the cluster would get)")
    out = work / "synth"
    prepare_out_dir(out)
    with contextlib.redirect_stdout(sys.stderr):
        write_result(synthesize(root, settings.stack, out / "images"), out)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    info(f"building the images with {engine.name} (logs in {work / 'logs'})")
    try:
        built = build_images(engine, out, work / "logs")
    except EngineError as err:
        fail(str(err))
    if endpoint_service:
        _serve_endpoint(engine, settings.stack, name, svc, built, work, port=port, timeout=timeout,
                        as_json=as_json, sample=sample)
        return
    tls = None
    if tls_files is not None:
        tls = (tls_files[0].read_text(), tls_files[1].read_text())
    images = lambda ref: local_image(ref, built, out, lambda up: image_map_lookup(image_map, up) or up)  # noqa: E731
    try:
        if svc.target == "aci":
            pod_src = synthesized_group(out, name, images, tls=tls)
            gateway_port = pod_src.port
        else:
            pod_src = synthesized_pod(out, svc.namespace or name, name, images, tls=tls)
            gateway = next(c for c in pod_src.inputs.spec["containers"] if c["name"] == "gateway")
            gateway_port = next(p["containerPort"] for p in gateway["ports"] if p["name"] == "gateway")
    except PodSourceError as err:
        fail(f"{err}" + ("" if tls else "; if this service serves HTTPS, give --tls-cert and --tls-key"))
    try:
        for local in sorted(set(pod_src.inputs.images.values()) - set(built.values())):
            engine.ensure_image(local, "the pod's image", f"load it here, or run an image this machine has in its "
                                                          f"place: --image {local}=LOCAL")
    except EngineError as err:
        fail(str(err))
    # The one addition to the pod as synthesized, as `serve` does for its scorer: the scorer's 500
    # bodies name the command that shows the traceback.
    logs = f"mldeploy logs --stack {settings.stack} --service {name} --local"
    pod_src.inputs.extra_env.setdefault("scorer", {})[LOGS_COMMAND_ENV] = logs
    pod = LocalPod(engine, pod_name(settings.stack, name), pod_src.inputs, work / "pod",
                   publish=(f"127.0.0.1:{port}:{gateway_port}",))
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda s, f: stopping.append(s))
    signal.signal(signal.SIGINT, lambda s, f: stopping.append(s))
    try:
        info(f"starting pod {pod.name}: {', '.join(pod.states)}")
        pod.start()
        pod.wait_ready(timeout)
        scheme = "https" if tls else "http"
        uri = f"{scheme}://127.0.0.1:{port}/score"
        cafile = str(tls_files[0]) if tls_files else None
        if sample is not None:
            reply = score(uri, pod_src.keys[0], sample.read_bytes(), content_type_for(sample), cafile=cafile)
            if not reply.ok:
                raise PodError(f"smoke test of {name} failed: status {reply.status}: {reply.error or reply.text()[:300]}")
            info(f"smoke test of {name}: {reply.status} {reply.text()[:300]}")
        endpoint = {"scoringUri": uri, "swaggerUri": uri.replace("/score", "/swagger.json"),
                    "primaryKey": pod_src.keys[0], "secondaryKey": pod_src.keys[1]}
        if as_json:
            click.echo(json.dumps(endpoint))
        else:
            click.echo(f"{name} (pod {pod.name}, {engine.name})\n  scoring URI:   {uri}\n"
                       f"  primary key:   {pod_src.keys[0]}\n  secondary key: {pod_src.keys[1]}")
        sys.stdout.flush()
        info(f"serving; logs: `{logs}`; Ctrl+C (or SIGTERM) stops the pod as the kubelet would (preStop, drain)")
        while not stopping:
            time.sleep(0.25)
            if not pod.ready:
                info(f"pod not ready: {pod.describe()}")
                time.sleep(5)
        pod.terminate()
    except (PodError, EngineError) as err:
        fail(str(err).splitlines()[0][:2000])
    finally:
        pod.remove()
    info("stopped")


def _serve_endpoint(engine, stack: str, name: str, svc, built: dict[str, str], work: Path, *, port: int,
                    timeout: float, as_json: bool, sample: Path | None) -> None:
    """A v2 online endpoint: each deployment's image (its own model version) as a container, the
    endpoint's front door as nginx on 127.0.0.1 (runtime/endpoint_containers.py)."""
    from mldeploy.runtime.client import content_type_for, score
    from mldeploy.runtime.containers import EngineError
    from mldeploy.runtime.endpoint_containers import ContainerEndpoint
    from mldeploy.runtime.pod import pod_name
    from mldeploy.runtime.processes import StartError

    info = lambda m: click.echo(m, err=True)  # noqa: E731
    missing = sorted({d.image for d in svc.deployments.values()} - set(built))
    if missing:
        fail(f"service {name!r}: no synthesized image for {', '.join(missing)}")
    server = ContainerEndpoint(name, svc, built, engine, work / "endpoint", port=port, prefix=pod_name(stack, name))
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda s, f: stopping.append(s))
    signal.signal(signal.SIGINT, lambda s, f: stopping.append(s))
    try:
        info(f"starting {name}'s deployments as containers: {', '.join(sorted(svc.deployments))}")
        endpoint = server.start(timeout)
        if sample is not None:
            for dep in sorted(svc.deployments):
                reply = score(endpoint.scoringUri, endpoint.primaryKey, sample.read_bytes(), content_type_for(sample),
                              extra_headers={"azureml-model-deployment": dep})
                if not reply.ok:
                    raise StartError(f"smoke test of {name}/{dep} failed: status {reply.status}: "
                                     f"{reply.error or reply.text()[:300]}")
                info(f"smoke test of {name}/{dep}: {reply.status} {reply.text()[:300]}")
        data = {"scoringUri": endpoint.scoringUri, "swaggerUri": endpoint.swaggerUri,
                "primaryKey": endpoint.primaryKey, "secondaryKey": endpoint.secondaryKey,
                "deployments": {d: server.container(d) for d in sorted(svc.deployments)}}
        if as_json:
            click.echo(json.dumps(data))
        else:
            click.echo(f"{name} ({engine.name} containers: {', '.join(data['deployments'].values())})\n"
                       f"  scoring URI:   {endpoint.scoringUri}\n  primary key:   {endpoint.primaryKey}\n"
                       f"  secondary key: {endpoint.secondaryKey}\n"
                       "  pin a deployment with the header azureml-model-deployment: <name>")
        sys.stdout.flush()
        while not stopping:
            time.sleep(2)
            for event in ([] if stopping else server.check()):
                info(event)
                stopping.append(0)
    except (StartError, EngineError) as err:
        server.stop()
        fail(str(err))
    server.stop()
