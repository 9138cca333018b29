"""`mldeploy serve --containers`: a service exactly as synthesized for its target - an AKS or
FPGA service's pod, an ACI container group, a container app's revision, an online endpoint's
deployments (the target's `containers` hook in the table finds it in the synth output; a container
app's labelled revisions each a pod behind an ingress splitting by their weights) - its
images built from their build contexts, the same gateway config, keys, probes and security
settings, run with podman or docker on this machine, the gateway published on 127.0.0.1.
(FPGA node placement has no meaning here.)"""
from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

import click

from mldeploy.cli.serve_pods import ensure_images, fail, info, mark, pods_running, smoke_test, start_and_wait, \
    stop_signals, watch


def serve_containers(root: Path, settings, name: str, *, port: int, timeout: float, as_json: bool,
                     tls_files: tuple[Path, Path] | None, image_map: dict[str, str], sample: Path | None,
                     record_dir: Path) -> None:
    """Synthesize the stack, build its images, run the service as synthesized (the target's
    `containers` hook finds it in the synth output), smoke-test it and serve until a signal."""
    from mldeploy.runtime.containers import EngineError, find_engine
    from mldeploy.runtime.local import EndpointRecord
    from mldeploy.runtime.processes import StartError
    from mldeploy.targets import TARGETS, target_of

    svc = settings.services[name]
    target = target_of(svc)
    if target.containers is None:
        runnable = ", ".join(t.name for t in TARGETS if t.containers is not None)
        fail(f"--containers runs a service as synthesized for its target ({runnable}); service {name!r} is "
             f"target {target.name!r} (serve it without --containers)")
    try:
        engine = find_engine()
    except EngineError as err:
        fail(str(err))
    work = root / ".mldeploy" / "containers" / settings.stack / name
    # The endpoint file plain `serve` keeps, in its run folder `record_dir`: `mldeploy test --local` reads it.
    record = EndpointRecord(record_dir, f"service {name!r}")
    try:
        record.claim()
    except StartError as err:
        fail(str(err))
    if engine.settings:
        info(f"{engine.name} runs with mldeploy's engine settings {engine.settings} (podman has none of its own; "
             "set CONTAINERS_CONF to use others)")
    out, built = _synthesize_and_build(root, settings.stack, engine, work)
    tls = (tls_files[0].read_text(), tls_files[1].read_text()) if tls_files is not None else None
    found = _found(target, out, name, svc, settings, built, image_map, tls)
    # What the target synthesized decides how it runs here (a pod, or an endpoint's deployments).
    found.run_with(_Runs(engine, settings.stack, name, out, built, image_map, tls, work, port=port, timeout=timeout,
                         as_json=as_json, cafile=str(tls_files[0]) if tls_files else None, sample=sample,
                         record=record))


def _found(target, out: Path, name: str, svc, settings, built: dict[str, str], image_map: dict[str, str],
           tls: tuple[str, str] | None):
    """What the target's `containers` hook finds in the synth output, every image it names resolved
    to one this machine has (built, or given with --image)."""
    from mldeploy.runtime.containers import image_map_lookup
    from mldeploy.runtime.synthesized_pod import PodSourceError, local_image

    images = lambda ref: local_image(ref, built, out, lambda up: image_map_lookup(image_map, up) or up)  # noqa: E731
    try:
        return target.containers(out, name, svc, settings, images, tls)
    except PodSourceError as err:
        fail(f"{err}" + ("" if tls else "; if this service serves HTTPS, give --tls-cert and --tls-key"))


class _Runs:
    """The ways a service runs here as synthesized: a pod (with a canary's other pods), a split's
    pods behind an ingress (mldeploy/cli/serve_split.py), or an online endpoint's deployments as
    containers behind its front door."""

    def __init__(self, engine, stack: str, name: str, out: Path, built: dict[str, str], image_map: dict[str, str],
                 tls: tuple[str, str] | None, work: Path, *, port: int, timeout: float, as_json: bool,
                 cafile: str | None, sample: Path | None, record):
        self.engine, self.stack, self.name, self.out, self.built = engine, stack, name, out, built
        self.image_map, self.tls, self.work, self.port, self.timeout = image_map, tls, work, port, timeout
        self.as_json, self.cafile, self.sample, self.record = as_json, cafile, sample, record

    def pod(self, pod_src, gateway_port: int) -> None:
        from mldeploy.runtime.pod import pod_name

        ensure_images(self.engine, pod_src.inputs.images.values(), self.built)
        variants = {dep: (pod_name(self.stack, dep), src, self.work / f"pod-{dep}")
                    for dep, src in _variant_sources(self.out, self.name, pod_src, self.built, self.image_map,
                                                     self.tls).items()}
        _run(self.engine, pod_name(self.stack, self.name), self.name, pod_src, self.work / "pod", variants=variants,
             port=self.port, gateway_port=gateway_port, timeout=self.timeout, as_json=self.as_json, cafile=self.cafile,
             sample=self.sample, logs_command=f"mldeploy logs --stack {self.stack} --service {self.name} --local",
             record=self.record)

    def split(self, split) -> None:
        from mldeploy.cli.serve_split import run_split
        run_split(self, split)

    def endpoint(self, plan) -> None:
        _serve_endpoint(self.engine, self.stack, self.name, plan, self.built, self.work, port=self.port,
                        timeout=self.timeout, as_json=self.as_json, sample=self.sample, record=self.record,
                        code_dirs={image: self.out / "images" / image / "app" for image in plan.images})


def _synthesize_and_build(root: Path, stack: str, engine, work: Path) -> tuple[Path, dict[str, str]]:
    """The stack's synth output (the manifests the cluster would get) and its images, built."""
    from mldeploy.runtime.containers import EngineError
    from mldeploy.runtime.synthesized_pod import build_images
    from mldeploy.synth.run import synthesize
    from mldeploy.synth.write import prepare_out_dir, write_result

    info(f"synthesizing stack {stack!r} (the manifests the cluster would get)")
    out = work / "synth"
    prepare_out_dir(out)
    with contextlib.redirect_stdout(sys.stderr):
        write_result(synthesize(root, stack, out / "images"), out)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    info(f"building the images with {engine.name} (logs in {work / 'logs'})")
    try:
        return out, build_images(engine, out, work / "logs")
    except EngineError as err:
        fail(str(err))


def _variant_sources(out: Path, name: str, pod_src, built: dict[str, str], image_map: dict[str, str],
                     tls: tuple[str, str] | None) -> dict:
    """A canary's other Deployments (the traffic ConfigMap as synthesized names the Deployments and
    their weights), each its pod as synthesized with the stable pod's keys and Secrets."""
    from mldeploy.runtime.containers import image_map_lookup
    from mldeploy.runtime.synthesized_pod import PodSourceError, SynthesizedPod, local_image, synthesized_pod, traffic_weights

    if not isinstance(pod_src, SynthesizedPod):
        return {}
    namespace = pod_src.deployment["metadata"].get("namespace") or name
    images = lambda ref: local_image(ref, built, out, lambda up: image_map_lookup(image_map, up) or up)  # noqa: E731
    sources = {}
    for dep in sorted(set(traffic_weights(pod_src)) - {pod_src.deployment["metadata"]["name"]}):
        try:
            sources[dep] = synthesized_pod(out, namespace, dep, images, tls=tls)
        except PodSourceError as err:
            fail(str(err))
        sources[dep].inputs.secrets.update(pod_src.inputs.secrets)
    return sources


def how_it_stops(spec: dict) -> str:
    """What Ctrl+C does to a pod as synthesized: an AKS/FPGA pod has preStop hooks, an ACI group or
    a container app's revision none (its gateway drains on the stop signal, render/gateway.py
    graceful_nginx)."""
    if any((c.get("lifecycle") or {}).get("preStop") for c in spec.get("containers") or []):
        return "as the kubelet would (preStop hooks, drain, then the stop signal)"
    return "as its platform would (the stop signal; the gateway drains first)"


def _run(engine, pod_id: str, name: str, pod_src, pod_dir: Path, *, variants: dict, port: int, gateway_port: int, timeout: float,
         as_json: bool, cafile: str | None, sample: Path | None, logs_command: str, record) -> None:
    """Start the pod, smoke-test it, print where it answers (and publish it in `record`, the
    endpoint file `test --local` reads), serve until a signal, stop it as the kubelet would."""
    from mldeploy.contract import SCORE_PATH, SWAGGER_PATH
    from mldeploy.runtime.local import Endpoint
    from mldeploy.runtime.pod import LocalPod

    for src in [pod_src, *(dep_src for _, dep_src, _ in variants.values())]:
        mark(src, pod_id, logs_command)
    pod = LocalPod(engine, pod_id, pod_src.inputs, pod_dir, publish=(f"127.0.0.1:{port}:{gateway_port}",))
    # A canary: one pod per other variant too, each variant's scorer Service name resolving to its
    # pod's IP as cluster DNS would (the stable gateway splits to it by the traffic weights).
    pods = {name: pod}
    for dep, (dep_pod_id, dep_src, dep_dir) in variants.items():
        pods[dep] = LocalPod(engine, dep_pod_id, dep_src.inputs, dep_dir)
    with pods_running(pods, record) as stopping:
        if variants:
            info(f"starting pods {', '.join(p.name for p in pods.values())} (the service's canary)")
            namespace = pod_src.deployment["metadata"].get("namespace") or name
            ips = {dep: p.create_sandbox() for dep, p in pods.items()}
            hosts = {f"{dep}-scorer.{namespace}.svc.cluster.local": ip for dep, ip in ips.items()}
            for p in pods.values():
                p.append_hosts(hosts)
        else:
            info(f"starting pod {pod.name}: {', '.join(pod.states)}")
        start_and_wait(pods, timeout)
        uri = f"{'https' if cafile else 'http'}://127.0.0.1:{port}{SCORE_PATH}"
        endpoint = Endpoint(uri, uri.replace(SCORE_PATH, SWAGGER_PATH), pod_src.keys[0], pod_src.keys[1], cafile)
        if sample is not None:
            smoke_test(name, uri, pod_src.keys[0], sample, cafile=cafile)
        if as_json:
            click.echo(json.dumps({"scoringUri": uri, "swaggerUri": endpoint.swaggerUri,
                                   "primaryKey": pod_src.keys[0], "secondaryKey": pod_src.keys[1]}))
        else:
            click.echo(f"{name} (pod {pod.name}, {engine.name})\n  scoring URI:   {uri}\n"
                       f"  primary key:   {pod_src.keys[0]}\n  secondary key: {pod_src.keys[1]}")
        sys.stdout.flush()
        record.publish(endpoint)
        info(f"serving; logs: `{logs_command}`; Ctrl+C (or SIGTERM) stops it {how_it_stops(pod_src.inputs.spec)}")
        watch(pods, stopping)


def _serve_endpoint(engine, stack: str, name: str, plan, built: dict[str, str], work: Path, *, port: int,
                    timeout: float, as_json: bool, sample: Path | None, record, code_dirs: dict[str, Path]) -> None:
    """A v2 online endpoint: each deployment's image (its own model version) as a container laid out as
    Azure ML v2 runs it, its code folder `code_dirs[image]` (the synthesized build context's app folder)
    mounted beside the models; the endpoint's front door as nginx on 127.0.0.1 (runtime/endpoint_containers.py)."""
    from mldeploy.runtime.containers import EngineError
    from mldeploy.runtime.endpoint_containers import ContainerEndpoint
    from mldeploy.runtime.pod import pod_name
    from mldeploy.runtime.processes import StartError

    missing = sorted(set(plan.images) - set(built))
    deployments = [d.name for d in plan.deployments]  # by name
    if missing:
        fail(f"service {name!r}: no synthesized image for {', '.join(missing)}")
    server = ContainerEndpoint(plan, built, engine, work / "endpoint", port=port,
                               prefix=pod_name(stack, name), code_dirs=code_dirs)
    stopping = stop_signals()
    try:
        info(f"starting {name}'s deployments as containers: {', '.join(deployments)}")
        endpoint = server.start(timeout)
        if sample is not None:
            for dep in deployments:
                smoke_test(f"{name}/{dep}", endpoint.scoringUri, endpoint.primaryKey, sample,
                           headers={"azureml-model-deployment": dep})
        data = {"scoringUri": endpoint.scoringUri, "swaggerUri": endpoint.swaggerUri,
                "primaryKey": endpoint.primaryKey, "secondaryKey": endpoint.secondaryKey,
                "deployments": {d: server.container(d) for d in deployments}}
        if as_json:
            click.echo(json.dumps(data))
        else:
            click.echo(f"{name} ({engine.name} containers: {', '.join(data['deployments'].values())})\n"
                       f"  scoring URI:   {endpoint.scoringUri}\n  primary key:   {endpoint.primaryKey}\n"
                       f"  secondary key: {endpoint.secondaryKey}\n"
                       "  pin a deployment with the header azureml-model-deployment: <name>")
        sys.stdout.flush()
        record.publish(endpoint)
        while not stopping:
            time.sleep(2)
            for event in ([] if stopping else server.check()):
                info(event)
                stopping.append(0)
    except (StartError, EngineError) as err:
        record.withdraw()  # before the containers stop, as below
        server.stop()
        fail(str(err))
    finally:
        record.withdraw()  # first: `test --local` stops finding it while the containers stop
    server.stop()
