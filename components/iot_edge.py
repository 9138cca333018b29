"""IotEdgeDeployment (guide: "deploy to Azure IoT Edge"): an IoT Hub (created or existing) and
the scoring module's deployment manifest, applied through the hub to one device or, at scale,
to every device matching a target condition.

As the guide's script does, the device pulls the image with the workspace registry's admin
credentials (`list_registry_credentials`); they enter the program as secrets and stay secret in
the manifest, the provider state and every output. The hub's shared access key is not an input:
the provider reads it from ARM when it runs (components/iot_edge_provider.py), so it is never in
Pulumi's state.
"""
from __future__ import annotations

import dataclasses

import pulumi
from pulumi_azure_native import containerregistry, iothub

from mldeploy.components.children import child_name, child_opts
from mldeploy.components.iot_edge_provider import IotEdgeModuleDeployment
from mldeploy.azure.arm import arm_part
from mldeploy.contract import MASK
from mldeploy.plan.edge import EdgePlan, HubPlan, ScoringModule, deployment_id
from mldeploy.render.edge_manifest import RegistryCredentials, base_manifest, check_desired_size, render_manifest


class IotEdgeDeployment(pulumi.ComponentResource):
    """The hub and the manifest applied through it."""

    hub_name: pulumi.Output[str]
    hub_host_name: pulumi.Output[str]
    deployment_id: pulumi.Output[str]
    manifest_preview: pulumi.Output[dict]
    """The applied manifest with the registry user name and password replaced by `[secret]`."""

    def __init__(
        self,
        name: str,
        *,
        plan: EdgePlan,
        location: str,
        resource_group_name: pulumi.Input[str],
        registry_id: pulumi.Input[str],
        registry_login_server: pulumi.Input[str],
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mldeploy:edge:IotEdgeDeployment", name, None, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        hub = plan.hub
        hub_id, depends = self._hub(name, hub, location=location, resource_group_name=resource_group_name,
                                    tags=tags, invoke=invoke)
        content = self._manifest(plan, registry_id=registry_id, registry_login_server=registry_login_server,
                                 invoke=invoke)
        self.deployment_id = self.manifest_preview.apply(lambda p: deployment_id(plan.entry, p))

        deployment = IotEdgeModuleDeployment(
            child_name(name, "deployment"),
            {
                "hubHostName": self.hub_host_name,
                "hubId": hub_id,
                # The policy must grant RegistryWrite and ServiceConnect (see mldeploy/targets/edge/config.py).
                "accessPolicy": hub.access_policy,
                "deploymentId": self.deployment_id,
                "deviceId": plan.device_id,
                "targetCondition": plan.target_condition,
                "priority": plan.priority,
                "labels": plan.labels,
                "content": content,
                "baseContent": pulumi.Output.secret(content.apply(base_manifest)),
            },
            opts=child_opts(self, "deployment", depends_on=depends),
        )
        self.etag = deployment.etag
        self.register_outputs({
            "hubName": self.hub_name,
            "hubHostName": self.hub_host_name,
            "deploymentId": self.deployment_id,
        })

    def _hub(self, name: str, hub: HubPlan, *, location: str, resource_group_name: pulumi.Input[str],
             tags: dict[str, str], invoke: pulumi.InvokeOutputOptions) -> tuple[pulumi.Input[str], list[pulumi.Resource]]:
        """The hub the manifest goes through: an existing one looked up, or one created here. Sets
        hub_name and hub_host_name; returns the hub's id and what the deployment waits for."""
        if hub.existing:
            found = iothub.get_iot_hub_resource_output(
                resource_group_name=hub.resource_group or resource_group_name, resource_name=hub.name, opts=invoke)
            self.hub_name = found.name
            self.hub_host_name = found.properties.apply(lambda p: p.host_name)
            return found.id, []
        created = iothub.IotHubResource(
            child_name(name, "hub"),
            resource_name_=hub.name,
            resource_group_name=resource_group_name,
            location=location,
            sku=iothub.IotHubSkuInfoArgs(name=hub.sku, capacity=hub.capacity),
            properties=iothub.IotHubPropertiesArgs(min_tls_version="1.2"),
            tags=tags,
            opts=child_opts(self, "hub"),
        )
        self.hub_name = created.name
        self.hub_host_name = created.properties.apply(lambda p: p.host_name)
        return created.id, [created]

    def _manifest(self, plan: EdgePlan, *, registry_id: pulumi.Input[str], registry_login_server: pulumi.Input[str],
                  invoke: pulumi.InvokeOutputOptions) -> pulumi.Output[dict]:
        """The manifest as applied, a secret (it holds the registry's admin credentials). Sets
        manifest_preview: the same manifest with the credentials masked."""
        # The guide: `az acr credential show` -> the device's registry login (admin user).
        creds = containerregistry.list_registry_credentials_output(
            registry_name=pulumi.Output.from_input(registry_id).apply(arm_part("registries")),
            resource_group_name=pulumi.Output.from_input(registry_id).apply(arm_part("resourceGroups")),
            opts=invoke,
        )
        username = pulumi.Output.secret(creds.username)
        password = pulumi.Output.secret(creds.passwords.apply(lambda p: p[0].value))

        # The plan's module with its image resolved (the digest is known once the image is pushed).
        module = pulumi.Output.from_input(plan.module.image).apply(
            lambda img: dataclasses.replace(plan.module, image=img))

        def render(address: str, user: str, secret: str, mod: ScoringModule) -> dict:
            manifest = render_manifest(mod, RegistryCredentials(address, user, secret), plan.routes,
                                       runtime_version=plan.runtime_version)
            check_desired_size(manifest)
            return manifest

        content = pulumi.Output.secret(
            pulumi.Output.all(registry_login_server, username, password, module).apply(lambda a: render(*a)))
        self.manifest_preview = pulumi.Output.all(registry_login_server, module).apply(
            lambda a: render(a[0], MASK, MASK, a[1]))
        return content
