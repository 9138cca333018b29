"""What the stack file calls a synthesized resource: `services.diabetes.deployments.blue`,
`services.diabetes.canary`, `images.diabetes`, `models.diabetes-v2`, `clusters.prod`,
`batch.nightly`, `edge.clinics`, `workspace` - for `mldeploy diff`'s warnings, its resource list
and its JSON.

Read from resources.json alone (and, when given, the stack file's keys): a resource's tags or
labels, its inputs, and the component it belongs to, so the base of a diff, synthesized by that
commit's own mldeploy, is named the same way.
"""
from __future__ import annotations

from typing import Any, Mapping

from mldeploy.cli.diffing import StackDiff
from mldeploy.targets import BY_NAME

ONLINE_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
MODEL_VERSION = "azure-native:machinelearningservices:ModelVersion"
MODEL_CONTAINER = "azure-native:machinelearningservices:ModelContainer"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
BLOB = "azure-native:storage:Blob"
K8S_DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE_TAG = "mldeploy-service"  # on a service's Azure resources (plan/tags.py)
CLUSTER_TAG = "mldeploy-cluster"  # on an AKS cluster and a Kubernetes compute attaching it (targets/aks, kubernetes_endpoint)
SERVICE_LABEL = "mldeploy.io/service"
VARIANT_LABEL = "mldeploy.io/variant"  # on a service's per-variant Kubernetes objects (render/k8s_pod.py)
STABLE = "stable"  # the variant running the service's own `image` (plan/workload.py); a canary is `canary`
# Components named by a stack key that none of their resources carries: an image (`image-<key>`,
# program/__init__.py), a cluster (`aks-<key>`: an attached one declares no ManagedCluster to tag), and a
# target's entry (`batch-<key>`, `edge-<key>`, `local-<key>`: the type token's area is the target's name).
NAMED_COMPONENTS = {"mldeploy:image:ScoringImage": ("image-", "images"), "mldeploy:aks:AksCluster": ("aks-", "clusters")}
# The workspace's component (registry.py): the workspace, its container registry, key vault, storage and
# logs, under the stack file's `workspace`, and every model (each ModelVersion says its own key).
WORKSPACE_COMPONENT = "mldeploy:registry:ModelRegistry"
NO_KEY = "— (mldeploy's own: no stack key)"


def _marks(r: dict | None) -> dict[str, Any]:
    """A resource's tags (Azure) or labels (Kubernetes)."""
    inputs = (r or {}).get("inputs") or {}
    tags = inputs.get("tags")
    return tags if isinstance(tags, dict) else ((inputs.get("metadata") or {}).get("labels") or {})


def service_of(r: dict | None) -> str | None:
    """The name under `services:` in the stack file of the service a resource belongs to (its
    `mldeploy-service` tag or `mldeploy.io/service` label), or None."""
    marks = _marks(r)
    name = marks.get(SERVICE_TAG) or marks.get(SERVICE_LABEL)
    return name if isinstance(name, str) and name else None


def variant(r: dict, service: str) -> str | None:
    """An AKS Deployment's variant (`stable`, `canary`): its label, or, synthesized by an older
    mldeploy, its name (the stable one has the service's name, plan/workload.py)."""
    meta = (r.get("inputs") or {}).get("metadata") or {}
    label = (meta.get("labels") or {}).get(VARIANT_LABEL)
    if isinstance(label, str) and label:
        return label
    name = str(meta.get("name") or "")
    return STABLE if name == service else name.removeprefix(f"{service}-") if name.startswith(f"{service}-") else None


def _service_key(r: dict) -> tuple[str, list[str]] | None:
    """(the key, what stands beside it) of a resource of a service: its deployment's key, its AKS
    variant's, else the service's."""
    service = service_of(r)
    if service is None:
        return None
    inputs, key, detail = r.get("inputs") or {}, f"services.{service}", []
    target = inputs.get("targetResourceUri")  # a deployment's autoscale setting: `…/onlineEndpoints/<e>/deployments/<d>`
    if r["type"] == ONLINE_DEPLOYMENT and inputs.get("deploymentName"):
        key = f"services.{service}.deployments.{inputs['deploymentName']}"
    elif isinstance(target, str) and "/onlineendpoints/" in target.lower() and "/deployments/" in target.lower():
        key = f"services.{service}.deployments.{target.rstrip('/').rsplit('/', 1)[-1]}"
    elif r["type"] in (K8S_DEPLOYMENT, "kubernetes:policy/v1:PodDisruptionBudget",
                       "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"):
        name = (inputs.get("metadata") or {}).get("name") or r["name"]
        said = variant(r, service) if r["type"] == K8S_DEPLOYMENT else (_marks(r).get(VARIANT_LABEL) or None)
        if said == STABLE:
            detail = [f"stable Deployment `{name}`"] if r["type"] == K8S_DEPLOYMENT else []
        elif said:
            key, detail = f"services.{service}.{said}", [f"Deployment `{name}`"] if r["type"] == K8S_DEPLOYMENT else []
    return key, detail


def stack_label(r: dict | None, *more: str) -> str | None:
    """What the stack file calls the serving resource `r`, its platform's name and `more` in
    parentheses: `services.diabetes.deployments.blue` (an online deployment),
    `services.diabetes.canary` (Deployment `diabetes-canary`), `services.diabetes` (stable Deployment
    `diabetes`), `services.diabetes` (anything else of a service); None for a resource of no service."""
    found = _service_key(r) if r is not None else None
    if found is None:
        return None
    key, detail = found
    said = "; ".join([*detail, *more])
    return f"`{key}`" + (f" ({said})" if said else "")


# -- every resource --------------------------------------------------------------------------

def _model_key(registered: Any, version: Any, models: Mapping[str, Any]) -> str:
    """The `models.<key>` registering `registered` (at `version` when several keys share it: two
    versions of one model), else the registered name as the key it defaults to."""
    keys = [k for k, m in models.items() if isinstance(m, dict) and (m.get("registeredName") or k) == registered]
    exact = [k for k in keys if version is not None and str(models[k].get("version")) == str(version)]
    named = exact or ([registered] if registered in keys else keys)
    return f"models.{named[0] if named else registered}"


def _model_paths(resources: list[dict], models: Mapping[str, Any]) -> dict[str, str]:
    """Datastore path of each registered version's file(s) (`mldeploy/models/diabetes/1/<sha>/...`) -> its key."""
    out = {}
    for r in resources:
        inputs = r.get("inputs") or {}
        uri = (inputs.get("properties") or {}).get("modelUri") if r["type"] == MODEL_VERSION else None
        if isinstance(uri, str) and "/paths/" in uri:
            out[uri.split("/paths/", 1)[1]] = _model_key(inputs.get("name"), inputs.get("version"), models)
    return out


def _own_key(r: dict, model_paths: Mapping[str, str], models: Mapping[str, Any]) -> str | None:
    """What the resource itself says of its key (tags, labels, inputs)."""
    inputs = r.get("inputs") or {}
    if (service := _service_key(r)) is not None:
        return service[0]
    cluster = _marks(r).get(CLUSTER_TAG)
    if isinstance(cluster, str) and cluster:
        return f"clusters.{cluster}"
    if r["type"] in (MODEL_VERSION, MODEL_CONTAINER):
        return _model_key(inputs.get("name"), inputs.get("version") if r["type"] == MODEL_VERSION else None, models)
    if r["type"] == BLOB and isinstance(inputs.get("blobName"), str):
        return next((key for path, key in model_paths.items()
                     if inputs["blobName"] == path or inputs["blobName"].startswith(path.rstrip("/") + "/")), None)
    if r["type"] == RESOURCE_GROUP:
        return "resourceGroup"
    return None


def _component_key(r: dict, config: Mapping[str, Any]) -> str | None:
    """A component's key by its name (NAMED_COMPONENTS; a target's `<target>-<key>`: a section's entry, or
    a service the synth marks nowhere else, a local one); checked against the stack file's keys when given."""
    area = r["type"].split(":")[1] if r["type"].count(":") == 2 else ""
    prefix, section = NAMED_COMPONENTS.get(r["type"], (None, None))
    if prefix is not None and r["name"].startswith(prefix):
        key = r["name"].removeprefix(prefix)
    elif area in BY_NAME and r["name"].startswith(f"{area}-"):
        section, key = BY_NAME[area].section, r["name"].removeprefix(f"{area}-")
    else:
        return None
    entries = config.get(section)
    return f"{section}.{key}" if not config or (isinstance(entries, dict) and key in entries) else None


def stack_keys(resources: list[dict], config: Mapping[str, Any] | None = None) -> dict[str, str | None]:
    """Each resource's stack-file key by URN, None where none applies (the gateway's image mirror,
    mldeploy's own). A resource that says nothing itself takes its component's: the one entry every
    keyed resource under the component belongs to (`aci-diabetes-aci` holds `services.diabetes-aci`'s),
    else the component's name (`batch-nightly`: `batch.nightly`). `config`: the stack file's
    `mldeploy:` keys without the prefix (`models`, `images`, ...)."""
    config = config or {}
    models = config.get("models") if isinstance(config.get("models"), dict) else {}
    by_urn = {r["urn"]: r for r in resources}
    paths = _model_paths(resources, models)
    own = {urn: _own_key(r, paths, models) for urn, r in by_urn.items()}

    def ancestors(urn: str) -> list[str]:
        chain, parent = [], by_urn[urn].get("parent")
        while parent in by_urn and parent not in chain:
            chain.append(parent)
            parent = by_urn[parent].get("parent")
        return chain

    held: dict[str, set[str]] = {}
    for urn, key in own.items():
        for parent in ancestors(urn) if key else ():
            held.setdefault(parent, set()).add(".".join(key.split(".")[:2]))  # the entry, not its deployment
    # The workspace's component holds every model: named for the workspace, not for one of them.
    component = {urn: "workspace" if r["type"] == WORKSPACE_COMPONENT else
                 (next(iter(held[urn])) if len(held.get(urn, ())) == 1 else None) or _component_key(r, config)
                 for urn, r in by_urn.items() if own[urn] is None}
    return {urn: own[urn] or component.get(urn) or next((component[a] for a in ancestors(urn) if component.get(a)), None)
            for urn in by_urn}


def change_keys(d: StackDiff) -> dict[str, str | None]:
    """Each changed resource's key by URN: as the working tree names it, a deleted one as the base did."""
    base, head = stack_keys(d.base.resources, d.base.config), stack_keys(d.head.resources, d.head.config)
    return {c.urn: head.get(c.urn) if c.after is not None else base.get(c.urn) for c in d.changes}
