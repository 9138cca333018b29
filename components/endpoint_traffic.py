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
API spec mfe.json 2025-12-01), then poll the Azure-AsyncOperation until it succeeds. A PUT of
the endpoint without traffic resets it to 0 % (observed by microsoft/genaiops-promptflow-template
issue #182), so `endpointRevision` carries a digest of the endpoint's own inputs: whenever
Pulumi updates the endpoint, this resource re-applies the split in the same run.

azure-native offers no resource for this step (only the whole endpoint), so it is hand-written
over the ARM REST API with the standard library; the token comes from azure-native's own
credentials (`authorization.getClientToken`), and on delete - when `pulumi destroy` no longer
runs the program, so the stored token may have expired - from `az account get-access-token`.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any, Callable

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

ARM = "https://management.azure.com"
# The API version azure-native 3.x uses for OnlineEndpoint (its docstring: "Uses Azure REST API
# version 2025-12-01").
API_VERSION = "2025-12-01"
COMPARED = ("endpointId", "traffic", "mirrorTraffic", "endpointRevision")
POLL_SECONDS = 10
TIMEOUT_SECONDS = 30 * 60


class ArmError(Exception):
    pass


class ArmClient:
    """The three calls EndpointTraffic makes (a fake implements them in tests)."""

    def __init__(self, token: str | None):
        self.token = token

    def _request(self, method: str, url: str, body: Any = None) -> tuple[int, dict, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                text = response.read()
                return response.status, dict(response.headers), json.loads(text) if text else {}
        except urllib.error.HTTPError as err:
            if err.code == 401 and self._refresh():
                return self._request(method, url, body)
            raise ArmError(f"{method} {url.split('?')[0]}: {err.code} {err.read()[:500]!r}") from None

    def _refresh(self) -> bool:
        """A fresh token from the Azure CLI (destroy runs long after the stored token expired)."""
        az = shutil.which("az")
        if az is None:
            return False
        done = subprocess.run([az, "account", "get-access-token", "--resource", ARM + "/", "--query",
                               "accessToken", "-o", "tsv"], capture_output=True, text=True)
        fresh = done.stdout.strip()
        if done.returncode != 0 or not fresh or fresh == self.token:
            return False
        self.token = fresh
        return True

    def get(self, endpoint_id: str) -> dict:
        return self._request("GET", f"{ARM}{endpoint_id}?api-version={API_VERSION}")[2]

    def put_and_wait(self, endpoint_id: str, body: dict) -> None:
        _, headers, _ = self._request("PUT", f"{ARM}{endpoint_id}?api-version={API_VERSION}", body)
        poll = headers.get("Azure-AsyncOperation") or headers.get("azure-asyncoperation")
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while poll and time.monotonic() < deadline:
            status = self._request("GET", poll)[2].get("status", "")
            if status.lower() == "succeeded":
                return
            if status.lower() in ("failed", "canceled"):
                raise ArmError(f"setting the traffic of {endpoint_id} ended {status}")
            time.sleep(POLL_SECONDS)
        if poll:
            raise ArmError(f"setting the traffic of {endpoint_id} did not finish in {TIMEOUT_SECONDS} s")


def with_traffic(endpoint: dict, traffic: dict[str, int], mirror: dict[str, int]) -> dict:
    """The PUT body: the endpoint as Azure returned it, with the new split. Read-only fields are
    dropped (the API rejects or ignores them)."""
    props = {k: v for k, v in (endpoint.get("properties") or {}).items()
             if k not in ("provisioningState", "scoringUri", "swaggerUri", "keys")}
    props["traffic"] = {k: int(v) for k, v in traffic.items()}
    props["mirrorTraffic"] = {k: int(v) for k, v in mirror.items()}
    body = {k: v for k, v in endpoint.items() if k in ("location", "tags", "identity", "kind", "sku")}
    identity = body.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), dict):
        body["identity"] = {"type": identity.get("type"),
                            "userAssignedIdentities": {k: {} for k in identity["userAssignedIdentities"]}}
    body["properties"] = props
    return body


class EndpointTrafficProvider(ResourceProvider):
    """Create/update: apply the split. Delete: set every share to 0, so the deployments can go."""

    def __init__(self, client_factory: Callable[[str | None], ArmClient] = ArmClient):
        super().__init__()
        self.client_factory = client_factory

    def _apply(self, props: dict[str, Any], traffic: dict, mirror: dict) -> None:
        client = self.client_factory(props.get("token"))
        endpoint = client.get(props["endpointId"])
        client.put_and_wait(props["endpointId"], with_traffic(endpoint, traffic, mirror))

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._apply(props, props["traffic"], props.get("mirrorTraffic") or {})
        return CreateResult(f"{props['endpointId']}/traffic", dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in COMPARED if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=["endpointId"] if "endpointId" in changed else [],
                          stables=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._apply(news, news["traffic"], news.get("mirrorTraffic") or {})
        return UpdateResult(dict(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        zero = {k: 0 for k in props.get("traffic") or {}}
        try:
            self._apply(props, zero, {})
        except ArmError as err:
            if " 404 " in str(err):  # the endpoint is gone already: nothing to clear
                return
            raise


class EndpointTraffic(pulumi.dynamic.Resource, module="mldeploy", name="EndpointTraffic"):
    """The split applied through ARM (type `pulumi-python:dynamic/mldeploy:EndpointTraffic`)."""

    def __init__(self, name: str, *, endpoint_id: pulumi.Input[str], traffic: dict[str, int],
                 mirror_traffic: dict[str, int], endpoint_revision: str, token: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None, provider: ResourceProvider | None = None):
        props = {"endpointId": endpoint_id, "traffic": traffic, "mirrorTraffic": mirror_traffic,
                 "endpointRevision": endpoint_revision, "token": pulumi.Output.secret(token)}
        secrets = pulumi.ResourceOptions(additional_secret_outputs=["token"])
        super().__init__(provider or EndpointTrafficProvider(), name, props, pulumi.ResourceOptions.merge(secrets, opts))
