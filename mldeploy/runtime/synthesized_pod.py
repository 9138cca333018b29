"""From a synth folder (`mldeploy synth`) to what a container engine runs: the scoring images
built from their synthesized build contexts (Dockerfiles unchanged) and one Deployment's pod
with its ConfigMaps and Secrets, or one ACI container group as a pod. Synth masks secret values: the caller gives them (keys, TLS,
telemetry), playing the parts of `pulumi up`, cert-manager and Azure."""
from __future__ import annotations

import hashlib
import os
import re
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from mldeploy.runtime.containers import Engine, normalize_ref
from mldeploy.runtime.local import new_key
from mldeploy.contract import KEYS_MAP_NAME, TLS_CERT_NAME, TLS_KEY_NAME
from mldeploy.render.gateway import render_keys_map
from mldeploy.render.k8s_pod import LABEL
from mldeploy.runtime.pod import DEPLOYMENT_LABEL, PodInputs
from mldeploy.scoring.scorer_host import TELEMETRY_NOWHERE_ENV

# Telemetry that goes nowhere (nothing listens on port 9 of loopback) and fails fast.
NO_INSIGHTS = {"instrumentation-key": "00000000-0000-0000-0000-000000000000",
               "connection-string": "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
                                    "IngestionEndpoint=http://127.0.0.1:9/"}
NO_STORAGE = {"connection_string": "DefaultEndpointsProtocol=http;AccountName=local;AccountKey=bG9jYWw=;"
                                   "BlobEndpoint=http://127.0.0.1:9/local"}


class PodSourceError(Exception):
    """The synth folder lacks what the pod needs; the message is one line for the user."""


def load_objects(synth_dir: Path, namespace: str) -> dict[tuple[str, str], dict]:
    """(kind, name) -> object, of every manifest synth wrote to k8s/<namespace>/."""
    out = {}
    for path in sorted((synth_dir / "k8s" / namespace).glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            out[(doc["kind"], doc["metadata"]["name"])] = doc
    return out


def build_images(engine: Engine, synth_dir: Path, log_dir: Path) -> dict[str, str]:
    """Every synthesized scoring image built unchanged from its context, tagged by folder and
    the digest of its files (an unchanged context is not rebuilt). Mirror contexts are skipped:
    the pod runs their upstream image (mirrored_upstream)."""
    out = {}
    for folder in sorted(p for p in (synth_dir / "images").iterdir() if (p / "Dockerfile").exists()):
        if folder.name.startswith("mirror-"):
            continue
        h = hashlib.sha256()
        for f in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(str(f.relative_to(folder)).encode() + b"\0" + f.read_bytes())
        ref = f"localhost/mldeploy/{folder.name}:{h.hexdigest()[:16]}"
        if not engine.image_exists(ref):
            for base in base_images(folder / "Dockerfile"):
                engine.ensure_image(base, f"the base image of image {folder.name!r} (FROM in images/{folder.name}/"
                                          "Dockerfile)", base_image_remedy(engine, folder.name, base))
            engine.build(folder, ref, log=log_dir / f"{folder.name}.log")
        out[folder.name] = ref
    return out


def base_images(dockerfile: Path) -> list[str]:
    """The images a Dockerfile starts from (its FROM lines; build stages named earlier excluded)."""
    bases, stages = [], set()
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].upper() == "FROM":
            image = next(w for w in words[1:] if not w.startswith("--"))
            if image.lower() not in stages and image != "scratch":
                bases.append(image)
            if len(words) >= 4 and words[-2].upper() == "AS":
                stages.add(words[-1].lower())
    return bases


def base_image_remedy(engine: Engine, image: str, base: str) -> str:
    return (f"on a machine that can pull it, `{engine.name} pull {normalize_ref(base)}` and `{engine.name} save -o "
            f"base.tar {normalize_ref(base)}`, then `{engine.name} load -i base.tar` here; or tag an image this machine "
            f"has with its name (`{engine.name} tag LOCAL {normalize_ref(base)}`); or set "
            f"`mldeploy:images.{image}.baseImage` to one")


def mirrored_upstream(synth_dir: Path, repo: str) -> str:
    """The upstream image a `mirror/<repo>` copies: its mirror Dockerfile's FROM."""
    matches = sorted((synth_dir / "images").glob(f"mirror-{repo}-*/Dockerfile"))
    if len(matches) != 1:
        raise PodSourceError(f"{synth_dir}: no single mirror build context for mirror/{repo}")
    return next(line.split()[1] for line in matches[0].read_text().splitlines() if line.startswith("FROM "))


def local_image(spec_image: str, built: dict[str, str], synth_dir: Path,
                upstream: Callable[[str], str] = lambda ref: ref) -> str:
    """`<registry>/<image>@sha256:...` -> the local build of images/<image>; `<registry>/mirror/
    <name>@...` -> `upstream(<the image its mirror Dockerfile copies>)`."""
    repo = spec_image.split("@")[0].split(":")[0].split("/", 1)[1]
    if repo.startswith("mirror/"):
        return upstream(mirrored_upstream(synth_dir, repo.split("/", 1)[1]))
    if repo not in built:
        raise PodSourceError(f"image {spec_image}: no build context images/{repo} in {synth_dir}")
    return built[repo]


@dataclass
class SynthesizedPod:
    deployment: dict
    inputs: PodInputs
    keys: tuple[str, str]
    objects: dict[tuple[str, str], dict]


def synthesized_pod(synth_dir: Path, namespace: str, deployment: str, images: Callable[[str], str],
                    tls: tuple[str, str] | None = None) -> SynthesizedPod:
    """The Deployment's pod as synthesized, images mapped by `images`, Secrets filled: fresh keys,
    `tls` (cert, key) for the TLS Secret or the one a Certificate asks cert-manager for, telemetry
    and model-data storage pointing nowhere."""
    objects = load_objects(synth_dir, namespace)
    if ("Deployment", deployment) not in objects:
        raise PodSourceError(f"{synth_dir}/k8s/{namespace}: no Deployment {deployment!r}")
    dep = objects[("Deployment", deployment)]
    keys = (new_key(), new_key())
    config_maps = {name: dict(o.get("data", {})) for (kind, name), o in objects.items() if kind == "ConfigMap"}
    secret_data: dict[str, dict[str, str]] = {}
    for (kind, name), o in objects.items():
        fields = set(o.get("stringData", {})) if kind == "Secret" else set()
        if kind == "Certificate" and tls is not None:  # cert-manager's part: the Secret it issues
            secret_data[o["spec"]["secretName"]] = {"tls.crt": tls[0], "tls.key": tls[1]}
        elif kind != "Secret":
            continue
        elif fields == {KEYS_MAP_NAME}:
            secret_data[name] = {KEYS_MAP_NAME: render_keys_map(*keys)}
        elif fields == set(NO_INSIGHTS):
            secret_data[name] = dict(NO_INSIGHTS)
        elif fields == set(NO_STORAGE):
            secret_data[name] = dict(NO_STORAGE)
        elif fields == {"tls.crt", "tls.key"} and tls is not None:
            secret_data[name] = {"tls.crt": tls[0], "tls.key": tls[1]}
        elif fields and all(SECRET_ENV_KEY.fullmatch(f) for f in fields):
            # The service's `secure:` environmentVariables (components/aks_service.py `<variant>.<NAME>`):
            # from serve's own environment, as the local target's serve takes them (plan/secret_env.py).
            secret_data[name] = {f: user_secret_value(f.split(".", 1)[1]) for f in fields}
        else:
            raise PodSourceError(f"Secret {name}: no local value for its keys {sorted(fields)}")
    spec = dep["spec"]["template"]["spec"]
    containers = spec.get("initContainers", []) + spec["containers"]
    # A canary's variant (render/k8s_pod.py labels) is what `logs --deployment` names on AKS too.
    variant = (dep["spec"]["template"].get("metadata") or {}).get("labels", {}).get(f"{LABEL}/variant")
    inputs = PodInputs(spec=spec, config_maps=config_maps, secrets=secret_data,
                       images={c["image"]: images(c["image"]) for c in containers}, namespace=namespace,
                       labels={DEPLOYMENT_LABEL: variant} if variant else {})
    for c in containers:  # the pod's own connection string points nowhere already; statsbeat does not
        added = local_telemetry_env(c.get("env", []))[len(c.get("env", [])):]
        if added:
            inputs.extra_env[c["name"]] = {e["name"]: e["value"] for e in added}
    return SynthesizedPod(dep, inputs, keys, objects)


# What an ACI group's `secureValue` environment variables (a container app's secretRef ones;
# masked by synth) hold locally: mldeploy declares App Insights' key and connection string, here
# those of no workspace (the connection string's endpoint is 127.0.0.1:9).
NO_SECURE_VALUE = NO_INSIGHTS["instrumentation-key"]
LOCAL_SECURE_VALUES = {"AML_APP_INSIGHTS_KEY": NO_INSIGHTS["instrumentation-key"],
                       "APPLICATIONINSIGHTS_CONNECTION_STRING": NO_INSIGHTS["connection-string"]}


def local_secure_value(name: str) -> str:
    """The stand-in of a secure environment variable `name` in a local run: App Insights' of no workspace,
    a stack's own `secure:` variable from serve's environment."""
    return LOCAL_SECURE_VALUES[name] if name in LOCAL_SECURE_VALUES else user_secret_value(name)


SECRET_ENV_KEY = re.compile(r"[a-z0-9-]+\.[A-Za-z_][A-Za-z0-9_]*")


def user_secret_value(name: str) -> str:
    """A stack's `secure:` environment variable `name`, from the environment serve runs in."""
    if not os.environ.get(name):
        raise PodSourceError(f"environment variable {name} is a `secure:` value, which only `pulumi up` decrypts: set it "
                             f"in the shell that runs serve (`read -rs {name} && export {name}`); serve passes it to "
                             "the container's environment")
    return os.environ[name]


# Beside the stand-in App Insights key, locally only: the exporter azmlinfsrv builds from
# AML_APP_INSIGHTS_KEY alone ("InstrumentationKey=<key>", server/appinsights_client.py) sends to the
# connection string's endpoint in this variable, else to https://dc.services.visualstudio.com
# (azure-monitor-opentelemetry-exporter _connection_string_parser.py, endpoint priority); its statsbeat goes to
# westus-0.in.applicationinsights.azure.com unless disabled (_constants.py, statsbeat/_state.py).
# Measured in `serve --containers` of an ACI service: both were tried, each request's telemetry with it.
# The exporter then retries to 127.0.0.1:9 and warns each time: TELEMETRY_NOWHERE_ENV tells the scorer
# host (scoring/scorer_host.py, change 11) that this is on purpose, and it shows the exporter's errors only.
LOCAL_TELEMETRY_ENV = {"APPLICATIONINSIGHTS_CONNECTION_STRING": NO_INSIGHTS["connection-string"],
                       "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true", TELEMETRY_NOWHERE_ENV: "1"}


def local_telemetry_env(env: list[dict]) -> list[dict]:
    """A container's env with telemetry kept on this machine when it declares an App Insights key."""
    names = {e["name"] for e in env}
    if "AML_APP_INSIGHTS_KEY" not in names:
        return env
    return env + [{"name": k, "value": v} for k, v in LOCAL_TELEMETRY_ENV.items() if k not in names]


def local_env(declared: list[dict]) -> list[dict]:
    """A synthesized container's environment (`{name, value}` or a masked secure entry without a
    value) as a local run gives it: each secure value its stand-in, telemetry kept on this machine."""
    return local_telemetry_env([{"name": e["name"], "value": e["value"] if "value" in e else local_secure_value(e["name"])}
                                for e in declared])


@dataclass
class SynthesizedGroup:
    group: dict
    inputs: PodInputs
    keys: tuple[str, str]
    port: int  # the group's public port (the gateway's)


def resource_inputs(synth_dir: Path, type_token: str, name: str, what: str) -> dict:
    """The inputs of the one resource of type `type_token` named `name` in synth's resources.json;
    a PodSourceError saying there is no `what` otherwise."""
    resources = json.loads((synth_dir / "resources.json").read_text())
    found = [r["inputs"] for r in resources if r["type"] == type_token and r["name"] == name]
    if len(found) != 1:
        raise PodSourceError(f"{synth_dir}/resources.json: no {what}")
    return found[0]


def group_inputs(synth_dir: Path, service: str) -> dict:
    """The inputs of the service's ACI ContainerGroup in resources.json."""
    return resource_inputs(synth_dir, "azure-native:containerinstance:ContainerGroup", f"aci-{service}-group",
                           f"ACI container group of service {service!r}")


def _aci_probe(p: dict) -> dict:
    out = {k: int(v) for k, v in p.items() if k != "httpGet"}
    h = p["httpGet"]
    out["httpGet"] = {"path": h["path"], "port": int(h["port"]), "scheme": h["scheme"].upper()}
    return out


def aci_pod_spec(group: dict) -> dict:
    """ACI container group -> the pod runner's (Kubernetes-shaped) spec: ACI's requests are its
    limits, its secret volumes are Secrets of the same name, secure env values stand-ins, telemetry
    kept on this machine (LOCAL_TELEMETRY_ENV)."""
    containers = []
    for c in group["containers"]:
        res = c["resources"]["requests"]
        spec = {
            "name": c["name"], "image": c["image"],
            "ports": [{"containerPort": int(p["port"])} for p in c.get("ports", [])],
            "env": local_env(c.get("environmentVariables", [])),
            "resources": {"limits": {"cpu": str(res["cpu"]), "memory": f"{int(res['memoryInGB'] * 1024)}Mi"}},
            "volumeMounts": [{"name": m["name"], "mountPath": m["mountPath"], "readOnly": m.get("readOnly", False)}
                             for m in c.get("volumeMounts", [])],
        }
        if "command" in c:
            spec["command"] = c["command"]
        for kind in ("livenessProbe", "readinessProbe"):
            if kind in c:
                spec[kind] = _aci_probe(c[kind])
        containers.append(spec)
    mounted = sorted({m["name"] for c in containers for m in c["volumeMounts"]})
    return {"containers": containers, "volumes": [{"name": n, "secret": {"secretName": n}} for n in mounted],
            "terminationGracePeriodSeconds": 30}


def gateway_secret(synth_dir: Path, service: str) -> tuple[dict[str, str], tuple[str, str]]:
    """The gateway's secret volume of a synthesized container service (ACI group, container app):
    synth's gateway/<service>/nginx.conf and a keys map of fresh keys; and those keys."""
    conf = synth_dir / "gateway" / service / "nginx.conf"
    if not conf.is_file():
        raise PodSourceError(f"{synth_dir}: no gateway config gateway/{service}/nginx.conf")
    keys = (new_key(), new_key())
    return {"nginx.conf": conf.read_text(), KEYS_MAP_NAME: render_keys_map(*keys)}, keys


def synthesized_group(synth_dir: Path, service: str, images: Callable[[str], str],
                      tls: tuple[str, str] | None = None) -> SynthesizedGroup:
    """The service's ACI container group as synthesized, run as one pod. Its secret volumes
    (components/aci.py: `gateway` = nginx.conf + keys map, `tls` = certificate and key) have their
    secret files masked in resources.json: nginx.conf is synth's gateway/<service>/nginx.conf, the
    keys are fresh, the certificate is `tls`."""
    group = group_inputs(synth_dir, service)
    spec = aci_pod_spec(group)
    gateway, keys = gateway_secret(synth_dir, service)
    secret_data = {}
    for volume in spec["volumes"]:
        name = volume["name"]
        if name == "gateway":
            secret_data[name] = gateway
        elif name == "tls" and tls is not None:
            secret_data[name] = {TLS_CERT_NAME: tls[0], TLS_KEY_NAME: tls[1]}
        else:
            raise PodSourceError(f"ACI group of {service}: no local value for its secret volume {name!r}")
    inputs = PodInputs(spec=spec, secrets=secret_data, images={c["image"]: images(c["image"]) for c in spec["containers"]})
    return SynthesizedGroup(group, inputs, keys, int(group["ipAddress"]["ports"][0]["port"]))


def traffic_weights(pod: SynthesizedPod) -> dict[str, int]:
    """Deployment -> weight of the pod's service split between variants (an AKS canary), read from
    its traffic ConfigMap's annotation as synthesized (render/k8s.py traffic_config); {} without one."""
    from mldeploy.render.k8s_pod import TRAFFIC_WEIGHTS_ANNOTATION

    for (kind, _), obj in sorted(pod.objects.items()):
        annotations = obj.get("metadata", {}).get("annotations") or {}
        if kind == "ConfigMap" and TRAFFIC_WEIGHTS_ANNOTATION in annotations:
            weights = json.loads(annotations[TRAFFIC_WEIGHTS_ANNOTATION])
            if pod.deployment["metadata"]["name"] in weights:
                return weights
    return {}
