"""EndpointTraffic: the traffic and mirror split of an online endpoint, set after its deployments.

Why a resource of its own. An endpoint's `traffic` may only name deployments that exist, and a
deployment needs its endpoint first - so an endpoint that declares its traffic cannot be created
together with its deployments (Terraform's azurerm PR left traffic out for this reason; `az ml`
runs `online-endpoint update --traffic` as a second step). mldeploy declares the endpoint
without traffic, the deployments on it, and this resource last (it depends on every
deployment): one `pulumi up` creates all three in that order, and an update that adds a
deployment creates it before the new split is applied. Removing a deployment works the same
way backwards: the new split (without it) is applied before Pulumi deletes the deployment.

What it does: GET the endpoint, set `properties.traffic` and `properties.mirrorTraffic`, PUT it
back (the API has no PATCH for traffic: OnlineEndpoints_Update takes identity and tags only -
API spec mfe.json 2025-12-01), then poll the Azure-AsyncOperation until it succeeds.

Why it also owns the endpoint's tags, description and authMode. A PUT of the endpoint without
traffic resets it to 0 % (observed by microsoft/genaiops-promptflow-template issue #182), and
azure-native builds its PUT from the recorded inputs only (pulumi-azure-native
provider/pkg/provider/provider.go `Update` -> `defaultUpdate` -> `PrepareAzureRESTBody`; only
properties that are sub-resources are carried over from the live state, and traffic is not one).
So an update of the endpoint through azure-native would serve nothing until this resource
re-applied the split. The endpoint's mutable settings a stack changes day to day (`settings`:
tags, description, authMode) are therefore applied here, in the same PUT as the split, and the
OnlineEndpoint ignores changes to them (components/online_endpoint.py). What azure-native still
PUTs (identity, compute, keys, location) is digested into `endpointRevision`: a change there
re-applies the split in the same run, right after the endpoint's PUT.

Refresh: `read` returns the live split and settings, so after `pulumi refresh` an endpoint whose
traffic was changed or wiped outside this resource differs from the program and the next
`pulumi up` re-applies it.

azure-native offers no resource for this step (only the whole endpoint), so it is a dynamic
provider over the ARM REST API through azure-core's pipeline (mldeploy/azure/pipeline.py: retries
with Retry-After on 429/5xx and dropped connections, ARM's long-running-operation polling). The
token is obtained when the provider runs (azure-identity's DefaultAzureCredential, the deployer's
login), never passed in: nothing of it is in the resource's inputs or Pulumi's state, and
`pulumi destroy` - which does not run the program - gets a fresh one the same way.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

import pulumi
from azure.core.exceptions import ResourceNotFoundError
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from mldeploy.azure.pipeline import ArmClient

# The API version azure-native 3.x uses for OnlineEndpoint (its docstring: "Uses Azure REST API
# version 2025-12-01").
API_VERSION = "2025-12-01"
COMPARED = ("endpointId", "traffic", "mirrorTraffic", "settings", "endpointRevision")
LEGACY_CREDENTIALS = ("token",)


def traffic_id(props: dict[str, Any]) -> str:
    """The id of an endpoint's traffic setting: its endpoint's id + `/traffic` (synth gives the same)."""
    return f"{props['endpointId']}/traffic"


class EndpointArm(Protocol):
    """The two ARM calls EndpointTraffic makes (mldeploy.azure.pipeline.ArmClient)."""

    def get(self, resource_id: str, api_version: str) -> dict: ...

    def put_and_wait(self, resource_id: str, api_version: str, body: dict) -> dict: ...


def with_traffic(endpoint: dict, traffic: dict[str, int], mirror: dict[str, int],
                 settings: dict[str, Any] | None = None) -> dict:
    """The PUT body: the endpoint as Azure returned it, with the new split and `settings` (tags,
    description, authMode) where given. Read-only fields are dropped (the API rejects or ignores them)."""
    settings = settings or {}
    props = {k: v for k, v in (endpoint.get("properties") or {}).items()
             if k not in ("provisioningState", "scoringUri", "swaggerUri", "keys")}
    props["traffic"] = {k: int(v) for k, v in traffic.items()}
    props["mirrorTraffic"] = {k: int(v) for k, v in mirror.items()}
    props.update({k: settings[k] for k in ("description", "authMode") if k in settings})
    body = {k: v for k, v in endpoint.items() if k in ("location", "tags", "identity", "kind", "sku")}
    if "tags" in settings:
        body["tags"] = dict(settings["tags"])
    identity = body.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), dict):
        body["identity"] = {"type": identity.get("type"),
                            "userAssignedIdentities": {k: {} for k in identity["userAssignedIdentities"]}}
    body["properties"] = props
    return body


class EndpointTrafficProvider(ResourceProvider):
    """Create/update: apply the split. Delete: set every share to 0, so the deployments can go."""

    def __init__(self, client_factory: Callable[[], EndpointArm] = ArmClient):
        super().__init__()
        self.client_factory = client_factory

    def _apply(self, props: dict[str, Any], traffic: dict, mirror: dict) -> None:
        client = self.client_factory()
        endpoint = client.get(props["endpointId"], API_VERSION)
        client.put_and_wait(props["endpointId"], API_VERSION,
                            with_traffic(endpoint, traffic, mirror, props.get("settings")))

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._apply(props, props["traffic"], props.get("mirrorTraffic") or {})
        return CreateResult(traffic_id(props), dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in COMPARED if olds.get(k) != news.get(k)]
        # State written by mldeploy before issue 20 holds an access token: an update rewrites it without.
        changed += [k for k in LEGACY_CREDENTIALS if k in olds]
        return DiffResult(changes=bool(changed), replaces=["endpointId"] if "endpointId" in changed else [],
                          stables=[], delete_before_replace=False)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh: the live split and settings, so a split changed or wiped outside this resource
        shows as a difference and the next `pulumi up` re-applies it. A gone endpoint: gone."""
        try:
            endpoint = self.client_factory().get(props["endpointId"], API_VERSION)
        except ResourceNotFoundError:
            return ReadResult(None, {})
        live = endpoint.get("properties") or {}
        settings = dict(props.get("settings") or {})
        if "tags" in settings:
            settings["tags"] = dict(endpoint.get("tags") or {})
        settings.update({k: live.get(k) for k in ("description", "authMode") if k in settings})
        return ReadResult(id_, {**props, "traffic": dict(live.get("traffic") or {}),
                                "mirrorTraffic": dict(live.get("mirrorTraffic") or {}), "settings": settings})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._apply(news, news["traffic"], news.get("mirrorTraffic") or {})
        return UpdateResult(dict(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        zero = {k: 0 for k in props.get("traffic") or {}}
        try:
            self._apply(props, zero, {})
        except ResourceNotFoundError:  # the endpoint is gone already: nothing to clear
            return


class EndpointTraffic(pulumi.dynamic.Resource, module="mldeploy", name="EndpointTraffic"):
    """The split applied through ARM (type `pulumi-python:dynamic/mldeploy:EndpointTraffic`).
    Its inputs are ids and percentages only: no credential."""

    def __init__(self, name: str, *, endpoint_id: pulumi.Input[str], traffic: dict[str, int],
                 mirror_traffic: dict[str, int], endpoint_revision: pulumi.Input[str],
                 settings: dict[str, Any] | None = None, opts: pulumi.ResourceOptions | None = None,
                 provider: ResourceProvider | None = None):
        props = {"endpointId": endpoint_id, "traffic": traffic, "mirrorTraffic": mirror_traffic,
                 "settings": settings or {}, "endpointRevision": endpoint_revision}
        super().__init__(provider or EndpointTrafficProvider(), name, props, opts)
