"""Checks across sections of a stack: every name one entry uses must exist in another."""
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
        cluster = getattr(service, "cluster", None)
        if cluster is not None:
            _must_exist(f"{p}services.{name}.cluster", cluster, "clusters", settings.clusters)
        if service.target == "fpga":
            from mldeploy.fpga_regions import check_service_region

            check_service_region(name, service, settings.location)
        if service.target == "aci" and settings.production:
            raise ConfigError(
                f"{p}services.{name}.target",
                "ACI is for dev/test only and this stack is marked production "
                f"({p}production: true); deploy to AKS (target: aks) instead",
            )
    from mldeploy.endpoints import check_stack_endpoints

    check_stack_endpoints(settings)
    for name, batch in settings.batch.items():
        _must_exist(f"{p}batch.{name}.model", batch.model, "models", settings.models)
    for name, edge in settings.edge.items():
        _must_exist(f"{p}edge.{name}.image", edge.image, "images", settings.images)
