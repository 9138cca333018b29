"""Decide one `edge` entry before anything is declared: the IoT Hub it goes through, the scoring
module (image, ports, environment, restart policy), the routes, and which devices get it. The
manifest itself is rendered from this plan at deploy time (mldeploy/render/edge_manifest.py),
once the registry's credentials are known."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from mldeploy.config.edge import EdgeSettings

ENTRY_LABEL = "mldeploy-entry"  # on an at-scale deployment: which entry of the stack it is


@dataclass(frozen=True)
class ScoringModule:
    """The model's module: its image, the scorer's port, environment and restart policy."""

    name: str
    image: Any  # `<registry>/<image>@sha256:...` (an Output at deploy time)
    port: int
    host_port: int
    env: dict[str, str] = field(default_factory=dict)
    restart_policy: str = "always"
    status: str = "running"
    extra_create_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HubPlan:
    """The IoT Hub the deployment is applied through: created here, or an existing one."""

    name: str
    existing: bool
    resource_group: str | None  # an existing hub's group; None: the stack's
    sku: str
    capacity: int
    access_policy: str  # needs RegistryRead, RegistryWrite and ServiceConnect (config/edge.py)


@dataclass(frozen=True)
class EdgePlan:
    """What IotEdgeDeployment declares: one device (`device_id`) or, at scale, every device
    matching `target_condition`, with the priority and labels of that configuration."""

    entry: str  # the entry's name under `edge`
    hub: HubPlan
    module: ScoringModule
    routes: dict[str, str]
    runtime_version: str
    device_id: str | None = None
    target_condition: str | None = None
    priority: int | None = None  # at scale only
    labels: dict[str, str] | None = None  # at scale only

    @property
    def at_scale(self) -> bool:
        return self.target_condition is not None


def default_routes(module: str) -> dict[str, str]:
    """The module's messages go upstream to IoT Hub (the guide's manifest does the same)."""
    return {f"{module}ToIoTHub": f"FROM /messages/modules/{module}/outputs/* INTO $upstream"}


def deployment_id(entry: str, preview: dict[str, Any]) -> str:
    """`mldeploy-<entry>-<digest>`: new content, new id (IoT Hub configurations are immutable).
    The digest is over the masked manifest, so it never derives from a secret."""
    digest = hashlib.sha256(json.dumps(preview, sort_keys=True).encode()).hexdigest()[:10]
    return f"mldeploy-{entry}-{digest}"


def plan_edge(entry: str, s: EdgeSettings, *, image: Any) -> EdgePlan:
    """`image` is what the device pulls: the built image by digest, so a device never runs a
    different image under the same tag."""
    h = s.iot_hub
    hub = HubPlan(name=h.name, existing=h.existing, resource_group=h.resource_group, sku=h.sku,
                  capacity=h.capacity, access_policy=h.access_policy)
    module = ScoringModule(name=s.module, image=image, port=s.port, host_port=s.host_port or s.port,
                           env=dict(s.env), restart_policy=s.restart_policy, status=s.status,
                           extra_create_options=dict(s.create_options))
    at_scale = s.target_condition is not None
    return EdgePlan(
        entry=entry, hub=hub, module=module, runtime_version=s.runtime_version,
        routes=dict(s.routes) if s.routes is not None else default_routes(s.module),
        device_id=s.device_id, target_condition=s.target_condition,
        priority=s.effective_priority if at_scale else None,
        labels={**s.labels, ENTRY_LABEL: entry} if at_scale else None,
    )
