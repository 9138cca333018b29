"""The prod stack's AKS pod (namespace and Deployment `diabetes`) started from a synth folder,
with its gateway's URL and a trusted throwaway certificate; `mutate` edits it before it runs."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from mldeploy.runtime.containers import Engine
from mldeploy.runtime.pod import LocalPod
from tests.containers import RUN_PREFIX
from tests.containers.synthesized import SynthesizedPod, load_objects, synthesized_pod
from tests.runtime.test_tls_e2e import self_signed

NAMESPACE = DEPLOYMENT = "diabetes"
BLOB_MOUNT = "/var/lib/mldeploy-blob"  # where the collector stand-in writes (see standins/README.md)
READY_WITHIN_S = 240  # cold start here: ~10 s


@dataclass
class RunningPod:
    pod: LocalPod
    spec: SynthesizedPod
    base: str  # https://<pod IP>:<gateway port>
    cafile: str
    blob: Path
    port: int = 0

    def container(self, name: str) -> dict:
        spec = self.spec.inputs.spec
        return next(c for c in spec.get("initContainers", []) + spec["containers"] if c["name"] == name)

    def env(self, container: str, name: str) -> str:
        return next(e["value"] for e in self.container(container)["env"] if e["name"] == name)


def prepare_pod(engine: Engine, synth_dir: Path, images: dict[str, str], standins: dict[str, str],
                work: Path, name: str, mutate: Callable[[SynthesizedPod], None] | None = None,
                deployment: str = DEPLOYMENT) -> RunningPod:
    """The pod, not started: its certificate is for the Certificate's host (or localhost)."""
    objects = load_objects(synth_dir, NAMESPACE)
    certificate = objects.get(("Certificate", DEPLOYMENT))
    host = certificate["spec"]["dnsNames"][0] if certificate else "localhost"
    cert, key = self_signed(host)
    spec = synthesized_pod(synth_dir, NAMESPACE, deployment, images, standins, tls=(cert, key))
    blob = work / f"{name}-blob"
    blob.mkdir(parents=True, exist_ok=True)
    blob.chmod(0o777)  # the storage account: whatever uid the collector runs as may write
    if any(c["name"] == "model-data" for c in spec.inputs.spec.get("initContainers", [])):
        spec.inputs.extra_mounts["model-data"] = [(str(blob), BLOB_MOUNT)]
    if mutate is not None:
        mutate(spec)
    pod = LocalPod(engine, f"{RUN_PREFIX}-{name}", spec.inputs, work / f"{name}-pod")
    cafile = work / f"{name}-tls.crt"
    cafile.write_text(cert)
    gateway = next(c for c in spec.inputs.spec["containers"] if c["name"] == "gateway")
    port = next(p["containerPort"] for p in gateway["ports"] if p["name"] == "gateway")
    running = RunningPod(pod, spec, "", str(cafile), blob)
    running.port = port
    return running


def start_pod(engine: Engine, synth_dir: Path, images: dict[str, str], standins: dict[str, str],
              work: Path, name: str, mutate: Callable[[SynthesizedPod], None] | None = None,
              deployment: str = DEPLOYMENT) -> RunningPod:
    running = prepare_pod(engine, synth_dir, images, standins, work, name, mutate, deployment)
    running.pod.start()
    running.base = f"https://{running.pod.ip}:{running.port}"
    return running


@contextmanager
def ready_pod(engine: Engine, synth_dir: Path, images: dict[str, str], standins: dict[str, str], work: Path,
              name: str) -> Iterator[RunningPod]:
    """start_pod, once every container is Ready (within READY_WITHIN_S); removed on leaving."""
    running = start_pod(engine, synth_dir, images, standins, work, name)
    try:
        running.pod.wait_ready(READY_WITHIN_S)
        yield running
    finally:
        running.pod.remove()
