"""A Pulumi dynamic provider that applies an IoT Edge deployment manifest through IoT Hub.

azure-native has no resource for this (its `iothub` module, 3.x, has the hub, certificates,
consumer groups and private endpoints only: an Edge deployment is an IoT Hub data-plane object),
so create/update/delete go through the IoT Hub service API (mldeploy/azure/iothub.py). Two modes:

- one device (`deviceId`): create and update apply the manifest to the device; delete applies
  the base manifest (runtime only), which removes the scoring module.
- at scale (`targetCondition` + `priority`): an IoT Hub configuration. Its content is immutable
  in IoT Hub, so a content change replaces it (the id carries a content digest); target
  condition, priority and labels update in place, guarded by the configuration's etag.
"""
from __future__ import annotations

from typing import Any, Callable

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from mldeploy.azure.iothub import EdgeDeploymentService, IotHubRestClient
from mldeploy.azure.pipeline import ArmClient

COMPARED_KEYS = ("hubHostName", "hubId", "accessPolicy", "deploymentId", "deviceId",
                 "targetCondition", "priority", "labels", "content", "baseContent")
SECRET_KEYS = ["content", "baseContent"]
CONFIGURATION_SCHEMA_VERSION = "2.0"
# IotHubResource_ListKeysForKeyName (azure-rest-api-specs iothub; the version azure-native 3.x uses
# for iothub: "Uses Azure REST API version 2023-06-30").
IOTHUB_API_VERSION = "2023-06-30"


def hub_key(props: dict[str, Any], arm: Callable[[], ArmClient] = ArmClient) -> str:
    """The access policy's primary key, read from ARM when the provider runs (the deployer needs
    `Microsoft.Devices/IotHubs/listkeys/action`, which Contributor and Owner include): the key is
    never an input, so never in Pulumi's state."""
    keys = arm().post(f"{props['hubId']}/IotHubKeys/{props['accessPolicy']}/listkeys", IOTHUB_API_VERSION)
    return keys["primaryKey"]


def rest_client(props: dict[str, Any]) -> EdgeDeploymentService:
    return IotHubRestClient(props["hubHostName"], props["accessPolicy"], hub_key(props))


def configuration(props: dict[str, Any]) -> dict[str, Any]:
    """The IoT Hub configuration body of an at-scale deployment."""
    return {
        "id": props["deploymentId"],
        # What Microsoft's own `az iot edge deployment create` sends (Azure/azure-iot-cli-extension,
        # azext_iot/operations/hub.py `_iot_hub_configuration_create`: schema_version="2.0").
        "schemaVersion": CONFIGURATION_SCHEMA_VERSION,
        "content": props["content"],
        "targetCondition": props["targetCondition"],
        "priority": int(props["priority"]),
        "labels": dict(props.get("labels") or {}),
    }


def _is_device(props: dict[str, Any]) -> bool:
    return bool(props.get("deviceId"))


def resource_id(props: dict[str, Any]) -> str:
    host = props["hubHostName"]
    if _is_device(props):
        return f"{host}/devices/{props['deviceId']}"
    return f"{host}/configurations/{props['deploymentId']}"


class IotEdgeDeploymentProvider(ResourceProvider):
    """Create, update and delete one IoT Edge deployment (device or at scale)."""

    def __init__(self, client_factory: Callable[[dict[str, Any]], EdgeDeploymentService] = rest_client):
        super().__init__()
        self.client_factory = client_factory

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = self.client_factory(props)
        if _is_device(props):
            client.apply_on_device(props["deviceId"], props["content"])
            return CreateResult(resource_id(props), dict(props))
        created = client.put_configuration(configuration(props))
        return CreateResult(resource_id(props), {**props, "etag": (created or {}).get("etag")})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in COMPARED_KEYS if olds.get(k) != news.get(k)]
        replaces = [k for k in ("hubHostName", "deviceId", "deploymentId") if k in changed]
        if _is_device(olds) != _is_device(news):
            replaces.append("targetCondition")
        if not _is_device(news) and "content" in changed:
            replaces.append("content")  # a configuration's content cannot be updated
        same_id = resource_id(olds) == resource_id(news) if olds.get("hubHostName") else False
        return DiffResult(
            changes=bool(changed),
            replaces=sorted(set(replaces)),
            stables=[],
            # The same id cannot exist twice: remove the old one first in that case.
            delete_before_replace=bool(replaces) and same_id,
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        client = self.client_factory(news)
        if _is_device(news):
            client.apply_on_device(news["deviceId"], news["content"])
            return UpdateResult(dict(news))
        current = client.get_configuration(news["deploymentId"])
        etag = (current or {}).get("etag")
        updated = client.put_configuration(configuration(news), etag=etag)
        return UpdateResult({**news, "etag": (updated or {}).get("etag")})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        client = self.client_factory(props)
        if _is_device(props):
            client.apply_on_device(props["deviceId"], props["baseContent"])
        else:
            client.delete_configuration(props["deploymentId"])


class IotEdgeModuleDeployment(pulumi.dynamic.Resource, module="iotedge", name="Deployment"):
    """The manifest applied through IoT Hub (type `pulumi-python:dynamic/iotedge:Deployment`)."""

    etag: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None,
                 provider: ResourceProvider | None = None):
        secrets = pulumi.ResourceOptions(additional_secret_outputs=SECRET_KEYS)
        super().__init__(provider or IotEdgeDeploymentProvider(), name, {"etag": None, **props},
                         pulumi.ResourceOptions.merge(secrets, opts))
