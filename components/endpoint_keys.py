"""EndpointKeys: the keys a stack gives an online endpoint (`services.<name>.keys`), set and rotated
with the API's own action for it, never by a PUT of the endpoint.

Why. The endpoint's `properties.keys` are "EndpointAuthKeys to set initially on an Endpoint. This
property will always be returned as null" (azure-rest-api-specs, machinelearningservices
stable/2025-12-01 mfe.json, EndpointPropertiesBase.keys; the same text in azure-native's
OnlineEndpointPropertiesArgs.keys): a key set at creation. Changing keys later is the
`regenerateKeys` action - POST .../onlineEndpoints/{name}/regenerateKeys with a
RegenerateEndpointKeysRequest {keyType: Primary | Secondary, keyValue} (OnlineEndpoints_RegenerateKeys,
a long-running operation; `az ml online-endpoint regenerate-keys`). Before, a rotated key in the
stack only changed the endpoint's `properties.keys`: azure-native PUT the endpoint again - which
drops its traffic split until EndpointTraffic re-applies it (docs/endpoints.md) - with a value the
API takes only initially. Now the OnlineEndpoint ignores later changes of `properties.keys` and
this resource sets each changed key by that action: no PUT, no window without traffic.

Create sets both keys too: an endpoint created before this resource existed may hold other keys.
Delete does nothing: the keys go with the endpoint. The token comes from the deployer's login when
the provider runs (mldeploy/azure/pipeline.py), never from the inputs; the keys are secret inputs
and outputs.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from mldeploy.azure.pipeline import ArmClient
from mldeploy.components.endpoint_traffic import API_VERSION

KEYS = (("primaryKey", "Primary"), ("secondaryKey", "Secondary"))


def keys_id(props: dict[str, Any]) -> str:
    """The id of an endpoint's given keys: its endpoint's id + `/keys` (synth gives the same)."""
    return f"{props['endpointId']}/keys"


class KeysArm(Protocol):
    def post_and_wait(self, resource_id: str, api_version: str, body: Any = None) -> dict: ...


def regenerate_requests(olds: dict[str, Any] | None, news: dict[str, Any]) -> list[dict[str, str]]:
    """The RegenerateEndpointKeysRequest bodies for the keys that differ from `olds` (all of them
    without `olds`), secondary first: clients are asked to rotate the key they do not use."""
    changed = [{"keyType": key_type, "keyValue": news[prop]} for prop, key_type in KEYS
               if olds is None or olds.get(prop) != news.get(prop)]
    return sorted(changed, key=lambda body: body["keyType"] != "Secondary")


class EndpointKeysProvider(ResourceProvider):
    """Create: set both keys. Update: set the changed ones. Delete: nothing (the keys go with the endpoint)."""

    def __init__(self, client_factory: Callable[[], KeysArm] = ArmClient):
        super().__init__()
        self.client_factory = client_factory

    def _set(self, olds: dict[str, Any] | None, news: dict[str, Any]) -> None:
        client = self.client_factory()
        for body in regenerate_requests(olds, news):
            client.post_and_wait(f"{news['endpointId']}/regenerateKeys", API_VERSION, body)

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._set(None, props)
        return CreateResult(keys_id(props), dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in ("endpointId", *(prop for prop, _ in KEYS)) if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=["endpointId"] if "endpointId" in changed else [],
                          stables=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._set(olds, news)
        return UpdateResult(dict(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        return None


class EndpointKeys(pulumi.dynamic.Resource, module="mldeploy", name="EndpointKeys"):
    """The given keys of one online endpoint (type `pulumi-python:dynamic/mldeploy:EndpointKeys`)."""

    def __init__(self, name: str, *, endpoint_id: pulumi.Input[str], primary_key: pulumi.Input[str],
                 secondary_key: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None,
                 provider: ResourceProvider | None = None):
        props = {"endpointId": endpoint_id, "primaryKey": pulumi.Output.secret(primary_key),
                 "secondaryKey": pulumi.Output.secret(secondary_key)}
        secrets = pulumi.ResourceOptions(additional_secret_outputs=[prop for prop, _ in KEYS])
        super().__init__(provider or EndpointKeysProvider(), name, props, pulumi.ResourceOptions.merge(secrets, opts))
