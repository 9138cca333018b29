"""A managed online endpoint's own load-time rules and the quota preflight: cores per VM family,
ceil(1.2 × instances) × cores of the SKU (reference-managed-online-endpoints-vm-sku-list.md),
against the stack's `endpointQuota`. The rules every online endpoint keeps, and its plan:
mldeploy/targets/online_endpoint/plan.py."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError
from mldeploy.plan.managed_skus import SKU_FAMILIES, reserved_instances
from mldeploy.targets.managed.settings import ManagedEndpointSettings
from mldeploy.targets.managed.skus import managed_instance_type
from mldeploy.targets.online_endpoint import plan as endpoint_plan

QUOTA_HEADING = "quota preflight (managed online endpoints: cores per VM family, 20 % upgrade reserve included):"

check = endpoint_plan.check  # a managed endpoint adds no rule of one entry to the family's


@dataclass(frozen=True)
class QuotaUse:
    """Cores one VM family needs for the stack's managed deployments (20 % reserve included)."""

    family: str
    cores: int
    parts: tuple[str, ...]  # "web/blue: ceil(1.2 × 3) = 4 × 4 cores (Standard_F4s_v2)"


def managed_endpoints(stack: Any) -> list[tuple[str, ManagedEndpointSettings]]:
    """The stack's managed endpoints, by name."""
    return [(n, s) for n, s in sorted(stack.services.items()) if isinstance(s, ManagedEndpointSettings)]


def quota_usage(services: Iterable[tuple[str, ManagedEndpointSettings]]) -> list[QuotaUse]:
    """Cores per VM family: ceil(1.2 × instances) × cores of the SKU, per managed deployment.
    With autoscaling the most instances (autoscaleMaxReplicas) count: Azure reserves for them."""
    by_family: dict[str, list[tuple[int, str]]] = {}
    for name, service in services:
        for dep_name, dep in sorted(service.deployments.items()):
            sku = managed_instance_type(dep, f"{PROJECT}:services.{name}.deployments.{dep_name}")
            instances = dep.autoscale_max_replicas if dep.autoscale_enabled else dep.instance_count
            held = reserved_instances(instances, sku)
            cores = held * sku.cores
            how = (f"{instances}" if sku.skips_reservation else f"ceil(1.2 × {instances}) = {held}")
            by_family.setdefault(sku.family, []).append(
                (cores, f"{name}/{dep_name}: {how} × {sku.cores} cores ({sku.name}) = {cores}"))
    return [QuotaUse(family, sum(c for c, _ in parts), tuple(p for _, p in parts))
            for family, parts in sorted(by_family.items())]


def check_quota(usage: list[QuotaUse], quota: dict[str, int]) -> None:
    """Refuse a stack whose managed deployments need more cores than a configured family quota,
    and a quota for a family no managed SKU belongs to (a typo would never be compared)."""
    families = sorted({sku.family for sku in SKU_FAMILIES.values()})
    for family in sorted(quota):
        if family not in families:
            raise ConfigError(f"{PROJECT}:endpointQuota.{family}",
                              f"unknown VM family {family!r}; the managed online endpoint SKUs' families are: "
                              f"{', '.join(families)}")
    for use in usage:
        limit = quota.get(use.family)
        if limit is not None and use.cores > limit:
            raise ConfigError(f"{PROJECT}:endpointQuota.{use.family}",
                              f"the managed deployments need {use.cores} cores of {use.family} "
                              f"({'; '.join(use.parts)}) but the quota is {limit}: lower instance counts, "
                              "choose another SKU family or raise the quota")


def check_stack(stack: Any) -> None:
    """The stack's `endpointQuota` against its managed endpoints (once per stack)."""
    endpoints = managed_endpoints(stack)
    quota = dict(stack.endpoint_quota)
    if quota and not endpoints:
        raise ConfigError(f"{PROJECT}:endpointQuota", "applies only to managed online endpoints (target: managed); "
                                                      "this stack declares none")
    check_quota(quota_usage(endpoints), quota)


def quota_report(usage: list[QuotaUse], quota: dict[str, int]) -> list[str]:
    """Lines `synth` prints: cores per VM family, against the configured quota where known."""
    lines = []
    for use in usage:
        limit = quota.get(use.family)
        against = f" of {limit} (endpointQuota)" if limit is not None else " (no endpointQuota set for it)"
        lines.append(f"{use.family}: {use.cores} cores{against}")
        lines += [f"  {part}" for part in use.parts]
    return lines


def report(stack: Any) -> tuple[str, list[str]] | None:
    """The quota preflight of a stack's managed endpoints, as `synth` prints it (None if none)."""
    lines = quota_report(quota_usage(managed_endpoints(stack)), dict(stack.endpoint_quota))
    return (QUOTA_HEADING, lines) if lines else None
