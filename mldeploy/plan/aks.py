"""An AKS service's plan types: what the AKS target's plan (mldeploy/targets/aks/plan.py) decides
for one service - its WorkloadPlan (components/aks_service.py takes it), the gateway of each
variant's pods, its host names - and what it needs of a built image."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from mldeploy.plan.gateway import GatewaySpec
from mldeploy.plan.workload import WorkloadPlan


@dataclass(frozen=True)
class ImageFacts:
    """What the plan needs of a built image: its reference (digest), tag, models and the stack's
    `environmentVariables` of it."""

    ref: Any
    tag: str
    models: tuple[tuple[str, str], ...]
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ServicePlan:
    """One AKS service, decided: its workload, its pods' gateways and the names clients reach it by."""

    workload: WorkloadPlan
    host: str | None  # the public/internal name clients use, when one is known before deploy
    gateways: Mapping[str, GatewaySpec]  # variant name -> its pods' gateway
    load_balancer_host: str | None = None  # <dnsLabel>.<region>.cloudapp.azure.com (public only)
