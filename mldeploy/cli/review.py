"""What a reviewer of `mldeploy diff` must not miss: the warnings at the top (live traffic
interrupted, a create-only change Azure refuses, a registered model version whose file changed,
keys rotated, a production registry, workspace or key vault destroyed, a warning synth gives only
in the working tree) and the traffic table per
endpoint or service, before and after.

Pure functions of a StackDiff: the markdown and JSON renderers read the same results.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mldeploy.cli.diffing import ResourceChange, Side, StackDiff, secure_changes
from mldeploy.cli.stack_keys import (K8S_DEPLOYMENT, MODEL_VERSION, ONLINE_DEPLOYMENT, SERVICE_LABEL, STABLE,
                                     change_keys, service_of, stack_label, variant)
from mldeploy.plan.scorer import SET_FROM
from mldeploy.plan.timeouts import GATEWAY_TIMEOUT_ENV

ROLLOUT_DOC = "docs/rollout.md#rollout-promote-observe-roll-back"
ENDPOINT_PUT_DOC = "docs/endpoints.md#changing-the-endpoint-itself-identity-compute-keys"
PRODUCTION_TAG = "mldeploy-production"

# The content digest the registry writes on every ModelVersion (mldeploy/components/registry.py).
MODEL_DIGEST_PATH = "properties.properties.mldeploy.sha256"
MODEL_VERSIONS_DOC = "docs/deploying.md#how-model-versions-are-chosen"
ONLINE_ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
ENDPOINT_TRAFFIC = "pulumi-python:dynamic/mldeploy:EndpointTraffic"
ACI_GROUP = "azure-native:containerinstance:ContainerGroup"
MANAGED_ENVIRONMENT = "azure-native:app:ManagedEnvironment"
CONTAINER_APP = "azure-native:app:ContainerApp"
CONTAINERAPP_GPU_DOC = "docs/containerapp.md#a-gpu-workload-profile-is-fixed-when-the-environment-is-created"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
# What the endpoint's own PUT carries besides what EndpointTraffic owns: its identity and compute
# are resources of their own, whose replacement gives the endpoint a new id to PUT.
ENDPOINT_REFERENCES = {"azure-native:managedidentity:UserAssignedIdentity": "identity",
                       "azure-native:machinelearningservices:Compute": "compute"}
PROTECTED_IN_PRODUCTION = {
    "azure-native:containerregistry:Registry": "container registry",
    "azure-native:machinelearningservices:Workspace": "Azure ML workspace",
    "azure-native:keyvault:Vault": "key vault",
}
# The Kubernetes annotations mldeploy writes on a service's Deployments (mldeploy/render/k8s.py).
MODELS_ANNOTATION = "mldeploy.io/models"
TRAFFIC_WEIGHTS_ANNOTATION = "mldeploy.io/traffic-weights"  # on a canary's traffic ConfigMap (JSON)
WEIGHT_ANNOTATION = "mldeploy.io/traffic-weight"  # on pod templates, before the traffic ConfigMap
K8S_CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


@dataclass(frozen=True)
class Alert:
    kind: str  # "live-traffic" | "endpoint-put" | "create-only" | "live-update" | "workload-profile" | "missing-revision"
    #            | "edge-rollout" | "model-content"
    #            | "key-rotation" | "production-destroy" | "secret" | "synth"
    resource: str
    message: str


@dataclass(frozen=True)
class TrafficRow:
    deployment: str  # Azure's deployment name / the Kubernetes Deployment's name
    model_before: str | None
    model_after: str | None
    traffic_before: int | None
    traffic_after: int | None
    mirror_before: int | None = None
    mirror_after: int | None = None
    # The Pulumi resource's name when it differs from `deployment` (an AKS service's stable
    # Deployment is `<service>` in Kubernetes, resource `<service>-stable` in the diff's list).
    resource: str | None = None
    # What the stack file calls it: a deployment's key under `deployments` (`blue`), an AKS
    # variant (`stable`: the service's own image, `canary`); None when the synth does not say.
    name: str | None = None

    @property
    def changed(self) -> bool:
        return (self.model_before, self.traffic_before, self.mirror_before) != \
            (self.model_after, self.traffic_after, self.mirror_after)


@dataclass(frozen=True)
class TrafficTable:
    endpoint: str  # "<kind> <name>": "endpoint diabetes-a00b15", "AKS service diabetes"
    rows: tuple[TrafficRow, ...]
    service: str | None = None  # the stack file's key, `services.diabetes`, when the synth says it
    kind: str = "endpoint"  # "endpoint" (rows: deployments) | "AKS service" (variants) | "Container App" (revisions)


# -- traffic per endpoint / service ----------------------------------------------------------

def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) else None


def model_of_id(model_id: str) -> str | None:
    """`name:version` of a model version's id: a workspace's ARM id (`…/workspaces/<ws>/models/
    <name>/versions/<version>`), a registry's (`azureml://registries/<r>/models/<name>/versions/
    <version>`) or the short `azureml:<name>:<version>`; None for anything else."""
    if model_id.startswith("azureml:") and not model_id.startswith("azureml://") and model_id.count(":") == 2:
        return model_id.split(":", 1)[1]
    parts = model_id.rstrip("/").split("/")
    lower = [p.lower() for p in parts]
    if len(parts) >= 4 and lower[-4] == "models" and lower[-2] == "versions":
        return f"{parts[-3]}:{parts[-1]}"
    return None


def _model_of_deployment(r: dict, side: Side) -> str | None:
    """`model:version` an online deployment serves: its tags (the program names the deployment's
    own model there) or, without them, what its `model` id names (or, in a resources.json of an
    older mldeploy whose ids were not Azure's, the ModelVersion resource it points at)."""
    inputs = r.get("inputs") or {}
    tags = inputs.get("tags") or {}
    if tags.get("model") and tags.get("model-version"):
        return f"{tags['model']}:{tags['model-version']}"
    model_id = (inputs.get("properties") or {}).get("model")
    if not isinstance(model_id, str):
        return None
    named = model_of_id(model_id)
    if named is not None:
        return named
    for other in side.resources:
        if other["type"].endswith(":ModelVersion") and model_id.endswith("/" + other["name"]):
            mv = other.get("inputs") or {}
            return f"{mv.get('name')}:{mv.get('version')}"
    return model_id.rsplit("/", 1)[-1]


def endpoint_splits(side: Side) -> dict[str, dict[str, dict[str, Any]]]:
    """Per online endpoint (its component's URN): deployment -> {model, traffic, mirror}. The
    split is read from mldeploy's EndpointTraffic, or from the endpoint's own
    `properties.traffic`/`mirrorTraffic` when no EndpointTraffic sets it."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    names: dict[str, str] = {}
    splits: dict[str, dict[str, Any]] = {}
    for r in side.resources:
        inputs, parent = r.get("inputs") or {}, r.get("parent") or r["urn"]
        if r["type"] == ONLINE_DEPLOYMENT:
            names.setdefault(parent, str(inputs.get("endpointName")))
            row = out.setdefault(parent, {}).setdefault(str(inputs.get("deploymentName")), {})
            row["model"] = _model_of_deployment(r, side)
        elif r["type"] == ONLINE_ENDPOINT:
            names[parent] = str(inputs.get("endpointName"))
            splits.setdefault(parent, inputs.get("properties") or {})
        elif r["type"] == ENDPOINT_TRAFFIC:
            splits[parent] = inputs  # wins over the endpoint's own fields
    for parent, split in splits.items():
        for key, field_name in (("traffic", "traffic"), ("mirrorTraffic", "mirror")):
            for deployment, share in (split.get(key) or {}).items():
                out.setdefault(parent, {}).setdefault(deployment, {})[field_name] = _int(share)
    return {names.get(p, p): rows for p, rows in out.items()}


def _endpoint_services(side: Side) -> dict[str, str]:
    """Online endpoint name -> the stack file's service it is (its endpoint's or deployments' tag)."""
    return {str((r.get("inputs") or {}).get("endpointName")): service for r in side.resources
            if r["type"] in (ONLINE_ENDPOINT, ONLINE_DEPLOYMENT) and (service := service_of(r))}


def _traffic_weights(side: Side) -> dict[str, dict[str, Any]]:
    """Per service: Deployment -> weight, from its canary's traffic ConfigMap."""
    out: dict[str, dict[str, Any]] = {}
    for r in side.resources:
        meta = (r.get("inputs") or {}).get("metadata") or {}
        raw = (meta.get("annotations") or {}).get(TRAFFIC_WEIGHTS_ANNOTATION)
        service = (meta.get("labels") or {}).get(SERVICE_LABEL)
        if r["type"] == K8S_CONFIG_MAP and service and isinstance(raw, str):
            try:
                out[service] = dict(json.loads(raw))
            except (ValueError, TypeError):
                continue
    return out


def aks_splits(side: Side) -> dict[str, dict[str, dict[str, Any]]]:
    """Per AKS/FPGA service: variant Deployment -> {model, traffic}: the model from the
    Deployment's annotation, the weight from the service's traffic ConfigMap (or, synthesized
    by older mldeploy, the pod template's annotation); a service with one Deployment and no
    weight takes all of it."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    weights = _traffic_weights(side)
    for r in side.resources:
        if r["type"] != K8S_DEPLOYMENT:
            continue
        meta = (r.get("inputs") or {}).get("metadata") or {}
        service = (meta.get("labels") or {}).get(SERVICE_LABEL)
        if not service:
            continue
        template = (((r.get("inputs") or {}).get("spec") or {}).get("template") or {}).get("metadata") or {}
        notes = {**(meta.get("annotations") or {}), **(template.get("annotations") or {})}
        name = str(meta.get("name") or r["name"])
        weight = weights.get(service, {}).get(name, notes.get(WEIGHT_ANNOTATION))
        out.setdefault(service, {})[name] = {
            "resource": r["name"], "variant": variant(r, service),
            "model": notes.get(MODELS_ANNOTATION), "traffic": _int(weight) if not isinstance(weight, str)
            else (int(weight) if weight.isdigit() else None)}
    for rows in out.values():
        if len(rows) == 1 and next(iter(rows.values()))["traffic"] is None:
            next(iter(rows.values()))["traffic"] = 100
    return out


def containerapp_splits(side: Side) -> dict[str, dict[str, dict[str, Any]]]:
    """Per Container Apps service: revision label -> {traffic}, from the app's
    `configuration.ingress.traffic` (the stack file's `revisions.<label>.trafficPercent`)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in side.resources:
        if r["type"] != CONTAINER_APP:
            continue
        # A secret in it masks the configuration whole ("[secret]"): no split to read then.
        config = (r.get("inputs") or {}).get("configuration")
        ingress = config.get("ingress") if isinstance(config, dict) else None
        traffic = ingress.get("traffic") if isinstance(ingress, dict) else None
        rows = {str(t["label"]): {"traffic": _int(t.get("weight")), "resource": r["name"]}
                for t in traffic if isinstance(t, dict) and t.get("label")} if isinstance(traffic, list) else {}
        if rows:
            out[service_of(r) or r["name"]] = rows
    return out


def _labels(r: dict | None) -> dict[str, tuple[int | None, str | None]]:
    """A container app's traffic by label: label -> (weight, revisionName); {} when its configuration is
    masked whole ("[secret]") or it has no labelled traffic."""
    config = ((r or {}).get("inputs") or {}).get("configuration")
    ingress = config.get("ingress") if isinstance(config, dict) else None
    traffic = ingress.get("traffic") if isinstance(ingress, dict) else None
    return {str(t["label"]): (_int(t.get("weight")), t.get("revisionName") if isinstance(t.get("revisionName"), str) else None)
            for t in traffic if isinstance(t, dict) and t.get("label")} if isinstance(traffic, list) else {}


def _label_key(c: ResourceChange, label: str) -> str:
    """`services.<app>.revisions.<label>` as the stack file says it, or the resource and label."""
    service = service_of(c.after or c.before)
    return f"`services.{service}.revisions.{label}`" if service else f"`{c.name}` label `{label}`"


def _table(kind: str, name: str, service: str | None, before: dict, after: dict) -> TrafficTable:
    rows = []
    for deployment in sorted(set(before) | set(after)):
        b, a = before.get(deployment, {}), after.get(deployment, {})
        resource = a.get("resource") or b.get("resource")
        # An online deployment's name is its key under `deployments`; an AKS Deployment's is not its variant's.
        said = (a.get("variant") or b.get("variant")) if kind == "AKS service" else deployment
        rows.append(TrafficRow(deployment, b.get("model"), a.get("model"), b.get("traffic"), a.get("traffic"),
                               b.get("mirror"), a.get("mirror"), resource if resource != deployment else None, said))
    return TrafficTable(f"{kind} `{name}`", tuple(rows), f"services.{service}" if service else None, kind)


def traffic_tables(d: StackDiff) -> list[TrafficTable]:
    """One table per online endpoint, AKS service and Container App with labelled revisions of either side."""
    tables = []
    services = {**_endpoint_services(d.base), **_endpoint_services(d.head)}
    for kind, read in (("endpoint", endpoint_splits), ("AKS service", aks_splits), ("Container App", containerapp_splits)):
        before, after = read(d.base), read(d.head)
        for name in sorted(set(before) | set(after)):
            service = services.get(name) if kind == "endpoint" else name
            tables.append(_table(kind, name, service, before.get(name, {}), after.get(name, {})))
    return tables


# -- warnings --------------------------------------------------------------------------------

def _live_deployments(side: Side) -> set[str]:
    """Names (`endpoint/deployment`, `service/deployment`) taking live traffic at this side."""
    live = {f"{e}/{n}" for e, rows in endpoint_splits(side).items() for n, r in rows.items() if r.get("traffic")}
    live |= {f"{s}/{n}" for s, rows in aks_splits(side).items() for n, r in rows.items() if r.get("traffic")}
    return live


def _serving_name(r: dict) -> str | None:
    inputs = r.get("inputs") or {}
    if r["type"] == ONLINE_DEPLOYMENT:
        return f"{inputs.get('endpointName')}/{inputs.get('deploymentName')}"
    if r["type"] == K8S_DEPLOYMENT:
        meta = inputs.get("metadata") or {}
        return f"{(meta.get('labels') or {}).get(SERVICE_LABEL)}/{meta.get('name') or r['name']}"
    return None


def _said(r: dict | None, fallback: str, *more: str) -> str:
    """`r` as the stack file names it (stack_label), else `fallback` in backticks (a resource of an
    older synth that carries no service tag)."""
    return stack_label(r, *more) or f"`{fallback}`" + (f" ({'; '.join(more)})" if more else "")


def _why(c: ResourceChange) -> str:
    reasons = sorted({f"`{p.path}` ({p.effect.reason})" for p in c.effects("replace")})
    return ": " + "; ".join(reasons[:3]) + (" …" if len(reasons) > 3 else "") if reasons else ""


def _promoted_canary(d: StackDiff, c: ResourceChange, name: str) -> str | None:
    """docs/aks.md's promotion of an AKS canary - the stable Deployment takes the canary's model,
    the canary is removed - said as what it is, or None for any other deletion of a live variant.
    Nothing is cut off: Pulumi deletes what the program no longer declares at the end of `pulumi
    up` (pulumi/pulumi#9979), after the stable Deployment's rolling update has completed
    (pulumi-kubernetes awaits it), and the NetworkPolicy stays as it was (render/k8s.py)."""
    if c.kind != "delete" or c.type != K8S_DEPLOYMENT:
        return None
    service, variant = name.split("/", 1)
    before, after = aks_splits(d.base).get(service, {}), aks_splits(d.head).get(service, {})
    gone = before.get(variant) or {}
    takers = [n for n, row in after.items() if row.get("traffic") == 100 and row.get("model")
              and row.get("model") == gone.get("model") and n in before]
    if not takers or variant in after:
        return None
    taker = next((r for r in d.head.resources if r["type"] == K8S_DEPLOYMENT and _serving_name(r) == f"{service}/{takers[0]}"), None)
    share = f"{gone['model']}, {gone.get('traffic')} %"
    return (f"{_said(c.before, name, share)} is deleted in a promotion: "
            f"{_said(taker, f'{service}/{takers[0]}')} "
            f"serves {gone['model']} after this change and takes all the traffic. Its pods roll first; Pulumi deletes "
            f"the canary at the end of `pulumi up`, after that roll. Check that {gone['model']} is the version to keep "
            f"(docs/aks.md, Blue/green)")


def _of_service(c: ResourceChange) -> str:
    """"`services.<name>`: " to put before a resource's own kind and name, when the synth says whose it is."""
    service = service_of(c.before or c.after)
    return f"`services.{service}`: " if service else ""


def _retired_labels(c: ResourceChange) -> list[Alert]:
    """A container app's label removed while it takes traffic: as a live online deployment deleted, its
    whole share moves at once to the labels left, which scale out for it only then (HTTP concurrency)."""
    before, after = _labels(c.before), _labels(c.after)
    out = []
    for label, (weight, revision) in sorted(before.items()):
        if not weight or label in after:
            continue
        left = ", ".join(f"`{n}` {before.get(n, (0, None))[0] or 0} → {w or 0} %" for n, (w, _) in sorted(after.items()))
        out.append(Alert("live-traffic", c.name, (
            f"{_label_key(c, label)}{f' (revision `{revision}`)' if revision else ''} takes live traffic ({weight} %) "
            f"and its label is removed: all of its share moves at once to the labels left ({left or 'none'}), "
            f"not through a traffic shift, before they have scaled out for it. To retire it, move its "
            f"`trafficPercent` to 0 first (`pulumi up`), then remove it (docs/containerapp.md#revisions-and-the-traffic-split)")))
    return out


def _live_traffic(d: StackDiff) -> list[Alert]:
    live, out = _live_deployments(d.base), []
    for c in d.changes:
        if c.type == ACI_GROUP and c.kind == "update":
            # container-instances-update.md: "When you update a container group, all running
            # containers in the group are restarted in-place" - ACI has no rolling update.
            out.append(Alert("live-traffic", c.name, f"{_of_service(c)}ACI container group `{c.name}` is updated in "
                                                       "place: Azure restarts all its containers, so the service does "
                                                       "not answer until they are ready again"))
        if c.type == CONTAINER_APP and c.kind == "update" and c.before is not None:
            out += _retired_labels(c)
        if c.kind not in ("replace", "delete") or c.before is None:
            continue
        verb = "replaced (deleted, then created)" if c.kind == "replace" else "deleted"
        name = _serving_name(c.before)
        promoted = _promoted_canary(d, c, name) if name in live else None
        if promoted:
            out.append(Alert("live-traffic", c.name, promoted))
        elif name in live:
            out.append(Alert("live-traffic", c.name, f"{_said(c.before, name)} takes live traffic and is {verb}{_why(c)}"))
        elif c.type == ONLINE_ENDPOINT:
            out.append(Alert("live-traffic", c.name, f"{_of_service(c)}online endpoint `{c.name}` is {verb}: every "
                                                       f"deployment behind it stops serving{_why(c)}"))
        elif c.type == ACI_GROUP:
            out.append(Alert("live-traffic", c.name, f"{_of_service(c)}ACI container group `{c.name}` serves the "
                                                       f"service and is {verb}{_why(c)}"))
    return out


# What an online deployment serves: its model, its scoring code, its environment (image) and the scorer's
# variables. A change of any of them on a deployment taking traffic upgrades that deployment's instances
# ("Azure Machine Learning reserves 20% of your compute resources for performing upgrades":
# how-to-manage-quotas.md, "Virtual machine quota allocation for deployment"), and all of its share moves to
# the change as they roll: no split to watch it on, no instant way back.
SERVED_PATHS = ("properties.model", "properties.codeConfiguration.", "properties.environmentId",
                "properties.environmentVariables.")
# A scorer variable mldeploy sets itself (targets/online_endpoint/plan.py, the stack file refuses it
# under environmentVariables): the keys a reviewer changed to move it.
# The names each target's paths give a scorer variable: an online deployment's
# `properties.environmentVariables.<name>`, a Kubernetes or Container Apps container's `env[<name>].value`.
ENV_NAME = re.compile(r"(?:environmentVariables\.([^.\[\]]+)$|\.env\[([^\]]+)\]\.value$)")


def _set_from(path: str) -> str:
    """" set from `<key>`" for a path of a scorer variable mldeploy derives from a stack key
    (plan/scorer.py SET_FROM: WORKER_COUNT, SCORING_TIMEOUT_MS, WORKER_TIMEOUT, ...), else ""."""
    match = ENV_NAME.search(path)
    key = SET_FROM.get(next((g for g in match.groups() if g), "")) if match else None
    return f" set from {key}" if key else ""


def _shown(paths: list[str]) -> str:
    """The first paths (those set from a stack key first: what the reviewer changed), each with its key."""
    ordered = sorted(paths, key=lambda p: not _set_from(p))[:3]
    # One key is said once, after the last of its variables in a row.
    said = [f"`{p}`" + (_set_from(p) if i + 1 == len(ordered) or _set_from(ordered[i + 1]) != _set_from(p) else "")
            for i, p in enumerate(ordered)]
    return ", ".join(said) + (" …" if len(paths) > 3 else "")


# What an AKS/FPGA variant serves: its models (the pod template's annotation), its scorer's image (score.py
# and the environment are built into it) and the scorer's variables. A change of any of them rolls that
# variant's pods (a RollingUpdate of the Deployment): all of its share moves to the change as they roll.
K8S_SERVED_PATHS = (f"spec.template.metadata.annotations.{MODELS_ANNOTATION}", "spec.template.spec.containers[scorer].image",
                    "spec.template.spec.containers[scorer].env[")
AKS_DOC = "docs/aks.md, Blue/green"


def _k8s_served(r: dict | None) -> tuple[Any, Any]:
    """What an AKS variant serves, to compare across variants: its models and its scorer's image."""
    inputs = (r or {}).get("inputs") or {}
    template = (inputs.get("spec") or {}).get("template") or {}
    models = ((template.get("metadata") or {}).get("annotations") or {}).get(MODELS_ANNOTATION)
    images = [c.get("image") for c in (template.get("spec") or {}).get("containers") or []
              if isinstance(c, dict) and c.get("name") == "scorer"]
    return models, images[0] if images else None


def _canaried(d: StackDiff, c: ResourceChange) -> bool:
    """The variant takes what another variant of its service served at the base (a promotion of the
    canary: the live-traffic warning says it for what it is)."""
    service, after = service_of(c.before), _k8s_served(c.after)
    return any(r["type"] == K8S_DEPLOYMENT and r["urn"] != c.urn and service_of(r) == service
               and _k8s_served(r) == after for r in d.base.resources)


def _live_update(d: StackDiff) -> list[Alert]:
    """An online deployment, or an AKS variant, taking traffic at the base whose served content is updated
    in place: not a blue/green step. A new score.py shared by every image does it to blue and green alike
    (hwalk's day 2: a rounding change in score.py updated blue at 90 % and green at 10 %, and the diff warned
    of nothing); the `git revert` of an AKS promotion gives the stable variant, at 100 %, its old model back
    while a canary of the new one is added (churn:2 -> churn:1 for the stable's half, without a word)."""
    traffic = {f"{e}/{n}": r.get("traffic") for e, rows in endpoint_splits(d.base).items() for n, r in rows.items()}
    traffic |= {f"{s}/{n}": r.get("traffic") for s, rows in aks_splits(d.base).items() for n, r in rows.items()}
    out = []
    for c in d.changes:
        if c.kind != "update" or c.type not in (ONLINE_DEPLOYMENT, K8S_DEPLOYMENT) or c.before is None:
            continue
        name = _serving_name(c.before)
        paths = SERVED_PATHS if c.type == ONLINE_DEPLOYMENT else K8S_SERVED_PATHS
        served = sorted({p.path for p in c.properties if p.path.startswith(paths)})
        if not traffic.get(name) or not served or (c.type == K8S_DEPLOYMENT and _canaried(d, c)):
            continue
        shown = _shown(served)
        content = [p for p in served if not _set_from(p)]
        variables_only = all(ENV_NAME.search(p) for p in content)
        if c.type == ONLINE_DEPLOYMENT:
            how = "as Azure upgrades its instances"
            way = ("give the change an image of its own (a score.py of its own too, when only the code changes) on a "
                   f"deployment at 0 % and move the traffic ({ROLLOUT_DOC})")
        else:
            (before, _), (after, _) = _k8s_served(c.before), _k8s_served(c.after)
            if before != after:
                shown = f"model {before} → {after}; {shown}"
            how = "as its pods roll"
            # A canary differs from the stable variant by its image only (its own `images` entry, whose
            # environmentVariables come before the service's: plan/scorer.py user_env).
            way = ("give a new `images` entry the variable (its `environmentVariables`), run it as the service's "
                   if variables_only else "run it as the service's ") + \
                f"`canary` and move `canary.trafficPercent` ({AKS_DOC})"
        said = f"{_said(c.before, name)} takes live traffic ({traffic[name]} %) and "
        if content:
            message = (f"{said}what it serves is updated in place ({shown}): {how}, all of its share moves to the "
                       f"change, not through a traffic shift. To canary it, {way}")
        else:  # only settings mldeploy derives from a stack key: how it serves, not what
            message = (f"{said}how it serves changes in place ({shown}): {how}, all of its share takes the new "
                       f"setting - the model and code stay, so there is nothing to canary. "
                       + " ".join(_setting_advice(c, p) for p in dict.fromkeys(map(_set_from, served))))
        out.append(Alert("live-update", c.name, message))
    return out


def _setting_advice(c: ResourceChange, set_from: str) -> str:
    """What to check when a setting derived from a stack key (plan/scorer.py SET_FROM) changes on a live
    variant: what the new value does to the requests it serves (docs/aks.md, Concurrency and timeouts)."""
    if "scoringTimeoutMs" in set_from:
        change = next((p for p in c.properties if ENV_NAME.search(p.path)
                       and GATEWAY_TIMEOUT_ENV in ENV_NAME.search(p.path).groups()), None)
        b, a = (int(v) if str(v).isdigit() else None for v in ((change.before, change.after) if change else (0, 0)))
        values = f" {b} → {a}" if b and a else ""
        if b and a and a < b:
            return (f"`scoringTimeoutMs`{values}: a request that takes longer than {a} ms now gets the gateway's 504 "
                    f"where it was answered before - check how long requests take (`mldeploy logs`) first.")
        return (f"`scoringTimeoutMs`{values}: a slow request may now hold a scorer worker that long, and a client "
                f"whose own timeout is shorter gives up first - check the clients' timeouts.")
    return (f"{set_from.removeprefix(' set from ')}: each replica runs that many scorer workers, each with the model "
            f"in memory - check that `memoryGb` holds them, and the replica count.")


# An online deployment's `requestTimeoutMs` (plan/endpoint.py iso_ms: `PT5S`): "408 Request timeout: The model
# execution took longer than the timeout supplied in `request_timeout_ms` under `request_settings` of your
# model deployment config" (learn.microsoft.com/azure/machine-learning/how-to-troubleshoot-online-endpoints,
# "HTTP status codes").
REQUEST_TIMEOUT_PATH = "properties.requestSettings.requestTimeout"
ISO_SECONDS = re.compile(r"PT(\d+(?:\.\d+)?)S")


def _ms(iso: Any) -> int | None:
    match = ISO_SECONDS.fullmatch(iso) if isinstance(iso, str) else None
    return round(float(match.group(1)) * 1000) if match else None


def _live_request_timeout(d: StackDiff) -> list[Alert]:
    """An online deployment taking traffic whose request timeout changes: a lowered one answers 408 to the
    requests that take longer, which it answered before (the property read only `PT5S` → `PT3S`)."""
    traffic = {f"{e}/{n}": r.get("traffic") for e, rows in endpoint_splits(d.base).items() for n, r in rows.items()}
    out = []
    for c in d.changes:
        change = next((p for p in c.properties if p.path == REQUEST_TIMEOUT_PATH), None)
        if c.type != ONLINE_DEPLOYMENT or c.kind != "update" or c.before is None or change is None:
            continue
        name = _serving_name(c.before)
        before, after = _ms(change.before), _ms(change.after)
        if not traffic.get(name) or before is None or after is None:
            continue
        said = f"{_said(c.before, name)} takes live traffic ({traffic[name]} %) and its `requestTimeoutMs` changes {before} → {after}"
        if after < before:
            out.append(Alert("live-update", c.name, (
                f"{said}: Azure answers 408 to a request whose scoring takes longer than {after} ms, which it "
                f"answered before - check how long requests take (`mldeploy logs`) first")))
        else:
            out.append(Alert("live-update", c.name, (
                f"{said}: a slow request may now hold an instance's worker up to {after} ms, and a client whose own "
                f"timeout is shorter gives up first - check the clients' timeouts")))
    return out


def _live_labels(d: StackDiff) -> list[Alert]:
    """A container app's label taking traffic at the base pointed at a new revision (a new image or
    revision-scope setting of the template's label): all of its share moves to the new revision at once.
    A label pointed at a revision the base named (a swap of labels) moves traffic the base already had
    there; one pointed at a revision no run creates is a missing-revision warning instead."""
    out = []
    for c in d.changes:
        if c.type != CONTAINER_APP or c.kind not in ("update", "replace") or c.before is None:
            continue
        before, after = _labels(c.before), _labels(c.after)
        existed = {rev for _, rev in before.values() if rev}
        _, created = _revision_names(c.after)
        template = sorted({p.path for p in c.properties if p.path.startswith("template.") and p.path != "template.revisionSuffix"})
        for label, (weight, revision) in sorted(before.items()):
            new = after.get(label, (None, None))[1]
            if not weight or new is None or new == revision or new in existed or new != created:
                continue
            shown = _shown(template)
            said = (f"{_label_key(c, label)} takes live traffic ({weight} %) and {{}} (revision `{revision}` → "
                    f"`{new}`{f': {shown}' if shown else ''}): all of its share moves to the new revision at once")
            if any(_serves(p) for p in template) or not template:
                message = (said.format("what it serves is replaced") + ", not through a traffic shift. To canary a "
                           "new image, point `image` at it under a new label at 0 % and move the traffic")
            else:  # scale, resources or a derived setting: a new revision of the same image and variables
                message = (said.format("how it serves changes in a new revision") + " - the same image and "
                           "variables, so there is nothing to canary; check the new setting against the load")
            out.append(Alert("live-update", c.name, f"{message} (docs/containerapp.md#revisions-and-the-traffic-split)"))
    return out


def _serves(path: str) -> bool:
    """A container app template path of what its revision serves: a container's image or a variable of the
    user's (not scale, resources, or a variable mldeploy derives from a setting: plan/scorer.py SET_FROM)."""
    return path.endswith(".image") or bool(ENV_NAME.search(path) and not _set_from(path))


# The v1 sizes an online deployment's instanceType is derived from when the stack file gives none (a managed
# deployment's SKU, a Kubernetes one's InstanceType: targets/online_endpoint, kubernetes_endpoint/instance_types.py).
V1_SIZE_KEYS = ("cpuCores", "memoryGb")


def _instance_type_from(d: StackDiff, c: ResourceChange) -> str:
    """" (set from `cpuCores` 1 → 2)" for an online deployment's instanceType the stack file leaves to
    mldeploy (no `instanceType`, v1's cpuCores/memoryGb given), else ""."""
    inputs = (c.after or c.before or {}).get("inputs") or {}
    service, name = service_of(c.after or c.before), inputs.get("deploymentName")
    base, head = ((((side.config.get("services") or {}).get(service) or {}).get("deployments") or {}).get(name) or {}
                  for side in (d.base, d.head))
    if not isinstance(head, dict) or "instanceType" in head or not any(k in head for k in V1_SIZE_KEYS):
        return ""
    base = base if isinstance(base, dict) else {}
    changed = [f"`{k}` {base.get(k, '—')} → {head.get(k, '—')}" for k in V1_SIZE_KEYS if base.get(k) != head.get(k)]
    return f" (set from {', '.join(changed) or ' / '.join(f'`{k}`' for k in V1_SIZE_KEYS)})"


def _create_only(d: StackDiff) -> list[Alert]:
    live, out = _live_deployments(d.base), []
    for c in d.changes:
        for p in c.effects("refused"):
            serving = c.before is not None and _serving_name(c.before) in live
            where = "a deployment taking live traffic" if serving else "this deployment"
            said = stack_label(c.before or c.after, f"resource `{c.name}`") or f"`{c.name}`"
            derived = _instance_type_from(d, c) if p.path == "properties.instanceType" else ""
            out.append(Alert("create-only", c.name, f"{said}: "
                                                      f"`{p.path}` `{p.before}` → `{p.after}`{derived} on {where}: "
                                                      f"{p.effect.reason}. Add a new deployment with the new value "
                                                      f"and move the traffic ({ROLLOUT_DOC})"))
    return out


def _is_gpu_profile(profile_type: Any) -> bool:
    """A GPU workload profile type: the serverless ones (Consumption-GPU-NC8as-T4, Consumption-GPU-NC24-A100)
    and the dedicated NC ones (NC24-A100, ...; workload-profiles-overview.md, "Profile types")."""
    return isinstance(profile_type, str) and ("GPU" in profile_type.upper() or profile_type.upper().startswith("NC"))


def _profiles(r: dict | None) -> dict[str, str]:
    profiles = ((r or {}).get("inputs") or {}).get("workloadProfiles") or []
    return {str(p.get("name")): str(p.get("workloadProfileType")) for p in profiles if isinstance(p, dict)}


def _workload_profiles(d: StackDiff) -> list[Alert]:
    """A GPU workload profile added to, removed from or changed on a Container Apps environment that
    exists: Azure applies a GPU profile only as an environment is created (containerapp/plan.py
    GPU_PROFILE_SOURCE), and azure-native updates the environment in place, so `pulumi up` stops there."""
    out = []
    for c in d.changes:
        if c.type != MANAGED_ENVIRONMENT or c.kind != "update":
            continue
        before, after = _profiles(c.before), _profiles(c.after)
        service = service_of(c.before or c.after)
        # The user wrote `services.<name>.workloadProfile: <type>`; the profile's own name is the program's.
        owner = f"`services.{service}.workloadProfile`: " if service else f"Container Apps environment `{c.name}`: "
        target = f"its Container Apps environment `{c.name}`" if service else "it"
        for name in sorted(set(before) | set(after)):
            old, new = before.get(name), after.get(name)
            if old == new or not (_is_gpu_profile(old) or _is_gpu_profile(new)):
                continue
            if old is None:
                said = f"GPU profile {new} is added to {target}"
                why = ("Azure applies a GPU profile only as an environment is created, so `pulumi up` fails at this "
                       "environment's update (azure-native updates it in place) and the app stays on its current profile")
            elif new is None:
                said = f"GPU profile {old} is removed from {target}"
                why = ("Azure applies a GPU profile only as an environment is created, and the environment is updated "
                       "before the app that runs on that profile (the app depends on it), so `pulumi up` asks Azure "
                       "to drop a profile in use")
            else:
                said = f"the profile's type changes {old} → {new} on {target}"
                why = ("Azure applies a GPU profile only as an environment is created, so `pulumi up` fails at this "
                       "environment's update")
            out.append(Alert("workload-profile", c.name, (
                f"{owner}{said} (as workload profile `{name}`): {why}. Instead: declare the new variant as a new service "
                f"(its own environment, created with the profile), deploy and test it, move clients to its URL, then "
                f"remove the old service ({CONTAINERAPP_GPU_DOC})")))
    return out


def _revision_names(r: dict | None) -> tuple[set[str], str | None]:
    """A container app's revisions named by its traffic (by label), and its template's revision
    (`<app>--<revisionSuffix>`, the one a `pulumi up` of it creates)."""
    inputs = (r or {}).get("inputs") or {}
    named = {revision for _, revision in _labels(r).values() if revision}
    template = inputs.get("template")
    suffix = template.get("revisionSuffix") if isinstance(template, dict) else None
    app = inputs.get("containerAppName")
    return named, f"{app}--{suffix}" if isinstance(app, str) and isinstance(suffix, str) else None


def _missing_revisions(d: StackDiff) -> list[Alert]:
    """A label of a deployed container app pointed at a revision that neither the base named nor this
    change creates (only the template's revision is created by a run): the other labels' revisions
    are named by the current revision-scope settings (targets/containerapp/plan.py), so changing them
    (environmentVariables, cores, timeouts, ...) while several labels take traffic names revisions that
    do not exist, and ARM refuses traffic to those (docs/containerapp.md, "Limit")."""
    out = []
    for c in d.changes:
        if c.type != CONTAINER_APP or c.kind not in ("update", "replace") or c.before is None:
            continue
        existed, base_template = _revision_names(c.before)
        existed |= {base_template} if base_template else set()
        _, created = _revision_names(c.after)
        service = service_of(c.after)
        for label, (_, name) in _labels(c.after).items():  # {} when a secret masks the configuration whole
            if not isinstance(name, str) or name == created or name in existed:
                continue
            key = f"services.{service}.revisions.{label}" if service and label else f"`{c.name}` label {label}"
            out.append(Alert("missing-revision", c.name, (
                f"`{key}`: its revision `{name}` is one no run creates - this change creates only the template's "
                f"(`{created}`), and the base named `{', '.join(sorted(existed))}`. A label other than the template's "
                f"names its revision by the current revision-scope settings (environment variables, cores, memory, "
                f"replicas, timeouts), and one changed while several labels take traffic: Container Apps refuses "
                f"traffic to a revision that does not exist. Make that change with the template's label taking all "
                f"the traffic and the other labels removed, then add them again "
                f"(docs/containerapp.md#revisions-and-the-traffic-split)")))
    return out


def _model_content(d: StackDiff) -> list[Alert]:
    """A registered model version whose file changed while its `version` did not (an explicit
    `version: N` and a retrained file): the version would no longer name one file, and what
    serves it says nothing changed (an online deployment's model id stays the same)."""
    out, keys = [], change_keys(d)
    for c in d.changes:
        digest = next((p for p in c.properties if p.path == MODEL_DIGEST_PATH), None)
        if c.type != MODEL_VERSION or c.kind != "update" or digest is None:
            continue
        inputs = (c.after or {}).get("inputs") or {}
        label = f"{inputs.get('name')}:{inputs.get('version')}"
        services = _endpoint_services(d.base)
        serving = sorted((f"`services.{services[e]}.deployments.{n}`" if e in services else f"`{e}/{n}`")
                         + f" ({r.get('traffic') or 0} %)" for e, rows in endpoint_splits(d.base).items()
                         for n, r in rows.items() if r.get("model") == label)
        served = f", which {', '.join(serving)} serve{'s' if len(serving) == 1 else ''}," if serving else ""
        named = f"`{keys[c.urn]}` (`{label}`, `{c.name}`)" if keys.get(c.urn) else f"`{label}` (`{c.name}`)"
        out.append(Alert("model-content", c.name, (
            f"{named}: its file changed (sha256 {str(digest.before)[:12]} → {str(digest.after)[:12]}) "
            f"but its version did not: the registered version{served} would no longer name one file. Give the new "
            f"file a new `version` in the stack file (or omit `version`: it is then derived from the content) and "
            f"roll it out ({MODEL_VERSIONS_DOC})")))
    return out


# An IoT Edge deployment at scale (an IoT Hub configuration; components/iot_edge_provider.py) is immutable
# content: a module's image, env or createOptions changed gives a new `deploymentId`, and Pulumi creates the
# new configuration before it deletes the old one (the ids differ). What the devices do then (Microsoft
# Learn, "Understand IoT Edge automatic deployments for single devices or at scale", Priority: "If a device
# is targeted with two or more deployments with equal priority, the most recently created deployment
# (determined by the creation timestamp) applies"; "Deploy IoT Edge modules at scale", Delete a deployment:
# "When you delete a deployment, any deployed devices take on their next highest priority deployment. If
# your devices don't meet the target condition of any other deployment, then the modules are not removed
# when the deployment is deleted"), and IoT Edge's agent restarts a module whose image or environment
# changed (MicrosoftDocs/azure-docs#80160: "Modules are restarted only when there is a change in image
# version and/or ENV variables"; Azure/iotedge#68: it compares the image reference, which is a digest here).
EDGE_DEPLOYMENT = "pulumi-python:dynamic/iotedge:Deployment"
EDGE_DOC = "docs/targets.md#replacing-an-iot-edge-deployment"
EDGE_CONTENT = "content.modulesContent.$edgeAgent.properties.desired.modules."  # what changed is said from the module on


def _edge_modules(r: dict | None) -> list[str]:
    """The custom modules an edge manifest runs (not $edgeAgent's runtime modules)."""
    content = ((r or {}).get("inputs") or {}).get("content")
    agent = (content.get("modulesContent") or {}).get("$edgeAgent") if isinstance(content, dict) else None
    modules = ((agent or {}).get("properties.desired") or {}).get("modules") if isinstance(agent, dict) else None
    return sorted(modules) if isinstance(modules, dict) else []


def _edge_rollout(d: StackDiff) -> list[Alert]:
    """What the devices do when an IoT Edge deployment of a deployed entry is replaced, updated on its
    device or deleted: `pulumi up` says only that `deploymentId` changed."""
    keys, out = change_keys(d), []
    for c in d.changes:
        if c.type != EDGE_DEPLOYMENT or c.before is None:
            continue
        old, new = c.before.get("inputs") or {}, (c.after or {}).get("inputs") or {}
        key = f"`{keys.get(c.urn) or c.name}`"
        modules = ", ".join(f"`{m}`" for m in _edge_modules(c.after or c.before)) or "its modules"
        paths = sorted(p.path.removeprefix(EDGE_CONTENT) for p in c.properties if p.path.startswith("content."))
        changed = _shown(paths)
        restarts = f"IoT Edge restarts {modules}" + (" (pulling the new image first)"
                                                      if any(p.endswith(".settings.image") for p in paths) else "")
        if c.kind == "delete":
            if old.get("deviceId"):
                said = (f"the runtime-only manifest is applied to device `{old['deviceId']}`: IoT Edge stops and "
                        f"removes {modules} there")
            else:
                said = (f"its IoT Edge deployment `{old.get('deploymentId')}` is deleted: each device it applied to "
                        f"takes its next-highest-priority deployment, and a device no other deployment targets keeps "
                        f"running {modules}, unmanaged: IoT Hub removes no module")
            out.append(Alert("edge-rollout", c.name, f"{key}: {said} ({EDGE_DOC})"))
        elif new.get("deviceId") and changed:
            out.append(Alert("edge-rollout", c.name, (
                f"{key}: the new manifest is applied to device `{new['deviceId']}` ({changed}): {restarts} there, "
                f"and it does not score until it is up again ({EDGE_DOC})")))
        elif c.kind == "replace" and not new.get("deviceId"):
            priority, condition = new.get("priority"), new.get("targetCondition")
            priority = int(priority) if isinstance(priority, (int, float)) else priority
            lower = isinstance(priority, int) and isinstance(old.get("priority"), (int, float)) and priority < old["priority"]
            when = ("when the old one is deleted, after it (the old one's priority is higher)" if lower
                    else "as soon as it is created (a device targeted by deployments of equal priority takes the "
                         "most recently created)")
            left = ("; a device only the old condition matched takes its next-highest-priority deployment or, with "
                    f"none, keeps running {modules} unmanaged" if condition != old.get("targetCondition") else "")
            out.append(Alert("edge-rollout", c.name, (
                f"{key}: its IoT Edge deployment is replaced, `{old.get('deploymentId')}` → `{new.get('deploymentId')}` "
                f"({changed or 'its content changed'}; IoT Hub cannot change a deployment's content). `pulumi up` "
                f"creates the new one first, at priority {priority}, and every device that `{condition}` matches "
                f"switches to it {when}: {restarts} on each, and it does not score until it is up again - on all "
                f"those devices at once, with no traffic split. Then the "
                f"old one is deleted{left}. To stage a change, try it first on a stack whose `targetCondition` "
                f"matches test devices ({EDGE_DOC})")))
    return out


def _keys(d: StackDiff) -> list[Alert]:
    out = []
    for key in secure_changes(d):
        kind = "key-rotation" if ".keys." in f".{key}." or key.endswith(".keys") else "secret"
        what = "a scoring key rotates" if kind == "key-rotation" else "a secret value changes"
        out.append(Alert(kind, key, f"{what}: `{key}` differs from the base (ciphertext compared: clients "
                                      "holding the old value must get the new one)"))
    keys = change_keys(d)
    for c in d.changes:
        if c.type == RANDOM_PASSWORD and c.kind in ("replace", "delete"):
            whose = f"`{keys[c.urn]}`: " if keys.get(c.urn) else ""
            out.append(Alert("key-rotation", c.name, f"{whose}generated key `{c.name}` is {c.kind}d: a new value is "
                                                       "generated and the old one stops working"))
    return out


def _production_destroy(d: StackDiff) -> list[Alert]:
    out, keys = [], change_keys(d)
    for c in d.changes:
        what = PROTECTED_IN_PRODUCTION.get(c.type)
        tags = ((c.before or {}).get("inputs") or {}).get("tags") or {}
        if what and c.kind in ("replace", "delete") and tags.get(PRODUCTION_TAG) == "true":
            verb = "destroyed and re-created" if c.kind == "replace" else "destroyed"
            whose = f"`{keys[c.urn]}`: " if keys.get(c.urn) else ""
            out.append(Alert("production-destroy", c.name, f"{whose}the production {what} `{c.name}` is {verb}{_why(c)}"))
    return out


def _endpoint_reasons(d: StackDiff) -> dict[str, tuple[dict, list[str]]]:
    """Per online endpoint updated in place by azure-native (its URN): (the resource, what makes
    azure-native PUT it). The endpoint ignores what EndpointTraffic owns (traffic, mirror, tags,
    description, authMode), so what is left in its diff - or a replaced identity or compute it
    references, a rotated key of its service, a changed `endpointRevision` - is a PUT of the
    endpoint without its split."""
    changes = {c.urn: c for c in d.changes}
    out: dict[str, tuple[dict, list[str]]] = {}
    for r in d.head.resources:
        if r["type"] != ONLINE_ENDPOINT or r["urn"] not in {x["urn"] for x in d.base.resources}:
            continue  # a new endpoint has no traffic to lose
        change = changes.get(r["urn"])
        if change is not None and change.kind == "replace":
            continue  # a replacement is a live-traffic warning already
        reasons = [f"`{p.path}`" for p in (change.properties if change else [])]
        for dep in r.get("dependsOn") or []:
            what, c = ENDPOINT_REFERENCES.get(dep.split("$")[-1].split("::")[0]), changes.get(dep)
            if what and c is not None and c.kind in ("replace", "delete"):
                reasons.append(f"its {what} `{c.name}` is {c.kind}d (a new id in the endpoint's PUT)")
        for c in d.changes:
            if c.type == ENDPOINT_TRAFFIC and c.before is not None and c.before.get("parent") == r.get("parent") \
                    and any(p.path == "endpointRevision" for p in c.properties) and not reasons:
                reasons.append("what azure-native PUTs of it changed (EndpointTraffic's `endpointRevision`)")
        if reasons:
            out[r["urn"]] = (r, reasons)
    return out


def _endpoint_put(d: StackDiff) -> list[Alert]:
    out = []
    for r, reasons in _endpoint_reasons(d).values():
        endpoint = (r.get("inputs") or {}).get("endpointName") or r["name"]
        service = service_of(r)
        out.append(Alert("endpoint-put", r["name"], (
            f"{f'`services.{service}`: ' if service else ''}online endpoint `{endpoint}` is PUT by azure-native: {'; '.join(reasons)}. That PUT carries no "
            "traffic split, so the endpoint answers 404 \"no valid deployment\" from then until EndpointTraffic "
            "sets the split again later in the same `pulumi up` (two ARM long-running operations; the window "
            f"could not be measured without Azure). To avoid any gap: a new endpoint under a new service name, "
            f"clients moved to it, the old one removed ({ENDPOINT_PUT_DOC})")))
    return out


def _synth_warnings(d: StackDiff) -> list[Alert]:
    """What synth warns of in the working tree and did not at the base (a score.py opening a file
    the new model version does not hold: the deployment would fail to start). Warnings the base
    had too are not repeated on every pull request; `mldeploy synth` shows them all."""
    old = set(d.base.warnings)
    return [Alert("synth", d.stack, f"`mldeploy synth` warns (new since {d.base.label}): {w}")
            for w in d.head.warnings if w not in old]


def gone_warnings(d: StackDiff) -> list[str]:
    """What synth warned of at the base and no longer does in the working tree (a scikit-learn pin
    made to match the model again): the change that fixed it, said."""
    new = set(d.head.warnings)
    return [w for w in d.base.warnings if w not in new]


def warnings(d: StackDiff) -> list[Alert]:
    """Every warning, most severe first."""
    return (_live_traffic(d) + _endpoint_put(d) + _create_only(d) + _live_update(d) + _live_request_timeout(d) + _live_labels(d) + _workload_profiles(d) + _missing_revisions(d)
            + _edge_rollout(d) + _model_content(d) + _production_destroy(d) + _keys(d) + _synth_warnings(d))


def notes(d: StackDiff) -> list[str]:
    """What the diff could not see, said next to the result (not a risk of the change itself), and
    what synth notes in the working tree and did not at the base: an image no deployment uses any
    more is still built and pushed, so retiring blue shows a docker Image created, which only that
    note explains (a note the base had too is not repeated; `mldeploy synth` prints them all)."""
    out = []
    if d.base.stand_ins:
        files = ", ".join(f"`{p}`" for p in d.base.stand_ins)
        out.append(f"Not in git at the base, so the working tree's copy stood in for it there (a retrained file "
                   f"shows no change): {files}. Pass `--base-files` with a checkout of the base that has them.")
    old = set(d.base.notes)
    out += [f"`mldeploy synth` notes (new since {d.base.label}): {n}" for n in d.head.notes if n not in old]
    out += [f"`mldeploy synth` no longer warns (it did at {d.base.label}): {w}" for w in gone_warnings(d)]
    return out
