"""The program step of an Azure ML v2 online endpoint (`managed` and `kubernetes-endpoint`).

The family's plan (mldeploy/targets/online_endpoint/plan.py) decides everything (names, SKUs,
versions, probes, autoscale, traffic) without Pulumi; this module adds each image's assets
(environment, code) from its build context and declares an OnlineEndpoint for it, on the compute
its target gives (a Kubernetes endpoint's attached cluster: mldeploy/targets/kubernetes_endpoint/program.py).
"""
from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

import pulumi
from pulumi_azure_native import authorization

from mldeploy.components.online_endpoint import EndpointInputs, OnlineEndpoint, WorkspaceRefs
from mldeploy.azure.arm import arm_part
from mldeploy.plan.assets import endpoint_asset_name, endpoint_base_image
from mldeploy.plan.conda import ENDPOINT_PYTHON, conda_with_pip, requirement_lines
from mldeploy.plan.digest import digest_files
from mldeploy.plan.batching import image_loads
from mldeploy.plan.scorer import image_envs
from mldeploy.plan.endpoint import AssetPlan
from mldeploy.targets.foundation import Foundation, ServiceOutputs, build_dir, given_keys
from mldeploy.targets.online_endpoint.plan import plan_endpoint, used_images
from mldeploy.targets.online_endpoint.settings import EndpointSettings
from mldeploy.render.build_context import APP_DIR, BuildContext
from mldeploy.contract import workspace_blob_container

CODE_BLOB_PREFIX = "mldeploy/endpoint-code"


def conda_text(context: BuildContext) -> str:
    """The image's environment as a conda file (a requirements.txt becomes its pip section)."""
    if context.env_kind == "conda":
        return context.env_text
    # env_text has the requirements file's `-r` includes inlined: Azure ML gets this one file (a `-c`
    # constraints file is refused at load for images built in Azure: config/files.py).
    return conda_with_pip("scoring", ENDPOINT_PYTHON, requirement_lines(context.env_text))


def code_files(context: BuildContext, entry_script: Path, context_dir: Path) -> tuple[tuple[str, Path], ...]:
    """The code asset: the image's app folder - the entry script (`entry_script`, the project's
    file), the files of its sourceDirectory (v2's `code` folder is that folder), and mldeploy's
    stand-in for azureml-core when the script needs it, read from the written build context
    `context_dir` - so Azure's own server finds them on its path (AML_APP_ROOT, the code folder)."""
    script = f"app/{scoring_script(context)}"
    return ((scoring_script(context), entry_script),
            *((name.removeprefix("app/"), context_dir / name)
              for name in sorted(n for n in context.files if n.startswith("app/") and n != script)))


def scoring_script(context: BuildContext) -> str:
    """v2's CodeConfiguration.scoring_script: "the scoring script file path relative to the code
    directory" (learn.microsoft.com/python/api/azure-ai-ml/azure.ai.ml.entities.codeconfiguration)."""
    return PurePosixPath(context.entry_script).relative_to(APP_DIR).as_posix()


def asset_plan(service_name: str, image: str, context: BuildContext, entry_script: Path,
               context_dir: Path | None = None, base_image: str | None = None) -> AssetPlan:
    """`base_image`: the image's `baseImage` (plan/assets.endpoint_base_image picks what Azure ML builds on)."""
    env_text = conda_text(context)
    base = endpoint_base_image(base_image)
    env_digest = hashlib.sha256(f"{base}\n{env_text}".encode()).hexdigest()[:12]
    files = (code_files(context, entry_script, context_dir) if context_dir else
             ((scoring_script(context), entry_script),))
    # The version is the digest of every file of the folder: a change to any (helpers.py) is a new
    # code version and so a rollout; no change is none.
    code_digest = digest_files([(rel, context.files[f"app/{rel}"]) for rel, _ in files])[:12]
    return AssetPlan(
        # One asset per service, a version per content: images with the same code or environment share it.
        environment_name=endpoint_asset_name(service_name), environment_version=env_digest, conda_text=env_text,
        base_image=base, code_name=endpoint_asset_name(service_name), code_version=code_digest,
        code_blob_prefix=f"{CODE_BLOB_PREFIX}/{service_name}/{code_digest}",
        code_files=files, scoring_script=scoring_script(context))


def deploy_endpoint(name: str, service: EndpointSettings, f: Foundation, compute=None) -> ServiceOutputs:
    """Declare endpoint `name`; `compute`: the KubernetesCompute its deployments run on (None: Azure's VMs)."""
    s = f.settings
    tags = f.tags()
    assets = {image: asset_plan(name, image, f.contexts[image], f.project_root / s.images[image].script_path,
                                build_dir(s, f.project_root) / image, s.images[image].base_image)
              for image in used_images(service)}
    plan = plan_endpoint(name, service, stack=s.stack, resource_group=s.resource_group_name, assets=assets,
                         image_models={n: list(i.models) for n, i in s.images.items()}, tags=tags,
                         model_tags={n: {"model": m.registered_name, "model-version": m.version}
                                     for n, m in f.models.items()}, loads=image_loads(s),
                         image_env=image_envs(s.images))
    r = f.registry
    client = authorization.get_client_config_output()
    workspace = WorkspaceRefs(
        location=s.location, resource_group_name=r.resource_group_name, workspace_name=r.workspace_name,
        workspace_arm_id=pulumi.Output.concat(
            "/subscriptions/", client.subscription_id, "/resourceGroups/", r.resource_group_name,
            "/providers/Microsoft.MachineLearningServices/workspaces/", r.workspace_name),
        registry_id=r.registry_id, storage_account_id=r.storage_account_id,
        storage_account_name=r.storage_account_name,
        storage_resource_group=r.storage_account_id.apply(arm_part("resourceGroups")),
        # The workspace's default datastore (workspaceblobstore) is this container.
        blob_container=r.workspace_id.apply(workspace_blob_container))
    inputs = EndpointInputs(
        model_ids={img: r.models[f.settings.images[img].models[0]].id for img in plan.assets},
        subscription_id=client.subscription_id,
        compute_id=compute.compute_id if compute else None, initial_keys=given_keys(service),
        role_propagation_timeout=s.role_propagation_timeout_seconds,
        depends_on=[compute] if compute else [])
    endpoint = OnlineEndpoint(f"endpoint-{name}", plan=plan, workspace=workspace, inputs=inputs, tags=tags)
    return ServiceOutputs(
        scoring_uri=endpoint.scoring_uri, swagger_uri=endpoint.swagger_uri,
        primary_key=endpoint.primary_key, secondary_key=endpoint.secondary_key,
        extra={"endpointName": endpoint.endpoint_name, "trafficPercent": plan.traffic,
               "mirrorPercent": plan.mirror_traffic,
               "deployments": {d.name: {"instanceType": d.instance_type, "instanceCount": d.instance_count}
                               for d in plan.deployments}})

