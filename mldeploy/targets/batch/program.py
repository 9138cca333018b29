"""The `batch` section: plan each entry (mldeploy/targets/batch/plan.py), then declare a BatchScoring for it."""
from __future__ import annotations

from mldeploy.components.batch import BatchScoring, WorkspaceRefs
from mldeploy.targets.batch.config import BatchSettings
from mldeploy.targets.batch.plan import plan_batch
from mldeploy.targets.foundation import Foundation
from mldeploy.azure.arm import arm_part
from mldeploy.contract import workspace_blob_container


def deploy_batch(name: str, settings: BatchSettings, f: Foundation) -> dict:
    s = f.settings
    plan = plan_batch(s.stack, s.resource_group_name, name, settings, f.project_root)
    registry = f.registry
    model = registry.models[settings.model]
    workspace = WorkspaceRefs(
        location=s.location,
        resource_group_name=registry.resource_group_name,
        workspace_name=registry.workspace_name,
        storage_account_name=registry.storage_account_name,
        storage_resource_group=registry.storage_account_id.apply(arm_part("resourceGroups")),
        # The workspace's default datastore (workspaceblobstore) is this container.
        blob_container=registry.workspace_id.apply(workspace_blob_container),
    )
    batch = BatchScoring(
        f"batch-{name}",
        plan=plan,
        model_id=model.id,
        workspace=workspace,
        tags=f.tags(model=model.name, version=model.version),  # the registered name
    )
    return {
        "endpointName": batch.endpoint_name,
        "deploymentName": batch.deployment_name,
        "scoringUri": batch.scoring_uri,
        "computeId": batch.compute_id,
    }
