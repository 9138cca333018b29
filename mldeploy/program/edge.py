"""The `edge` section: one IotEdgeDeployment per entry, and `iot-edge/<name>.json` in synth."""
from __future__ import annotations

from pathlib import Path

from components.iot_edge import IotEdgeDeployment
from mldeploy.config.edge import EdgeSettings
from mldeploy.plan.edge import plan_edge
from mldeploy.program import Foundation, register_section
from mldeploy.synth.write import dump_json, register_writer


@register_section("edge")
def deploy_edge(name: str, settings: EdgeSettings, f: Foundation) -> dict:
    plan = plan_edge(name, settings, image=f.images[settings.image].repo_digest)
    edge = IotEdgeDeployment(
        f"edge-{name}",
        plan=plan,
        location=f.settings.location,
        resource_group_name=f.resource_group_name,
        registry_id=f.registry.registry_id,
        registry_login_server=f.registry.registry_login_server,
        tags=f.tags(),
    )
    return {
        "iotHub": edge.hub_name,
        "iotHubHostName": edge.hub_host_name,
        "deploymentId": edge.deployment_id,
        "target": {"deviceId": plan.device_id} if plan.device_id
        else {"targetCondition": plan.target_condition, "priority": plan.priority},
        # Credentials masked: reviewable with `pulumi stack output`, and written by synth.
        "manifest": edge.manifest_preview,
    }


@register_writer
def write_edge_manifests(result, out_dir: Path) -> None:
    """`iot-edge/<name>.json`: each entry's manifest as applied, registry credentials masked."""
    for name, outputs in sorted((result.outputs.get("edge") or {}).items()):
        if isinstance(outputs, dict) and isinstance(outputs.get("manifest"), dict):
            dump_json(out_dir / "iot-edge" / f"{name}.json", outputs["manifest"])
