"""BatchScoring (guide: "inference with Azure ML compute"): an AmlCompute cluster that scales to
zero when idle, the batch job's environment and code, and a batch endpoint + deployment that
scores the registered model over input files.

Every decision (names, versions, the environment's conda text, the cluster's and job's
settings) arrives precomputed in a
`BatchPlan` (mldeploy/plan/batch.py, planned by mldeploy/targets/batch/plan.py); this component only declares resources.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from mldeploy.components.assets import Assets, declare_assets
from mldeploy.components.children import child_name, child_opts
from mldeploy.plan.batch import BatchPlan


@dataclass(frozen=True)
class WorkspaceRefs:
    """The parts of the workspace a batch deployment lives in."""

    location: str
    resource_group_name: pulumi.Input[str]
    workspace_name: pulumi.Input[str]
    storage_account_name: pulumi.Input[str]
    storage_resource_group: pulumi.Input[str]
    blob_container: pulumi.Input[str]


_PRIORITY = {"dedicated": ml.VmPriority.DEDICATED, "lowPriority": ml.VmPriority.LOW_PRIORITY}
_OUTPUT = {"appendRow": ml.BatchOutputAction.APPEND_ROW, "summaryOnly": ml.BatchOutputAction.SUMMARY_ONLY}


class BatchScoring(pulumi.ComponentResource):
    """One batch scoring setup: cluster, environment, code, endpoint and deployment."""

    compute_id: pulumi.Output[str]
    endpoint_name: pulumi.Output[str]
    deployment_name: pulumi.Output[str]
    scoring_uri: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        plan: BatchPlan,
        model_id: pulumi.Input[str],
        workspace: WorkspaceRefs,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mldeploy:batch:BatchScoring", name, None, opts)
        compute = self._cluster(name, plan, workspace, tags)
        assets = declare_assets(self, name, plan.assets, workspace, environment_description=f"batch environment for {name}",
                                code_description=f"batch driver for {name}", tags=tags, aliased=True)
        endpoint = self._endpoint(name, plan, workspace, tags)
        deployment = self._deployment(name, plan, workspace, tags, model_id=model_id, endpoint=endpoint,
                                      compute=compute, assets=assets)

        self.compute_id = compute.id
        self.endpoint_name = endpoint.name
        self.deployment_name = deployment.name
        self.scoring_uri = endpoint.properties.apply(lambda p: p.scoring_uri)
        self.register_outputs({
            "computeId": self.compute_id,
            "endpointName": self.endpoint_name,
            "deploymentName": self.deployment_name,
            "scoringUri": self.scoring_uri,
        })

    def _cluster(self, name: str, plan: BatchPlan, workspace: WorkspaceRefs, tags: dict[str, str]) -> ml.Compute:
        """The AmlCompute cluster the jobs run on: the plan's VMs, scaling to its node range."""
        return ml.Compute(
            child_name(name, "compute"),
            compute_name=plan.compute_name,
            location=workspace.location,
            identity=ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
            properties=ml.AmlComputeArgs(
                compute_type="AmlCompute",
                # Entra ID only: no local keys on the cluster.
                disable_local_auth=True,
                description=f"mldeploy batch cluster for {name}",
                properties=ml.AmlComputePropertiesArgs(
                    vm_size=plan.vm_size,
                    vm_priority=_PRIORITY[plan.vm_priority],
                    os_type=ml.OsType.LINUX,
                    scale_settings=ml.ScaleSettingsArgs(
                        min_node_count=plan.min_nodes,
                        max_node_count=plan.max_nodes,
                        node_idle_time_before_scale_down=plan.idle_time,
                    ),
                    # Batch nodes need no inbound SSH.
                    remote_login_port_public_access=ml.RemoteLoginPortPublicAccess.DISABLED,
                ),
            ),
            tags=tags,
            **_in_workspace(workspace),
            opts=child_opts(self, "compute"),
        )

    def _endpoint(self, name: str, plan: BatchPlan, workspace: WorkspaceRefs, tags: dict[str, str]) -> ml.BatchEndpoint:
        """The batch endpoint jobs are invoked on."""
        return ml.BatchEndpoint(
            child_name(name, "endpoint"),
            endpoint_name=plan.endpoint_name,
            location=workspace.location,
            # Batch endpoints accept Microsoft Entra tokens only: no keys to leak or rotate.
            properties=ml.BatchEndpointPropertiesArgs(
                auth_mode=ml.EndpointAuthMode.AAD_TOKEN,
                description=plan.description or f"mldeploy batch endpoint {name}",
            ),
            tags=tags,
            **_in_workspace(workspace),
            opts=child_opts(self, "endpoint"),
        )

    def _deployment(self, name: str, plan: BatchPlan, workspace: WorkspaceRefs, tags: dict[str, str], *,
                    model_id: pulumi.Input[str], endpoint: ml.BatchEndpoint, compute: ml.Compute,
                    assets: Assets) -> ml.BatchDeployment:
        """The deployment scoring the registered model with the plan's job settings, on the cluster."""
        return ml.BatchDeployment(
            child_name(name, "deployment"),
            deployment_name=plan.deployment_name,
            endpoint_name=endpoint.name,
            location=workspace.location,
            properties=ml.BatchDeploymentPropertiesArgs(
                model=ml.IdAssetReferenceArgs(reference_type="Id", asset_id=model_id),
                code_configuration=ml.CodeConfigurationArgs(code_id=assets.code.id, scoring_script=plan.assets.scoring_script),
                environment_id=assets.environment.id,
                compute=compute.id,
                resources=ml.DeploymentResourceConfigurationArgs(instance_count=plan.instance_count),
                max_concurrency_per_instance=plan.max_concurrency_per_instance,
                mini_batch_size=plan.mini_batch_size,
                retry_settings=ml.BatchRetrySettingsArgs(max_retries=plan.max_retries, timeout=plan.timeout),
                error_threshold=plan.error_threshold,
                output_action=_OUTPUT[plan.output_action],
                output_file_name=plan.output_file_name,
                logging_level=ml.BatchLoggingLevel.INFO,
                description=plan.description or None,
                environment_variables=dict(plan.environment_variables) or None,
            ),
            tags=tags,
            **_in_workspace(workspace),
            opts=child_opts(self, "deployment"),
        )


def _in_workspace(workspace: WorkspaceRefs) -> dict:
    """The arguments every workspace child takes: its resource group and workspace."""
    return dict(resource_group_name=workspace.resource_group_name, workspace_name=workspace.workspace_name)
