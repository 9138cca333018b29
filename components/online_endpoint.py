"""OnlineEndpoint (Azure ML v2): endpoint, identity and its roles, environments and code, the
deployments, their autoscale settings, and the traffic split - for managed and Kubernetes
online endpoints alike. Every decision arrives in an `EndpointPlan` (mldeploy/plan/endpoint.py);
this component only declares resources.

Inputs are checked against the API spec of the versions azure-native 3.x uses
(Azure/azure-rest-api-specs, specification/machinelearningservices/resource-manager/
Microsoft.MachineLearningServices/stable/2025-12-01/mfe.json, definitions OnlineEndpoint,
OnlineDeployment, OnlineRequestSettings, ProbeSettings - read 2026-11-25):
- OnlineEndpoint: properties.authMode (Key | AMLToken | AADToken), compute (Kubernetes only),
  identity (ManagedServiceIdentity, UserAssigned with the identity's ARM id); traffic and
  mirrorTraffic are left to EndpointTraffic (components/endpoint_traffic.py), and so are later
  changes of tags, description and authMode (`ignoreChanges`): azure-native PUTs the endpoint
  from its recorded inputs, without the live split, and Azure then serves nothing until the
  split is set again; EndpointTraffic applies them in one PUT with the split. Ignoring
  traffic/mirrorTraffic also keeps `pulumi refresh` safe: refresh writes the live split into the
  endpoint's recorded inputs (azure-native provider.go `Read`), and without `ignoreChanges` the
  next `pulumi up` would PUT the endpoint without it (the program omits it).
- OnlineDeployment: properties.endpointComputeType Managed | Kubernetes; model (model version ARM
  id), environmentId, codeConfiguration {codeId, scoringScript}, instanceType, requestSettings
  {requestTimeout (ISO 8601, default 5000 ms), maxConcurrentRequestsPerInstance (default 1)},
  livenessProbe/readinessProbe {initialDelay, period, timeout (ISO 8601), failureThreshold,
  successThreshold}, scaleSettings (Default for managed; TargetUtilization {minInstances,
  maxInstances, targetUtilizationPercentage, pollingInterval} for Kubernetes),
  appInsightsEnabled, dataCollector {collections: request/response = payload logging,
  rollingRate}; sku.capacity is the instance count.
- Role assignments of a user-assigned endpoint identity: the service grants none by itself
  (concept-endpoints-online-auth.md: only a system-assigned identity gets AcrPull, Storage Blob
  Data Reader and AzureML Metrics Writer automatically; "for a user-assigned identity ... you're
  responsible for assigning proper roles").
- Autoscale (managed): Microsoft.Insights autoscaleSettings (azure-native `monitor`, API
  2021-05-01-preview) on the deployment's ARM id, metric CpuUtilizationPercentage
  (how-to-autoscale-endpoints.md).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, managedidentity, monitor
from pulumi_azure_native import machinelearningservices as ml

from mldeploy.components.assets import declare_shared_assets
from mldeploy.components.batch import WorkspaceRefs as BatchWorkspaceRefs
from mldeploy.components.endpoint_keys import EndpointKeys
from mldeploy.components.endpoint_traffic import EndpointTraffic
from mldeploy.components.propagation import TIMEOUT_SECONDS, RolePropagation
from mldeploy.components.roles import role_definition_id
from mldeploy.plan.endpoint import DeploymentPlan, EndpointPlan
from mldeploy.contract import ACR_PULL_ROLE_ID

# Built-in role definition ids (Azure built-in roles reference).
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
AZUREML_METRICS_WRITER = "635dd51f-9968-44d3-b7fb-6d9a6bd613ae"
# The metric managed online deployments publish for CPU (how-to-autoscale-endpoints.md).
CPU_METRIC = "CpuUtilizationPercentage"
CPU_METRIC_NAMESPACE = "microsoft.machinelearningservices/workspaces/onlineendpoints/deployments"


@dataclass(frozen=True)
class WorkspaceRefs(BatchWorkspaceRefs):
    """The workspace parts batch scoring uses, plus what the endpoint identity's roles target."""

    workspace_arm_id: pulumi.Input[str]
    registry_id: pulumi.Input[str]
    storage_account_id: pulumi.Input[str]


@dataclass
class EndpointInputs:
    """Pulumi inputs from outside the plan."""

    model_ids: dict[str, pulumi.Input[str]]
    subscription_id: pulumi.Input[str]
    compute_id: pulumi.Input[str] | None = None
    initial_keys: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None
    role_propagation_timeout: int = TIMEOUT_SECONDS
    depends_on: list[pulumi.Resource] = field(default_factory=list)


# The endpoint's inputs EndpointTraffic applies after creation, in the PUT that carries the split.
ENDPOINT_OWNED_BY_TRAFFIC = ["properties.traffic", "properties.mirrorTraffic", "tags", "properties.description",
                             "properties.authMode"]
# Keys are the endpoint's only at creation ("EndpointAuthKeys to set initially on an Endpoint"): later
# changes go through regenerateKeys (components/endpoint_keys.py), never a PUT of the endpoint.
ENDPOINT_OWNED_BY_KEYS = ["properties.keys"]


def _revision(planned: str, identity_id: pulumi.Input[str], compute_id: pulumi.Input[str] | None) -> pulumi.Output[str]:
    """A digest of every endpoint input azure-native still PUTs (the plan's part, the identity, the
    compute): when it changes, the endpoint's PUT has dropped the split and EndpointTraffic re-applies
    it in the same run. Keys are not among them (EndpointKeys); the two empty parts where they were
    keep every stack's digest as it was."""
    parts = [planned, identity_id, compute_id or "", "", ""]
    digest = pulumi.Output.all(*parts).apply(
        lambda values: hashlib.sha256("\n".join(str(v) for v in values).encode()).hexdigest()[:16])
    return pulumi.Output.unsecret(digest)


def _probe(p: dict) -> ml.ProbeSettingsArgs:
    return ml.ProbeSettingsArgs(initial_delay=p["initial_delay"], period=p["period"], timeout=p["timeout"],
                                failure_threshold=p["failure_threshold"], success_threshold=p["success_threshold"])


class OnlineEndpoint(pulumi.ComponentResource):
    """An Azure ML online endpoint with its deployments, roles, autoscale and traffic."""

    endpoint_name: pulumi.Output[str]
    scoring_uri: pulumi.Output[str]
    swagger_uri: pulumi.Output[str]
    primary_key: pulumi.Output[str] | None
    secondary_key: pulumi.Output[str] | None
    traffic: dict[str, int]

    def __init__(self, name: str, *, plan: EndpointPlan, workspace: WorkspaceRefs, inputs: EndpointInputs,
                 tags: dict[str, str], opts: pulumi.ResourceOptions | None = None):
        super().__init__("mldeploy:endpoints:OnlineEndpoint", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ws = dict(resource_group_name=workspace.resource_group_name, workspace_name=workspace.workspace_name)

        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity", resource_group_name=workspace.resource_group_name, location=workspace.location,
            tags=dict(plan.endpoint_tags or tags), opts=child)
        grants = [(ACR_PULL_ROLE_ID, workspace.registry_id, "acr-pull"),
                  (STORAGE_BLOB_DATA_READER, workspace.storage_account_id, "blob-reader"),
                  (AZUREML_METRICS_WRITER, workspace.workspace_arm_id, "metrics-writer")]
        if plan.collect_model_data:
            # The data collector writes the payloads to the workspace's blob store as this identity.
            grants.append((STORAGE_BLOB_DATA_CONTRIBUTOR, workspace.storage_account_id, "blob-writer"))
        roles = [authorization.RoleAssignment(
            f"{name}-{suffix}", scope=scope, principal_id=identity.principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition_id(inputs.subscription_id, role), opts=child) for role, scope, suffix in grants]
        # A deployment pulls the image and reads the model as this identity at once: wait until the
        # new assignments take effect (components/propagation.py), as ACI and AKS do.
        propagated = RolePropagation(f"{name}-role-propagation", roles, inputs.role_propagation_timeout, opts=child)

        environments, codes = self._assets(name, plan, workspace)

        endpoint_tags = dict(plan.endpoint_tags or tags)
        keys = None
        if inputs.initial_keys is not None:
            keys = ml.EndpointAuthKeysArgs(primary_key=pulumi.Output.secret(inputs.initial_keys[0]),
                                           secondary_key=pulumi.Output.secret(inputs.initial_keys[1]))
        endpoint = ml.OnlineEndpoint(
            f"{name}-endpoint",
            endpoint_name=plan.endpoint_name,
            location=workspace.location,
            identity=ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.USER_ASSIGNED,
                                                   user_assigned_identities=[identity.id]),
            properties=ml.OnlineEndpointPropertiesArgs(
                auth_mode=plan.auth_mode,
                compute=inputs.compute_id,
                description=plan.description,
                keys=keys,
                public_network_access=ml.PublicNetworkAccessType.ENABLED,
            ),
            tags=endpoint_tags,
            **ws,
            # The endpoint identity must hold its roles before Azure pulls or reads anything.
            # What EndpointTraffic owns after creation is ignored here (see the module docstring).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*roles, *inputs.depends_on],
                                        ignore_changes=[*ENDPOINT_OWNED_BY_TRAFFIC, *ENDPOINT_OWNED_BY_KEYS],
                                        additional_secret_outputs=["properties"] if keys else None),
        )

        deployments = []
        for dep in plan.deployments:
            deployments.append(self._deployment(name, plan, dep, endpoint, environments[dep.image],
                                                codes[dep.image], inputs.model_ids[dep.image], ws, workspace,
                                                [*roles, propagated]))
        traffic = EndpointTraffic(
            f"{name}-traffic", endpoint_id=endpoint.id, traffic=plan.traffic, mirror_traffic=plan.mirror_traffic,
            settings={"tags": endpoint_tags, "description": plan.description, "authMode": plan.auth_mode},
            endpoint_revision=_revision(plan.revision, identity.id, inputs.compute_id),
            opts=pulumi.ResourceOptions(parent=self, depends_on=deployments))
        given_keys = []
        if inputs.initial_keys is not None:
            # After the split's PUT and the deployments: one operation on the endpoint at a time.
            given_keys = [EndpointKeys(f"{name}-keys", endpoint_id=endpoint.id, primary_key=inputs.initial_keys[0],
                                       secondary_key=inputs.initial_keys[1],
                                       opts=pulumi.ResourceOptions(parent=self, depends_on=[traffic]))]

        self.endpoint_name = endpoint.name
        self.scoring_uri = endpoint.properties.apply(lambda p: p.scoring_uri)
        self.swagger_uri = endpoint.properties.apply(lambda p: p.swagger_uri)
        self.traffic = dict(plan.traffic)
        self.primary_key = self.secondary_key = None
        if plan.auth_mode == "Key":
            found = ml.list_online_endpoint_keys_output(endpoint_name=endpoint.name, **ws,
                                                        opts=pulumi.InvokeOutputOptions(parent=self,
                                                                                        depends_on=[traffic, *given_keys]))
            self.primary_key = pulumi.Output.secret(found.primary_key)
            self.secondary_key = pulumi.Output.secret(found.secondary_key)
        self.register_outputs({"endpointName": self.endpoint_name, "scoringUri": self.scoring_uri,
                               "swaggerUri": self.swagger_uri, "traffic": self.traffic})

    # -- environment and code per image ----------------------------------------------------------

    def _assets(self, name, plan: EndpointPlan, workspace: WorkspaceRefs):
        """One environment and one code asset per service, a version per distinct content: images
        whose score.py and environment are the same (blue and green differing in the model) share it."""
        if not plan.assets:
            return {}, {}
        shared = declare_shared_assets(self, name, plan.assets, workspace, tags=plan.asset_tags,
                                       environment_description="scoring environments of this endpoint's deployments",
                                       code_description="scoring code of this endpoint's deployments")
        return ({image: a.environment for image, a in shared.items()},
                {image: a.code for image, a in shared.items()})

    # -- one deployment ------------------------------------------------------------------------

    def _deployment(self, name, plan: EndpointPlan, dep: DeploymentPlan, endpoint, environment, code, model_id,
                    ws, workspace: WorkspaceRefs, roles):
        tags = dep.tags
        common = dict(
            endpoint_compute_type=plan.kind,
            model=model_id,
            environment_id=environment.id,
            code_configuration=ml.CodeConfigurationArgs(code_id=code.id, scoring_script=plan.assets[dep.image].scoring_script),
            instance_type=dep.instance_type,
            request_settings=ml.OnlineRequestSettingsArgs(
                request_timeout=dep.request_timeout, max_concurrent_requests_per_instance=dep.max_concurrent_requests),
            liveness_probe=_probe(dep.liveness),
            readiness_probe=_probe(dep.readiness),
            app_insights_enabled=dep.app_insights_enabled,
            environment_variables=dep.environment_variables or None,
            description=dep.description or None,
        )
        if plan.collect_model_data:
            # "request" and "response" are reserved for payload logging: collected with no change
            # to score.py (DataCollector.collections in the spec).
            common["data_collector"] = ml.DataCollectorArgs(
                collections={c: ml.CollectionArgs(data_collection_mode=ml.DataCollectionMode.ENABLED)
                             for c in ("request", "response")},
                rolling_rate=ml.RollingRateType.HOUR)
        if plan.on_managed_compute:
            properties = ml.ManagedOnlineDeploymentArgs(scale_settings=ml.DefaultScaleSettingsArgs(scale_type="Default"),
                                                        **common)
        else:
            scale = (ml.TargetUtilizationScaleSettingsArgs(
                scale_type="TargetUtilization", min_instances=dep.kubernetes_scale[0],
                max_instances=dep.kubernetes_scale[1], target_utilization_percentage=dep.kubernetes_scale[2],
                polling_interval="PT1S") if dep.kubernetes_scale else ml.DefaultScaleSettingsArgs(scale_type="Default"))
            properties = ml.KubernetesOnlineDeploymentArgs(scale_settings=scale, **common)
        deployment = ml.OnlineDeployment(
            f"{name}-{dep.name}",
            deployment_name=dep.name,
            endpoint_name=endpoint.name,
            location=workspace.location,
            properties=properties,
            sku=ml.SkuArgs(name="Default", capacity=dep.instance_count),
            tags=tags,
            **ws,
            # Autoscale owns the capacity once it runs: a later `pulumi up` must not reset it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=roles,
                                        ignore_changes=["sku.capacity"] if dep.autoscale else None),
        )
        if dep.autoscale is not None:
            self._autoscale(name, dep, deployment, workspace, tags)
        return deployment

    def _autoscale(self, name, dep: DeploymentPlan, deployment, workspace: WorkspaceRefs, tags):
        a = dep.autoscale

        def rule(operator, threshold, window, direction, cooldown):
            return monitor.ScaleRuleArgs(
                metric_trigger=monitor.MetricTriggerArgs(
                    metric_name=CPU_METRIC, metric_namespace=CPU_METRIC_NAMESPACE, metric_resource_uri=deployment.id,
                    operator=operator, statistic=monitor.MetricStatisticType.AVERAGE, threshold=threshold,
                    time_aggregation=monitor.TimeAggregationType.AVERAGE, time_grain="PT1M", time_window=window),
                scale_action=monitor.ScaleActionArgs(direction=direction, type=monitor.ScaleType.CHANGE_COUNT,
                                                     value="1", cooldown=cooldown))

        monitor.AutoscaleSetting(
            f"{name}-{dep.name}-autoscale",
            resource_group_name=workspace.resource_group_name,
            location=workspace.location,
            enabled=True,
            target_resource_uri=deployment.id,
            profiles=[monitor.AutoscaleProfileArgs(
                name="cpu",
                capacity=monitor.ScaleCapacityArgs(minimum=str(a.minimum), maximum=str(a.maximum),
                                                   default=str(a.default)),
                rules=[rule(monitor.ComparisonOperationType.GREATER_THAN, a.scale_out_above, a.scale_out_window,
                            monitor.ScaleDirection.INCREASE, a.scale_out_cooldown),
                       rule(monitor.ComparisonOperationType.LESS_THAN, a.scale_in_below, a.scale_in_window,
                            monitor.ScaleDirection.DECREASE, a.scale_in_cooldown)])],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
