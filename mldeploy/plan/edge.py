"""What is decided about one `edge` entry before anything is declared (the plan types the
component and the manifest renderer take): the IoT Hub it goes through, the scoring module
(image, ports, environment, restart policy), the routes, and which devices get it. The plan
function is the edge target's own (mldeploy/targets/edge/plan.py); the manifest is rendered from
the plan at deploy time (mldeploy/render/edge_manifest.py), once the registry's credentials are known."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


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
    access_policy: str  # needs RegistryRead, RegistryWrite and ServiceConnect (mldeploy/targets/edge/config.py)


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


def deployment_id(entry: str, preview: dict[str, Any]) -> str:
    """`mldeploy-<entry>-<digest>`: new content, new id (IoT Hub configurations are immutable).
    The digest is over the masked manifest, so it never derives from a secret."""
    digest = hashlib.sha256(json.dumps(preview, sort_keys=True).encode()).hexdigest()[:10]
    return f"mldeploy-{entry}-{digest}"
