"""An Azure ML environment and code asset, declared once for every component that runs a script
on Azure ML's own hosts (BatchScoring's driver, OnlineEndpoint's score.py per image).

Versions are immutable in Azure ML: each version is a digest of its content (decided in the
plan), so a change is a new version created before the old one is removed, never an overwrite.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import storage

from mldeploy.components.children import child_name, child_opts
from mldeploy.plan.assets import AssetPlan
from mldeploy.plan.paths import state_path


@dataclass(frozen=True)
class Assets:
    environment: ml.EnvironmentVersion
    code: ml.CodeVersion


def declare_assets(parent: pulumi.Resource, prefix: str, plan: AssetPlan, workspace: Any, *,
                   environment_description: str, code_description: str, tags: Mapping[str, str],
                   aliased: bool) -> Assets:
    """The environment (container + version on `plan.base_image`) and the code (its files as
    blobs in the workspace's store, container + version), children of `parent` named
    `<prefix>-environment...`/`<prefix>-code...`. `aliased`: the children once had fixed names
    (components/children.py; BatchScoring's), so they keep them as aliases."""
    ws = dict(resource_group_name=workspace.resource_group_name, workspace_name=workspace.workspace_name)

    def opts(role: str, depends_on: list | None = None) -> pulumi.ResourceOptions:
        if aliased:
            return child_opts(parent, role, **({"depends_on": depends_on} if depends_on else {}))
        return pulumi.ResourceOptions(parent=parent, depends_on=depends_on)

    env_container = ml.EnvironmentContainer(
        child_name(prefix, "environment"), name=plan.environment_name,
        properties=ml.EnvironmentContainerPropertiesArgs(description=environment_description, tags=tags),
        **ws, opts=opts("environment"))
    env_role = f"environment-v{plan.environment_version}"
    environment = ml.EnvironmentVersion(
        child_name(prefix, env_role), name=plan.environment_name, version=plan.environment_version,
        properties=ml.EnvironmentVersionPropertiesArgs(
            image=plan.base_image, conda_file=plan.conda_text, os_type=ml.OperatingSystemType.LINUX, tags=tags),
        **ws, opts=opts(env_role, [env_container]))
    blobs = []
    for rel, path in plan.code_files:
        role = f"code-{plan.code_version}-{rel}".replace("/", "-")
        blobs.append(storage.Blob(
            child_name(prefix, role), account_name=workspace.storage_account_name,
            container_name=workspace.blob_container, resource_group_name=workspace.storage_resource_group,
            blob_name=f"{plan.code_blob_prefix}/{rel}", type=storage.BlobType.BLOCK,
            source=pulumi.FileAsset(state_path(path)), opts=opts(role)))
    code_container = ml.CodeContainer(
        child_name(prefix, "code"), name=plan.code_name,
        properties=ml.CodeContainerPropertiesArgs(description=code_description, tags=tags),
        **ws, opts=opts("code"))
    code_uri = pulumi.Output.concat("https://", workspace.storage_account_name, ".blob.core.windows.net/",
                                    workspace.blob_container, "/", plan.code_blob_prefix)
    code_role = f"code-v{plan.code_version}"
    code = ml.CodeVersion(
        child_name(prefix, code_role), name=plan.code_name, version=plan.code_version,
        properties=ml.CodeVersionPropertiesArgs(code_uri=code_uri, tags=tags),
        **ws, opts=opts(code_role, [code_container, *blobs]))
    return Assets(environment, code)


def declare_shared_assets(parent: pulumi.Resource, prefix: str, plans: Mapping[str, AssetPlan], workspace: Any, *,
                          environment_description: str, code_description: str,
                          tags: Mapping[str, str]) -> dict[str, Assets]:
    """The environments and code of several images (OnlineEndpoint's, per service) keyed by content:
    all `plans` share one asset name, so one EnvironmentContainer and one CodeContainer
    (`<prefix>-environment`, `<prefix>-code`), and one version per distinct content digest
    (`<prefix>-environment-v<digest>`, `<prefix>-code-v<digest>` and its blobs), whichever images
    hold it. A version's name depends only on its content, so adding or removing an image never
    renames or replaces the version another image's deployment uses; a version goes when no image
    holds its content any more (its deployments are deleted first: they depend on it).
    Why one version per digest and never an update: Azure ML versions are create-once (data assets:
    "Once you create a data asset version, it is immutable. It cannot be modified or deleted",
    learn.microsoft.com/azure/machine-learning/how-to-create-register-datasets; a model version
    that exists stops a second create, Azure/azureml-examples#3743). No primary source was found here
    for the rule that a version a deployment uses cannot be deleted; the order does not rely on it:
    a deployment depends on its versions, so Pulumi deletes it before them."""
    names = {(a.environment_name, a.code_name) for a in plans.values()}
    assert len(names) == 1, names  # program.asset_plan: one name per service
    first = next(iter(plans.values()))
    ws = dict(resource_group_name=workspace.resource_group_name, workspace_name=workspace.workspace_name)
    opts = lambda depends_on=None: pulumi.ResourceOptions(parent=parent, depends_on=depends_on)  # noqa: E731
    env_container = ml.EnvironmentContainer(
        child_name(prefix, "environment"), name=first.environment_name,
        properties=ml.EnvironmentContainerPropertiesArgs(description=environment_description, tags=tags),
        **ws, opts=opts())
    code_container = ml.CodeContainer(
        child_name(prefix, "code"), name=first.code_name,
        properties=ml.CodeContainerPropertiesArgs(description=code_description, tags=tags),
        **ws, opts=opts())
    environments: dict[str, ml.EnvironmentVersion] = {}
    codes: dict[str, ml.CodeVersion] = {}
    out = {}
    for image, plan in sorted(plans.items()):
        if plan.environment_version not in environments:
            environments[plan.environment_version] = ml.EnvironmentVersion(
                child_name(prefix, f"environment-v{plan.environment_version}"), name=plan.environment_name,
                version=plan.environment_version,
                properties=ml.EnvironmentVersionPropertiesArgs(
                    image=plan.base_image, conda_file=plan.conda_text, os_type=ml.OperatingSystemType.LINUX,
                    tags=tags),
                **ws, opts=opts([env_container]))
        if plan.code_version not in codes:
            blobs = [storage.Blob(
                child_name(prefix, f"code-{plan.code_version}-{rel}".replace("/", "-")),
                account_name=workspace.storage_account_name, container_name=workspace.blob_container,
                resource_group_name=workspace.storage_resource_group, blob_name=f"{plan.code_blob_prefix}/{rel}",
                type=storage.BlobType.BLOCK, source=pulumi.FileAsset(state_path(path)), opts=opts())
                for rel, path in plan.code_files]
            code_uri = pulumi.Output.concat("https://", workspace.storage_account_name, ".blob.core.windows.net/",
                                            workspace.blob_container, "/", plan.code_blob_prefix)
            codes[plan.code_version] = ml.CodeVersion(
                child_name(prefix, f"code-v{plan.code_version}"), name=plan.code_name, version=plan.code_version,
                properties=ml.CodeVersionPropertiesArgs(code_uri=code_uri, tags=tags),
                **ws, opts=opts([code_container, *blobs]))
        out[image] = Assets(environments[plan.environment_version], codes[plan.code_version])
    return out
