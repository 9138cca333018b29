"""Decide one `edge` entry before anything is declared: its EdgePlan (mldeploy/plan/edge.py), the
hub, the scoring module, the routes and which devices get it. No Pulumi here."""
from __future__ import annotations

from typing import Any, Mapping

from mldeploy.plan.edge import EdgePlan, HubPlan, ScoringModule
from mldeploy.plan.scorer import user_env
from mldeploy.targets.edge.config import EdgeSettings

ENTRY_LABEL = "mldeploy-entry"  # on an at-scale deployment: which entry of the stack it is


def default_routes(module: str) -> dict[str, str]:
    """The module's messages go upstream to IoT Hub (the guide's manifest does the same)."""
    return {f"{module}ToIoTHub": f"FROM /messages/modules/{module}/outputs/* INTO $upstream"}


def plan_edge(entry: str, s: EdgeSettings, *, image: Any, image_env: Mapping[str, str] | None = None) -> EdgePlan:
    """`image` is what the device pulls: the built image by digest, so a device never runs a
    different image under the same tag; `image_env`: its `environmentVariables`, under the entry's `env`."""
    h = s.iot_hub
    hub = HubPlan(name=h.name, existing=h.existing, resource_group=h.resource_group, sku=h.sku,
                  capacity=h.capacity, access_policy=h.access_policy)
    module = ScoringModule(name=s.module, image=image, port=s.port, host_port=s.host_port or s.port,
                           env=dict(user_env(image_env or {}, s.env)), restart_policy=s.restart_policy, status=s.status,
                           extra_create_options=dict(s.create_options))
    at_scale = s.target_condition is not None
    return EdgePlan(
        entry=entry, hub=hub, module=module, runtime_version=s.runtime_version,
        routes=dict(s.routes) if s.routes is not None else default_routes(s.module),
        device_id=s.device_id, target_condition=s.target_condition,
        priority=s.effective_priority if at_scale else None,
        labels={**s.labels, ENTRY_LABEL: entry} if at_scale else None,
    )
