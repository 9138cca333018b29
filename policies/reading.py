"""Reading resources the way the policies need them: stack of a URN, tags and labels,
production-ness, the containers of a workload, whether Azure supports tags on a type, and
values a policy cannot read (unknown during preview, masked by synth).

Props are resource inputs in wire form (camelCase), as `pulumi preview` hands them to the pack
and as `mldeploy synth` records them, so one reader serves both.
"""
from __future__ import annotations

import functools
import importlib
from typing import Any, Iterable, Iterator, Mapping, Sequence

from mldeploy.contract import MASK
from mldeploy.plan.tags import PRODUCTION_TAG
from mldeploy.pulumi_internals import UnknownValueError, resource_input_names

ACI = "azure-native:containerinstance:ContainerGroup"
CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
REGISTRY = "azure-native:containerregistry:Registry"
CONTAINER_APP = "azure-native:app:ContainerApp"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"

# Kubernetes workload kinds -> path to their pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def stack_of(urn: str) -> str:
    """`urn:pulumi:<stack>::<project>::<type>::<name>` -> `<stack>`."""
    head = urn.split("::", 1)[0]
    return head.rsplit(":", 1)[-1] if head.startswith("urn:pulumi:") else ""


def get(props: Any, *path: str) -> Any:
    """props[a][b]... or None when any step is missing."""
    for key in path:
        if not isinstance(props, Mapping):
            return None
        props = props.get(key)
    return props


def tags_of(props: Mapping[str, Any]) -> dict[str, str]:
    """Azure tags, or Kubernetes labels and annotations (where a program puts its markers)."""
    found: dict[str, str] = {}
    for source in (get(props, "metadata", "annotations"), get(props, "metadata", "labels"), props.get("tags")):
        if isinstance(source, Mapping):
            found.update({str(k): str(v) for k, v in source.items()})
    return found


def is_production(stack: str, resources: Iterable[Mapping[str, Any]], production_stacks: Iterable[str]) -> bool:
    """A production stack: named so in the pack's config, or marked by the program (the
    `mldeploy-production` tag it puts on every resource when `mldeploy:production` is true)."""
    if stack in set(production_stacks):
        return True
    return any(tags_of(props).get(PRODUCTION_TAG) == "true" for props in resources)


def containers(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(where, container) for every container a workload runs, init containers included."""
    if resource_type in (ACI, CONTAINER_APP):
        # A container group lists them at the top; a container app in its revision template.
        spec = props if resource_type == ACI else get(props, "template")
        for field in ("containers", "initContainers"):
            for i, c in enumerate((spec.get(field) if isinstance(spec, Mapping) else None) or []):
                if isinstance(c, Mapping):
                    yield f"{field}[{i}] ({c.get('name', '?')})", c
        return
    path = POD_SPEC_PATHS.get(resource_type)
    if path is None:
        return
    spec = get(props, *path)
    if not isinstance(spec, Mapping):
        return
    for field in ("containers", "initContainers"):
        for i, c in enumerate(spec.get(field) or []):
            if isinstance(c, Mapping):
                yield f"{field}[{i}] ({c.get('name', '?')})", c


def is_workload(resource_type: str) -> bool:
    return resource_type == ACI or resource_type in POD_SPEC_PATHS


@functools.lru_cache(maxsize=None)
def supports_tags(resource_type: str) -> bool:
    """Whether the Azure resource type takes ARM tags, read from the azure-native SDK itself."""
    parts = resource_type.split(":")
    if len(parts) != 3 or parts[0] != "azure-native":
        return False
    try:
        module = importlib.import_module(f"pulumi_azure_native.{parts[1]}")
        cls = getattr(module, parts[2])
        return "tags" in resource_input_names(cls)
    except (ImportError, AttributeError, ValueError, TypeError):
        return False


# -- values not readable: unknown until `pulumi up`, or masked by synth ------------------------

class Unknown:
    def __repr__(self) -> str:
        return "<unknown until pulumi up>"


UNKNOWN = Unknown()


def plain(value: Any) -> Any:
    """A plain copy of props, values unknown during preview as UNKNOWN instead of raising."""
    if isinstance(value, Mapping):
        out: dict = {}
        for key in list(value):
            try:
                out[key] = plain(value[key])
            except UnknownValueError:
                out[key] = UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items: list = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def opaque(value: Any) -> bool:
    """Masked by synth or unknown at preview: present, but not readable."""
    return value is UNKNOWN or value == MASK


def same(a: Any, b: Any) -> bool:
    """Equal, or one of them not known yet."""
    return a is UNKNOWN or b is UNKNOWN or a == b


def number(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None
