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
        for key, image in service.image_references():
            _must_exist(f"{p}services.{name}.{key}", image, "images", settings.images)
        cluster = service.cluster_used()
        if cluster is not None:
            _must_exist(f"{p}services.{name}.cluster", cluster, "clusters", settings.clusters)
    for section, entries in settings.sections.items():
        for name, entry in entries.items():
            for key, model in entry.model_references():
                _must_exist(f"{p}{section}.{name}.{key}", model, "models", settings.models)
            for key, image in entry.image_references():
                _must_exist(f"{p}{section}.{name}.{key}", image, "images", settings.images)
    _check_dns_labels(settings)
    _check_one_owner(settings)


def _check_dns_labels(settings: "StackSettings") -> None:
    """Public DNS labels are unique per region: two services of one stack may not share one."""
    p = f"{PROJECT}:"
    seen: dict[tuple[str, str], str] = {}  # (zone, label): ACI's and AKS's labels live in different DNS zones
    for name, service in sorted(settings.services.items()):
        claim = service.dns_label_claim()
        if claim is None:
            continue
        field, zone, label = claim
        key = f"{p}services.{name}.{field}"
        other = seen.setdefault((zone, label), name)
        if other != name:
            raise ConfigError(key, f"DNS label {label!r} is also service {other!r}'s; labels are unique "
                                   "per region")


def _check_one_owner(settings: "StackSettings") -> None:
    """Values that name one thing in Azure or on this machine may be claimed by one entry only:
    an attached cluster, a host name (the local port: mldeploy/targets/local/checks.py; the edge target's
    own: mldeploy/targets/edge/checks.py)."""
    p = f"{PROJECT}:"
    hosts: dict[str, str] = {}
    for name, service in sorted(settings.services.items()):
        claim = service.host_name_claim()
        if claim is not None:
            key, host = claim
            other = hosts.setdefault(host.lower(), name)
            if other != name:
                raise ConfigError(f"{p}services.{name}.{key}", f"host name {host!r} is also service {other!r}'s; "
                                                               "one name reaches one service")
    attached: dict[tuple[str, str], str] = {}
    for name, cluster in sorted(settings.clusters.items()):
        if cluster.attach is not None:
            target = (cluster.attach.resource_group.lower(), cluster.attach.name.lower())
            other = attached.setdefault(target, name)
            if other != name:
                raise ConfigError(f"{p}clusters.{name}.attach", f"cluster {cluster.attach.name!r} in "
                                  f"{cluster.attach.resource_group!r} is already attached as clusters.{other}; "
                                  "services share one entry (the Azure ML extension and compute exist once)")
