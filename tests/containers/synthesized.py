"""From a synth folder to what the engine runs: the images built from the synthesized build
contexts (Dockerfiles unchanged) and a Deployment's pod with its ConfigMaps and Secrets.

Secrets are masked in synth output; the tests give them throwaway values, playing the parts of
`pulumi up` (keys), cert-manager (the TLS Secret) and Azure (App Insights, storage)."""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from pathlib import Path

import yaml

from mldeploy.runtime.containers import Engine
from mldeploy.runtime.gateway import KEYS_MAP_NAME, render_keys_map
from mldeploy.runtime.pod import PodInputs

# App Insights that fails fast on this machine (nothing listens on port 9 of loopback).
FAKE_INSIGHTS = {"instrumentation-key": "00000000-0000-0000-0000-000000000000",
                 "connection-string": "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
                                      "IngestionEndpoint=http://127.0.0.1:9/"}
FAKE_STORAGE = {"connection_string": "DefaultEndpointsProtocol=http;AccountName=standin;AccountKey=c3RhbmQtaW4=;"
                                     "BlobEndpoint=http://127.0.0.1:9/standin"}


def synth_to(stack: str, out: Path, values: dict | None = None) -> Path:
    """`mldeploy synth` of `stack` (optionally a variation of its config) into `out`."""
    from mldeploy.synth import policy  # noqa: F401  (registers the policy.json writer, as the CLI)
    from mldeploy.synth.write import prepare_out_dir, write_result
    from tests.harness import synth

    prepare_out_dir(out)
    write_result(synth(stack, out / "images", values=values), out)
    return out


def new_key() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))


def build_images(engine: Engine, synth_dir: Path, log_dir: Path) -> dict[str, str]:
    """Every synthesized scoring image's build context built unchanged; tagged by its folder and
    the digest of its files, so an unchanged one is reused. Mirror contexts (`FROM <upstream>
    @sha256:...`) are not built: no stand-in can carry the upstream digest (local_image_for)."""
    import hashlib

    out = {}
    for folder in sorted(p for p in (synth_dir / "images").iterdir() if (p / "Dockerfile").exists()):
        if folder.name.startswith("mirror-"):
            continue
        h = hashlib.sha256()
        for f in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(str(f.relative_to(folder)).encode() + b"\0" + f.read_bytes())
        ref = f"localhost/mldeploy-test/{folder.name}:{h.hexdigest()[:16]}"
        if not engine.image_exists(ref):
            engine.build(folder, ref, log=log_dir / f"{folder.name}.log")
        out[folder.name] = ref
    return out


def mirrored_upstream(synth_dir: Path, repo: str) -> str:
    """The upstream image a `mirror/<name>` repository copies (its mirror Dockerfile's FROM)."""
    matches = sorted((synth_dir / "images").glob(f"mirror-{repo}-*/Dockerfile"))
    assert len(matches) == 1, f"mirror/{repo}: mirror contexts {matches}"
    base = next(l.split()[1] for l in matches[0].read_text().splitlines() if l.startswith("FROM "))
    return base


def local_image_for(spec_image: str, built: dict[str, str], synth_dir: Path, standins: dict[str, str]) -> str:
    """`<registry>/diabetes@sha256:...` -> the build of images/diabetes; `<registry>/mirror/
    <name>@sha256:...` -> the stand-in for the upstream image its mirror Dockerfile names."""
    from tests.containers.standins import STANDS_FOR

    repo = spec_image.split("@")[0].split(":")[0].split("/", 1)[1]
    if not repo.startswith("mirror/"):
        assert repo in built, f"image {spec_image}: no build context images/{repo} in {sorted(built)}"
        return built[repo]
    upstream = mirrored_upstream(synth_dir, repo.split("/", 1)[1]).split("@")[0]
    full = upstream if upstream.count("/") >= 1 and "." in upstream.split("/")[0] else (
        f"docker.io/{upstream}" if "/" in upstream else f"docker.io/library/{upstream}")
    recipe = next((r for r, names in STANDS_FOR.items() if full in names), None)
    assert recipe, f"image {spec_image} mirrors {upstream}: no stand-in for it (tests/containers/standins.py)"
    return standins[recipe]


@dataclass
class SynthesizedPod:
    deployment: dict
    inputs: PodInputs
    keys: tuple[str, str]
    objects: dict[tuple[str, str], dict]


def load_objects(synth_dir: Path, namespace: str) -> dict[tuple[str, str], dict]:
    out = {}
    for path in sorted((synth_dir / "k8s" / namespace).glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            out[(doc["kind"], doc["metadata"]["name"])] = doc
    return out


def synthesized_pod(synth_dir: Path, namespace: str, deployment: str, built: dict[str, str],
                    standins: dict[str, str], tls: tuple[str, str] | None = None) -> SynthesizedPod:
    """The Deployment's pod as synthesized, images swapped to the local builds, Secrets filled."""
    objects = load_objects(synth_dir, namespace)
    dep = objects[("Deployment", deployment)]
    keys = (new_key(), new_key())
    config_maps = {name: dict(o.get("data", {})) for (kind, name), o in objects.items() if kind == "ConfigMap"}
    secret_data: dict[str, dict[str, str]] = {}
    for (kind, name), o in objects.items():
        if kind != "Secret":
            continue
        fields = set(o.get("stringData", {}))
        if fields == {KEYS_MAP_NAME}:
            secret_data[name] = {KEYS_MAP_NAME: render_keys_map(*keys)}
        elif fields == set(FAKE_INSIGHTS):
            secret_data[name] = dict(FAKE_INSIGHTS)
        elif fields == set(FAKE_STORAGE):
            secret_data[name] = dict(FAKE_STORAGE)
        elif fields == {"tls.crt", "tls.key"} and tls is not None:
            secret_data[name] = {"tls.crt": tls[0], "tls.key": tls[1]}
        else:
            raise AssertionError(f"Secret {name}: no test value for keys {sorted(fields)}")
    for (kind, name), o in objects.items():
        if kind == "Certificate" and tls is not None:  # cert-manager's part: the Secret it issues
            secret_data[o["spec"]["secretName"]] = {"tls.crt": tls[0], "tls.key": tls[1]}
    spec = dep["spec"]["template"]["spec"]
    containers = spec.get("initContainers", []) + spec["containers"]
    images = {c["image"]: local_image_for(c["image"], built, synth_dir, standins) for c in containers}
    inputs = PodInputs(spec=spec, config_maps=config_maps, secrets=secret_data, images=images,
                       namespace=namespace)
    return SynthesizedPod(dep, inputs, keys, objects)
