"""Synth artifact: every Kubernetes object the program declared, as the YAML `kubectl apply`
would take, in `k8s/<namespace>/<kind>-<name>.yaml` (secrets masked); plus replica suggestions
for services that declare their expected load. Validators (kubernetes-validate, checkov) read
this folder."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mldeploy.nested import map_leaves
from mldeploy.render.k8s_pod import SECRET_KEYS_ANNOTATION
from mldeploy.plan.replicas import suggest_bounds
from mldeploy.synth.mask import MASK
from mldeploy.synth.mocks import kubernetes_metadata
from mldeploy.synth.run import SynthResult
from mldeploy.synth.dump import dump_json

FOLDER = "k8s"


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (nginx.conf, vector.yaml) as literal blocks: readable in a review."""


_Dumper.add_representer(str, lambda d, v: d.represent_scalar(
    "tag:yaml.org,2002:str", v, style="|" if "\n" in v else None))
OBJECT_KEYS = ("apiVersion", "kind", "metadata", "spec", "type", "data", "stringData", "immutable")


def _integer(value: Any) -> Any:
    # The wire form carries every number as a float; Kubernetes wants integers where they are.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def kubernetes_objects(result: SynthResult) -> list[dict[str, Any]]:
    """The declared Kubernetes objects (not providers), in URN order."""
    out = []
    for r in result.resources:
        if not r["type"].startswith("kubernetes:"):
            continue
        obj = {k: map_leaves(_integer, r["inputs"][k]) for k in OBJECT_KEYS if k in r["inputs"]}
        # An object the program leaves unnamed has the provider's auto-name (synth/mocks.py kubernetes_metadata).
        obj["metadata"] = kubernetes_metadata(r["type"], r["inputs"], r["name"], result.stack,
                                              result.kubernetes_names.get((r["type"], r["name"])))
        if obj.get("kind") == "Secret":
            obj = _masked_secret(obj)
        out.append(obj)
    return out


def _masked_secret(obj: dict[str, Any]) -> dict[str, Any]:
    """Every value of a Secret masked; a Secret masked whole gets its key names back from the
    annotation the program puts on it, so the manifest stays valid and reviewable."""
    keys = (obj["metadata"].get("annotations") or {}).get(SECRET_KEYS_ANNOTATION, "")
    for field in ("stringData", "data"):
        value = obj.get(field)
        if isinstance(value, dict):
            obj[field] = {k: MASK for k in value}
        elif value is not None:
            obj[field] = {k: MASK for k in keys.split(",") if k} or {"masked": MASK}
    return obj


def object_path(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    folder = meta.get("namespace") or "_cluster"
    return f"{folder}/{obj['kind'].lower()}-{meta['name']}.yaml"


def write_kubernetes(result: SynthResult, out: Path) -> None:
    objects = kubernetes_objects(result)
    if not objects:
        return
    for obj in objects:
        path = out / FOLDER / object_path(obj)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=120), encoding="utf-8")
    suggestions = replica_suggestions(result)
    if suggestions:
        dump_json(out / "replicas.json", suggestions)
        for name, s in suggestions.items():
            print(f"  replicas for {name}: " + "; ".join(s["lines"]))


def replica_suggestions(result: SynthResult) -> dict[str, Any]:
    """min/max replicas from each AKS service's expectedLoad (the guide's formula)."""
    out = {}
    for name, s in sorted(result.settings.services.items()):
        load = s.autoscale_load()
        if load is None:
            continue
        b = suggest_bounds(load.requests_per_second, load.peak_requests_per_second, load.request_seconds,
                           s.replica_max_concurrent_requests, s.autoscale_target_utilization)
        out[name] = {"minReplicas": b.min_replicas.replicas, "maxReplicas": b.max_replicas.replicas,
                     "configured": {"minReplicas": s.autoscale_min_replicas, "maxReplicas": s.autoscale_max_replicas},
                     "lines": b.lines(s.autoscale_min_replicas, s.autoscale_max_replicas)}
    return out
