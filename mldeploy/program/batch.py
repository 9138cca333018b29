"""The `batch` section: plan each entry (pure), then declare a BatchScoring for it."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from components.batch import BatchPlan, BatchScoring, WorkspaceRefs
from mldeploy.config.batch import BatchSettings
from mldeploy.plan.digest import digest_path
from mldeploy.program import Foundation, register_section
from mldeploy.azure.arm import arm_part
from mldeploy.contract import workspace_blob_container

CODE_BLOB_PREFIX = "mldeploy/batch-code"


def _short(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:6]


def compute_name(name: str) -> str:
    """AmlCompute names: 2-16 letters, digits and '-', starting with a letter."""
    if len(name) <= 16:
        return name
    return f"{name[:9].rstrip('-')}-{_short(name)}"


def endpoint_name(stack: str, resource_group: str, name: str) -> str:
    """Batch endpoint names are unique per Azure region, so they carry a stack-derived suffix."""
    return f"{name[:24].rstrip('-')}-{_short(stack, resource_group)}"


def iso_seconds(seconds: int) -> str:
    return f"PT{seconds}S"


def conda_text(settings: BatchSettings, root: Path) -> str:
    """The batch environment's conda file: given as is, or built from requirements.txt.

    Azure ML batch deployments need `azureml-core` in the environment (their job driver
    imports it); a requirements file gets it added if missing."""
    if settings.conda_file is not None:
        return (root / settings.conda_file).read_text(encoding="utf-8")
    lines = [
        line.strip() for line in (root / settings.requirements_file).read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    if not any(re.match(r"^azureml-core\b", line) for line in lines):
        lines.append("azureml-core")
    pip = "\n".join(f"      - {line}" for line in lines)
    return (f"name: batch-environment\nchannels:\n  - conda-forge\ndependencies:\n"
            f"  - python={settings.python_version}\n  - pip\n  - pip:\n{pip}\n")


def plan_batch(stack: str, resource_group: str, name: str, settings: BatchSettings, root: Path) -> BatchPlan:
    """Names, versions and content of one batch entry; no Pulumi involved."""
    env_text = conda_text(settings, root)
    env_digest = hashlib.sha256(f"{settings.base_image}\n{env_text}".encode()).hexdigest()
    script = root / settings.entry_script
    code_digest = digest_path(script)
    return BatchPlan(
        compute_name=compute_name(name),
        endpoint_name=endpoint_name(stack, resource_group, name),
        deployment_name=name,
        environment_name=f"mldeploy-batch-{name}",
        environment_version=env_digest[:12],
        conda_text=env_text,
        code_name=f"mldeploy-batch-{name}",
        code_version=code_digest[:12],
        code_blob_prefix=f"{CODE_BLOB_PREFIX}/{name}/{code_digest[:12]}",
        code_files=((script.name, script),),
        scoring_script=script.name,
        idle_time=iso_seconds(settings.idle_seconds_before_scaledown),
        timeout=iso_seconds(settings.timeout_seconds),
    )


@register_section("batch")
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
        settings=settings,
        plan=plan,
        model_id=model.id,
        workspace=workspace,
        tags=f.tags(model=settings.model, version=model.version),
    )
    return {
        "endpointName": batch.endpoint_name,
        "deploymentName": batch.deployment_name,
        "scoringUri": batch.scoring_uri,
        "computeId": batch.compute_id,
    }

