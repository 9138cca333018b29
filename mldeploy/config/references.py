"""Checks across sections of a stack: every name one entry uses must exist in another, and names
that must be unique are. The plan layer's rules run after these (mldeploy/plan/stack.py)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError

if TYPE_CHECKING:
    from mldeploy.config.stack import StackSettings


def _must_exist(where: str, name: str, section: str, known: dict) -> None:
    if name not in known:
        choices = ", ".join(sorted(known)) or f"none declared under {PROJECT}:{section}"
        raise ConfigError(where, f"refers to {section[:-1] if section.endswith('s') else section} "
                                 f"{name!r}, which does not exist; known: {choices}")


def check_references(settings: "StackSettings", root: Path) -> None:
    """Raise ConfigError for the first dangling reference or cross-section conflict."""
    p = f"{PROJECT}:"
    for name, image in settings.images.items():
        for i, model in enumerate(image.models):
            _must_exist(f"{p}images.{name}.models[{i}]", model, "models", settings.models)
    for name, service in settings.services.items():
        for dep_name, dep in (getattr(service, "deployments", None) or {}).items():
            _must_exist(f"{p}services.{name}.deployments.{dep_name}.image", dep.image, "images", settings.images)
        _must_exist(f"{p}services.{name}.image", service.image, "images", settings.images)
        canary = getattr(service, "canary", None)
        if canary is not None:
            _must_exist(f"{p}services.{name}.canary.image", canary.image, "images", settings.images)
        cluster = getattr(service, "cluster", None)
        if cluster is not None:
            _must_exist(f"{p}services.{name}.cluster", cluster, "clusters", settings.clusters)
        if service.target == "aci" and settings.production:
            raise ConfigError(
                f"{p}services.{name}.target",
                "ACI is for dev/test only and this stack is marked production "
                f"({p}production: true); deploy to AKS (target: aks) instead",
            )
    for name, batch in settings.batch.items():
        _must_exist(f"{p}batch.{name}.model", batch.model, "models", settings.models)
    for name, edge in settings.edge.items():
        _must_exist(f"{p}edge.{name}.image", edge.image, "images", settings.images)
        if edge.module.lstrip("$").lower() in RESERVED_EDGE_MODULES:
            key = "moduleName" if edge.module_name else "image"
            raise ConfigError(f"{p}edge.{name}.{key}", f"module name {edge.module!r} is reserved by the IoT "
                                                       "Edge runtime ($edgeAgent, $edgeHub): set moduleName")
    _check_kubernetes_names(settings)
    _check_dns_labels(settings)


# IoT Edge's system modules (learn.microsoft.com/azure/iot-edge/module-composition: "the
# deployment manifest ... $edgeAgent ... $edgeHub"); a user module of that name collides.
RESERVED_EDGE_MODULES = {"edgeagent", "edgehub"}
# Namespaces Kubernetes and AKS own: `kube-` is reserved for Kubernetes system namespaces
# (kubernetes.io/docs/concepts/overview/working-with-objects/namespaces: "Avoid creating
# namespaces with the prefix kube-"), `default` already exists, and AKS add-ons run in these.
SYSTEM_NAMESPACES = {"default", "gatekeeper-system", "calico-system", "tigera-operator",
                     "app-routing-system", "aks-istio-system", "aks-command", "cert-manager"}
# The node pool a created cluster gets (components/aks_cluster.py): an FPGA pool may not reuse it.
SYSTEM_POOL = "system"


def _check_kubernetes_names(settings: "StackSettings") -> None:
    p = f"{PROJECT}:"
    namespaces: dict[tuple[str, str], str] = {}
    pools: dict[tuple[str, str], str] = {}
    for name, service in sorted(settings.services.items()):
        if service.target not in ("aks", "fpga"):
            continue
        key = f"{p}services.{name}.namespace" if service.namespace else f"{p}services.{name}"
        namespace = service.namespace or name
        if namespace.startswith("kube-") or namespace in SYSTEM_NAMESPACES:
            raise ConfigError(key, f"namespace {namespace!r} belongs to Kubernetes or AKS (kube-*, "
                                   f"{', '.join(sorted(SYSTEM_NAMESPACES))}); mldeploy creates the "
                                   "service's own namespace: choose another")
        other = namespaces.setdefault((service.cluster, namespace), name)
        if other != name:
            raise ConfigError(key, f"namespace {namespace!r} is also service {other!r}'s on cluster "
                                   f"{service.cluster!r}; each service gets its own namespace")
        if service.target == "fpga":
            pool_key = f"{p}services.{name}.fpgaPoolName"
            if service.fpga_pool_name == SYSTEM_POOL:
                raise ConfigError(pool_key, f"{SYSTEM_POOL!r} is the cluster's system node pool; "
                                            "name the FPGA pool otherwise (default: fpga)")
            other = pools.setdefault((service.cluster, service.fpga_pool_name), name)
            if other != name:
                raise ConfigError(pool_key, f"node pool {service.fpga_pool_name!r} is also service "
                                            f"{other!r}'s on cluster {service.cluster!r}")


def _check_dns_labels(settings: "StackSettings") -> None:
    """Public DNS labels are unique per region: two services of one stack may not share one."""
    p = f"{PROJECT}:"
    seen: dict[str, str] = {}  # ACI's and AKS's labels live in different DNS zones
    for name, service in sorted(settings.services.items()):
        label = getattr(service, "dns_label", None) or getattr(service, "dns_name_label", None)
        if label is None:
            continue
        key = f"{p}services.{name}." + ("dnsLabel" if hasattr(service, "dns_label") else "dnsNameLabel")
        other = seen.setdefault(f"{service.target == 'aci'}/{label}", name)
        if other != name:
            raise ConfigError(key, f"DNS label {label!r} is also service {other!r}'s; labels are unique "
                                   "per region")
