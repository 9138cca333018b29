"""The `edge` section: one IotEdgeDeployment per entry (synth writes its manifest: the row's `artifacts`, artifacts.py)."""
from __future__ import annotations

from mldeploy.components.iot_edge import IotEdgeDeployment
from mldeploy.targets.edge.config import EdgeSettings
from mldeploy.targets.edge.plan import plan_edge
from mldeploy.targets.foundation import Foundation


def deploy_edge(name: str, settings: EdgeSettings, f: Foundation) -> dict:
    plan = plan_edge(name, settings, image=f.images[settings.image].repo_digest,
                     image_env=f.settings.images[settings.image].environment_variables)
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
