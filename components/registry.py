"""ModelRegistry (guide: "register the model"): the Azure ML workspace and the model versions.

The workspace is created with its storage account, key vault, Application Insights (on a Log
Analytics workspace) and container registry - or an existing one is looked up by name. Each
model's files are uploaded to a content-addressed folder of the workspace's blob store and
registered as a ModelContainer + ModelVersion with the config's tags and description (in an
existing workspace: the ModelVersion only, see below).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pulumi
import pulumi_random as random
from pulumi_azure_native import (
    applicationinsights,
    authorization,
    containerregistry,
    keyvault,
    operationalinsights,
    storage,
)
from pulumi_azure_native import (
    machinelearningservices as ml,
)

from mldeploy.azure import acr_login
from mldeploy.plan import naming
from mldeploy.azure.arm import arm_part
from mldeploy.plan.models import ResolvedModel
from mldeploy.plan.paths import state_path
from mldeploy.plan.tags import ADMIN_USER_NEED_TAG, MODEL_VERSION_TAG as VERSION_TAG
from mldeploy.contract import workspace_blob_container

DIGEST_TAG = "mldeploy.sha256"


@dataclass(frozen=True)
class ExistingWorkspace:
    """An existing workspace as looked up (and checked) by the caller: ARM ids of its parts."""

    name: str
    resource_group: str
    workspace_id: str
    container_registry: str
    storage_account: str
    application_insights: str


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    version: str
    id: pulumi.Output[str]
    uri: pulumi.Output[str]


class ModelRegistry(pulumi.ComponentResource):
    """An Azure ML workspace (created or existing) and the stack's registered models.
    `workspace_name` and `workspace_sku` are a created workspace's; an existing one arrives
    looked up, in `existing`."""

    workspace_name: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    resource_group_name: pulumi.Output[str]
    registry_login_server: pulumi.Output[str]
    push_password: pulumi.Output[str]
    """Secret: an ACR refresh token of the deployer, Docker's password for `acr_login.REFRESH_TOKEN_USER`."""
    registry_id: pulumi.Output[str]
    storage_account_id: pulumi.Output[str]
    app_insights_connection_string: pulumi.Output[str]
    models: dict[str, RegisteredModel]

    def __init__(
        self,
        name: str,
        *,
        stack: str,
        location: str,
        resource_group_name: pulumi.Input[str],
        name_seed: str,
        workspace_name: str,
        workspace_sku: str,
        models: list[ResolvedModel],
        model_tags: dict[str, dict[str, str]],
        model_descriptions: dict[str, str],
        tags: dict[str, str],
        admin_user_need: str | None = None,
        production: bool = True,
        existing: ExistingWorkspace | None = None,
        registry_sku: str = "Standard",
        token_exchange: Callable[[str, str, str], str] = acr_login.exchange_for_refresh_token,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mldeploy:registry:ModelRegistry", name, None, opts)
        self.admin_user_need = admin_user_need
        child = pulumi.ResourceOptions(parent=self)
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))

        if existing is None:
            self._create_workspace(stack, name_seed, location, resource_group_name, workspace_name, workspace_sku,
                                   tags, child, client, production, registry_sku)
        else:
            self._existing_workspace(existing)

        self.push_password = self._push_password(client, token_exchange)

        ws_rg = self.resource_group_name
        # One ModelContainer per registered name, one ModelVersion per (name, version): entries that
        # are versions of one model share the container (its tags and description come from the
        # first such entry by key, without a version tag); two entries of one version (same
        # content: plan/models.py check_model_versions) share the version.
        # In an existing workspace only the versions are declared, as azure-ai-ml registers a model
        # (ModelOperations.create_or_update PUTs .../models/<name>/versions/<version> and nothing else:
        # the service makes the container with the first version; Azure/azure-sdk-for-python at
        # 00494316, sdk/ml/azure-ai-ml/azure/ai/ml/operations/_model_operations.py). The workspace may
        # hold the name already (SDK v1's Model.register), and azure-native refuses to create a
        # container that exists; a stack must not own - and on destroy delete - a container whose
        # other versions it never made.
        self.models = {}
        containers: dict[str, ml.ModelContainer | None] = {}
        versions: dict[tuple[str, str], RegisteredModel] = {}
        for model in sorted(models, key=lambda m: m.name):
            tags = model_tags.get(model.name, {})
            description = model_descriptions.get(model.name, "")
            if existing is not None:
                containers.setdefault(model.registered_name, None)
            elif model.registered_name not in containers:
                containers[model.registered_name] = ml.ModelContainer(
                    f"model-{model.registered_name}",
                    name=model.registered_name,
                    resource_group_name=ws_rg,
                    workspace_name=self.workspace_name,
                    properties=ml.ModelContainerPropertiesArgs(
                        description=description, tags={k: v for k, v in tags.items() if k != VERSION_TAG},
                    ),
                    opts=child,
                )
            key = (model.registered_name, model.version)
            if key not in versions:
                versions[key] = self._register(model, tags, description, ws_rg, client, child,
                                               containers[model.registered_name])
            self.models[model.name] = versions[key]

        self.register_outputs({
            "workspaceName": self.workspace_name,
            "registryLoginServer": self.registry_login_server,
            "models": {n: m.id for n, m in self.models.items()},
        })

    # -- workspace ------------------------------------------------------------------------

    def _create_workspace(self, stack, seed, location, rg, workspace_name: str, workspace_sku: str, tags, child,
                          client, production, registry_sku):
        """A new workspace with its parts: storage account, key vault, Application Insights (on Log
        Analytics) and container registry."""
        account = self._storage_account(stack, seed, location, rg, tags, child)
        # Destroy, then up again, must work at once outside production: Key Vault and Azure ML keep a
        # deleted vault's / workspace's name (Key Vault soft delete, 7-90 days, can't be turned off;
        # "the name of a soft-deleted workspace can't be reused until the retention period passes",
        # 14 days: learn.microsoft.com/azure/machine-learning/concept-soft-delete; azure-native has no
        # purge-on-delete). So a non-production stack names them with a random suffix that lives and
        # dies with the stack instance, keeps soft delete short and has no purge protection (which
        # forbids purging for the whole retention). Production keeps fixed names, 90 days and purge
        # protection: its deleted vault and workspace are recoverable, and hold their names.
        instance = None if production else random.RandomId(
            "instance", byte_length=3, opts=pulumi.ResourceOptions(parent=self)).hex
        vault = self._key_vault(stack, seed, location, rg, tags, child, client, production, instance)
        insights = self._app_insights(stack, location, rg, tags, child)
        registry = self._registry(stack, seed, location, rg, tags, child, registry_sku)
        workspace = ml.Workspace(
            "workspace",
            workspace_name=workspace_name if instance is None
            else instance.apply(lambda hex_: naming.instance_workspace(workspace_name, hex_)),
            resource_group_name=rg,
            location=location,
            identity=ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
            sku=ml.SkuArgs(name=workspace_sku, tier=workspace_sku),
            storage_account=account.id,
            key_vault=vault.id,
            application_insights=insights.id,
            container_registry=registry.id,
            friendly_name=workspace_name,
            tags=tags,
            opts=child,
        )
        self.workspace_name = workspace.name
        self.workspace_id = workspace.workspace_id
        self.resource_group_name = pulumi.Output.from_input(rg)
        self.registry_login_server = registry.login_server
        self.registry_id = registry.id
        self.storage_account_id = account.id
        self.storage_account_name = account.name
        self.app_insights_connection_string = pulumi.Output.secret(insights.connection_string)
        self.app_insights_instrumentation_key = pulumi.Output.secret(insights.instrumentation_key)

    @staticmethod
    def _storage_account(stack, seed, location, rg, tags, child) -> storage.StorageAccount:
        return storage.StorageAccount(
            "storage",
            account_name=naming.storage_account(stack, seed),
            resource_group_name=rg,
            location=location,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=storage.SkuName.STANDARD_LRS),
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            allow_blob_public_access=False,
            tags=tags,
            opts=child,
        )

    @staticmethod
    def _key_vault(stack, seed, location, rg, tags, child, client, production, instance) -> keyvault.Vault:
        """The workspace's vault: fixed name, long soft delete and purge protection in production;
        named per stack instance (`instance`) and short soft delete otherwise (see _create_workspace)."""
        return keyvault.Vault(
            "keyvault",
            vault_name=naming.key_vault(stack, seed) if instance is None
            else instance.apply(lambda hex_: naming.instance_key_vault(stack, hex_)),
            resource_group_name=rg,
            location=location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=client.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                # Purge protection cannot be switched off once on (ARM: enablePurgeProtection accepts
                # no false): absent, not false, outside production.
                enable_purge_protection=True if production else None,
                soft_delete_retention_in_days=90 if production else 7,
            ),
            tags=tags,
            opts=child,
        )

    @staticmethod
    def _app_insights(stack, location, rg, tags, child) -> applicationinsights.Component:
        """Application Insights, workspace-based: its data in a Log Analytics workspace of its own."""
        logs = operationalinsights.Workspace(
            "logs",
            workspace_name=naming.log_analytics(stack),
            resource_group_name=rg,
            location=location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=30,
            tags=tags,
            opts=child,
        )
        return applicationinsights.Component(
            "appinsights",
            resource_name_=naming.app_insights(stack),
            resource_group_name=rg,
            location=location,
            kind="web",
            application_type=applicationinsights.ApplicationType.WEB,
            ingestion_mode=applicationinsights.IngestionMode.LOG_ANALYTICS,
            workspace_resource_id=logs.id,
            tags=tags,
            opts=child,
        )

    def _registry(self, stack, seed, location, rg, tags, child, registry_sku) -> containerregistry.Registry:
        return containerregistry.Registry(
            "registry",
            registry_name=naming.container_registry(stack, seed),
            resource_group_name=rg,
            location=location,
            sku=containerregistry.SkuArgs(name=registry_sku),
            # ACI pulls with a managed identity only from a registry that lets trusted Azure
            # services in (see mldeploy/targets/__init__.py registry_sku); AzureServices is also ACR's default.
            network_rule_bypass_options=containerregistry.NetworkRuleBypassOptions.AZURE_SERVICES,
            # Pulls use managed identities (AcrPull). Only a declared need enables the admin user:
            # IoT Edge devices log in with the registry's user name and password (the guide).
            admin_user_enabled=self.admin_user_need is not None,
            tags={**tags, ADMIN_USER_NEED_TAG: self.admin_user_need} if self.admin_user_need else tags,
            opts=child,
        )

    def _existing_workspace(self, found: ExistingWorkspace):
        self.workspace_name = pulumi.Output.from_input(found.name)
        self.workspace_id = pulumi.Output.from_input(found.workspace_id)
        self.resource_group_name = pulumi.Output.from_input(found.resource_group)
        self.registry_id = pulumi.Output.from_input(found.container_registry)
        registry = containerregistry.get_registry_output(
            resource_group_name=arm_part("resourceGroups")(found.container_registry),
            registry_name=arm_part("registries")(found.container_registry),
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.registry_login_server = registry.login_server
        self.storage_account_id = pulumi.Output.from_input(found.storage_account)
        self.storage_account_name = pulumi.Output.from_input(arm_part("storageAccounts")(found.storage_account))
        insights = applicationinsights.get_component_output(
            resource_group_name=arm_part("resourceGroups")(found.application_insights),
            resource_name=arm_part("components")(found.application_insights),
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.app_insights_connection_string = pulumi.Output.secret(insights.connection_string)
        self.app_insights_instrumentation_key = pulumi.Output.secret(insights.instrumentation_key)

    def _push_password(self, client, exchange: Callable[[str, str, str], str]) -> pulumi.Output[str]:
        """An ACR refresh token for the deployer (user REFRESH_TOKEN_USER): see mldeploy/azure/acr_login.py.
        Known only once the registry exists, so the first `pulumi up` of a stack pushes in the same run.
        `exchange` is the run's (synth passes an offline one)."""
        token = authorization.get_client_token_output(opts=pulumi.InvokeOutputOptions(parent=self))
        return pulumi.Output.secret(pulumi.Output.all(self.registry_login_server, client.tenant_id, token.token)
                                    .apply(lambda a: exchange(a[0], a[1], a[2])))

    # -- models ---------------------------------------------------------------------------

    def _register(self, model: ResolvedModel, user_tags, description, ws_rg, client, child,
                  container_res: ml.ModelContainer | None) -> RegisteredModel:
        prefix = naming.model_blob_prefix(model.registered_name, model.version, model.digest)
        # The workspace's default datastore (workspaceblobstore) is this container.
        container = self.workspace_id.apply(workspace_blob_container)
        blobs = [
            storage.Blob(
                f"model-{model.registered_name}-{model.version}-{rel}".replace("/", "-"),
                account_name=self.storage_account_name,
                container_name=container,
                resource_group_name=self.storage_account_id.apply(arm_part("resourceGroups")),
                blob_name=f"{prefix}/{rel}",
                type=storage.BlobType.BLOCK,
                source=pulumi.FileAsset(state_path(path)),
                opts=child,
            )
            for rel, path in model.files
        ]
        tail = "" if model.is_folder else model.files[0][0]
        uri = pulumi.Output.all(client.subscription_id, ws_rg, self.workspace_name).apply(
            lambda a: f"azureml://subscriptions/{a[0]}/resourceGroups/{a[1]}"
            f"/workspaces/{a[2]}/datastores/workspaceblobstore/paths/{prefix}/{tail}"
        )
        tags = {**user_tags, DIGEST_TAG: model.digest}
        version = ml.ModelVersion(
            # The version is part of the logical name: a new version is a new resource, created
            # before the old one is removed; an existing version is never rewritten in place.
            f"model-{model.registered_name}-v{model.version}",
            name=model.registered_name,
            version=model.version,
            resource_group_name=ws_rg,
            workspace_name=self.workspace_name,
            properties=ml.ModelVersionPropertiesArgs(
                model_uri=uri,
                model_type="custom_model",
                description=description,
                tags=tags,
                properties={DIGEST_TAG: model.digest},
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*([container_res] if container_res else []), *blobs]),
        )
        return RegisteredModel(model.registered_name, model.version, version.id, uri)


