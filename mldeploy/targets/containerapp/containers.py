"""`serve --containers` of a containerapp service: the app's template revision as synthesized
(resources.json), run as one pod - the scorer and the gateway containers with their images,
resources, probes and the `gateway` secret volume (nginx.conf and the keys map). Its secrets
are masked in resources.json: nginx.conf is synth's gateway/<service>/nginx.conf, the keys are
fresh, the App Insights key a key of no workspace.

With labelled revisions the split is rehearsed as Container Apps runs it: one pod per label,
weighted as the synthesized `ingress.traffic` says, an ingress on this machine splitting between
the pods, and each label's own URL (Azure's `<app>---<label>.<domain>`, MicrosoftDocs
container-apps/blue-green-deployment.md) the pod of that revision alone. Said plainly: an
earlier run created the other labels' revisions from its own template; here each is this
template with the label's image (the scorer's), since only this run's template is synthesized.
Every revision's gateway checks the app's one pair of keys (app-scope secrets), so the ingress
does not."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable, Union

from mldeploy.runtime.pod import DEPLOYMENT_LABEL, PodInputs
from mldeploy.runtime.synthesized_pod import (PodSourceError, SynthesizedGroup, gateway_secret,
                                              local_env, resource_inputs)
from mldeploy.targets.serving import PodContainers, SplitContainers


def app_inputs(synth_dir: Path, service: str) -> dict:
    """The inputs of the service's ContainerApp in resources.json."""
    return resource_inputs(synth_dir, "azure-native:app:ContainerApp", f"containerapp-{service}-app",
                           f"container app of service {service!r}")


def _probe(p: dict) -> dict:
    return {"httpGet": {"path": p["httpGet"]["path"], "port": int(p["httpGet"]["port"]),
                        "scheme": p["httpGet"]["scheme"].upper()},
            **{k: int(p[k]) for k in ("initialDelaySeconds", "periodSeconds", "failureThreshold", "timeoutSeconds")
               if k in p}}


def _memory_mi(memory: str) -> str:
    return f"{int(float(memory.removesuffix('Gi')) * 1024)}Mi"


def app_pod_spec(app: dict) -> dict:
    """The template's containers -> the pod runner's (Kubernetes-shaped) spec: a replica's requests
    are its limits, the Secret volume a Secret of the same name, secret env references stand-ins."""
    containers = []
    for c in app["template"]["containers"]:
        spec = {
            "name": c["name"], "image": c["image"],
            "env": local_env(c.get("env", [])),
            "resources": {"limits": {"cpu": str(c["resources"]["cpu"]), "memory": _memory_mi(c["resources"]["memory"])}},
            "volumeMounts": [{"name": m["volumeName"], "mountPath": m["mountPath"], "readOnly": True}
                             for m in c.get("volumeMounts", [])],
        }
        if "command" in c:
            spec["command"] = c["command"]
        for p in c.get("probes", []):
            spec[f"{p['type'].lower()}Probe"] = _probe(p)
        containers.append(spec)
    mounted = sorted({m["name"] for c in containers for m in c["volumeMounts"]})
    return {"containers": containers, "volumes": [{"name": n, "secret": {"secretName": n}} for n in mounted],
            "terminationGracePeriodSeconds": 30}


def synthesized_app(synth_dir: Path, service: str, images: Callable[[str], str]) -> SynthesizedGroup:
    """The service's template revision as synthesized, run as one pod; its gateway on the app's
    ingress target port."""
    app = app_inputs(synth_dir, service)
    spec = app_pod_spec(app)
    gateway, keys = gateway_secret(synth_dir, service)
    secrets = {}
    for volume in spec["volumes"]:
        if volume["name"] != "gateway":
            raise PodSourceError(f"container app of {service}: no local value for its secret volume {volume['name']!r}")
        secrets["gateway"] = gateway
    inputs = PodInputs(spec=spec, secrets=secrets, images={c["image"]: images(c["image"]) for c in spec["containers"]})
    return SynthesizedGroup(app, inputs, keys, int(app["configuration"]["ingress"]["targetPort"]))


def _repo(image_ref: str) -> str:
    """`<registry>/<repo>@sha256:...` -> `<repo>` (as runtime/synthesized_pod.py local_image reads it)."""
    return image_ref.split("@")[0].split(":")[0].split("/", 1)[1]


def revision_pods(synth_dir: Path, service: str, settings, images: Callable[[str], str]) -> SplitContainers:
    """Every label of `ingress.traffic` as synthesized, a pod of its own with its weight: the
    template's revision as is, another label's the template with that label's image."""
    template = synthesized_app(synth_dir, service, images)
    traffic = template.group["configuration"]["ingress"]["traffic"]
    this_revision = f"{template.group['template'].get('revisionSuffix')}"
    pods = {}
    for entry in traffic:
        label, weight = entry["label"], int(entry["weight"])
        image = settings.revisions[label].image
        spec = copy.deepcopy(template.inputs.spec)
        if not entry["revisionName"].endswith(f"--{this_revision}"):
            for c in spec["containers"]:
                if _repo(c["image"]) == settings.image:  # the scorer: this revision's model version
                    c["image"] = f"{c['image'].split('/', 1)[0]}/{image}"
        inputs = PodInputs(spec=spec, secrets=template.inputs.secrets, labels={DEPLOYMENT_LABEL: label},
                           images={c["image"]: images(c["image"]) for c in spec["containers"]})
        pods[label] = (SynthesizedGroup(template.group, inputs, template.keys, template.port), weight)
    return SplitContainers(pods, template.port, template.keys, max_body_mb=settings.max_request_body_mb or 100.0,
                           scoring_timeout_ms=settings.scoring_timeout_ms)


def containers(out: Path, name: str, service, images: Callable[[str], str],
               tls) -> Union[PodContainers, SplitContainers]:
    """The table's `serve --containers` hook: the template revision as synthesized and the port its
    gateway listens on; with labelled revisions, every label's pod and the split (ingress
    terminates TLS on Azure: `tls` files are not used here)."""
    if service.revisions is not None:
        return revision_pods(out, name, service, images)
    app = synthesized_app(out, name, images)
    return PodContainers(app, app.port)
