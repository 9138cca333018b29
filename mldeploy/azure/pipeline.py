"""The one HTTP client for the calls mldeploy makes to Azure itself: ARM (an endpoint's traffic,
role assignments read back, IoT Hub keys), ACR's token exchange and IoT Hub's service API.

Built on azure-core's pipeline - what every Azure SDK for Python uses - rather than by hand:
- retries (azure-core `RetryPolicy`, its defaults: up to 10 attempts, 3 each for connection
  errors, dropped reads and retryable statuses; retryable statuses are 408, 429, 500, 502, 503,
  504; a `Retry-After` / `retry-after-ms` / `x-ms-retry-after-ms` header is waited out before the
  next attempt, else exponential backoff from 0.8 s, capped at 120 s). ARM throttles with 429 and
  Retry-After (learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling,
  "Error code");
- long-running operations: azure-mgmt-core's `ARMPolling` follows `Azure-AsyncOperation`, then
  `Location`, then the resource's `provisioningState` (learn.microsoft.com/azure/azure-resource-manager/
  management/async-operations), waiting each poll's Retry-After;
- credentials: azure-identity's `DefaultAzureCredential`, asked for a token when a call is made
  (environment, workload identity, managed identity, Azure CLI, ...), never stored by mldeploy.

Errors are azure-core's: `ResourceNotFoundError` for 404 (`HttpResponseError.status_code`
otherwise), never a string match on a message.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.exceptions import (ClientAuthenticationError, HttpResponseError, ResourceExistsError,
                                   ResourceNotFoundError, map_error)
from azure.core.pipeline import policies
from azure.core.pipeline.transport import HttpTransport
from azure.core.polling import LROPoller
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.core.polling.arm_polling import ARMPolling
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy

ARM = "https://management.azure.com"
ARM_SCOPE = f"{ARM}/.default"
POLL_SECONDS = 10  # between LRO polls when Azure sends no Retry-After
LRO_TIMEOUT_SECONDS = 30 * 60
# azure-core retries POST only on 500/503/504 or with Retry-After; the POSTs sent here are read-only
# actions (listkeys), safe to repeat after a dropped connection too.
RETRIED_METHODS = frozenset(["HEAD", "GET", "PUT", "DELETE", "POST"])
ERRORS = {401: ClientAuthenticationError, 404: ResourceNotFoundError, 409: ResourceExistsError}

# azure-native's service-principal variables (Pulumi docs, "Azure Native: Installation &
# Configuration": ARM_CLIENT_ID, ARM_CLIENT_SECRET, ARM_TENANT_ID). DefaultAzureCredential reads the
# AZURE_* names only, so a deployer configured for azure-native alone is honoured here too.
_ARM_SECRET_ENV = ("ARM_CLIENT_ID", "ARM_CLIENT_SECRET", "ARM_TENANT_ID")


def deployer_credential(environ: Mapping[str, str] | None = None) -> TokenCredential:
    """Who runs `pulumi up`, as a token source asked at call time (nothing cached on disk by us)."""
    from azure.identity import ChainedTokenCredential, ClientSecretCredential, DefaultAzureCredential

    env = os.environ if environ is None else environ
    default = DefaultAzureCredential()
    if all(env.get(name) for name in _ARM_SECRET_ENV):
        return ChainedTokenCredential(ClientSecretCredential(
            env["ARM_TENANT_ID"], env["ARM_CLIENT_ID"], env["ARM_CLIENT_SECRET"]), default)
    return default


def pipeline_client(base_url: str, *, auth: policies.SansIOHTTPPolicy | policies.HTTPPolicy | None = None,
                    transport: HttpTransport | None = None, **retry: Any) -> PipelineClient:
    """A client with Azure's retry and logging policies; `auth` signs every attempt (after retry)."""
    chain = [policies.RequestIdPolicy(), policies.HeadersPolicy(), policies.UserAgentPolicy("mldeploy"),
             policies.ContentDecodePolicy(), policies.RedirectPolicy(), policies.RetryPolicy(**retry),
             auth, policies.NetworkTraceLoggingPolicy(), ARMHttpLoggingPolicy(),
             policies.SensitiveHeaderCleanupPolicy()]
    return PipelineClient(base_url, policies=[p for p in chain if p is not None], transport=transport)


def raise_for_status(response: HttpResponse, what: str) -> None:
    """azure-core's typed error for a failed call (404 -> ResourceNotFoundError), naming `what`."""
    if response.status_code < 400:
        return
    map_error(response.status_code, response, ERRORS)
    raise HttpResponseError(message=f"{what}: {response.status_code} {response.text()[:500]}", response=response)


class ArmClient:
    """GET / PUT (waiting out the LRO) / POST on ARM resource ids, with the deployer's credential."""

    def __init__(self, credential: TokenCredential | None = None, *, base_url: str = ARM,
                 transport: HttpTransport | None = None, poll_seconds: float = POLL_SECONDS,
                 lro_timeout_seconds: float = LRO_TIMEOUT_SECONDS, **retry: Any):
        scope = ARM_SCOPE if base_url == ARM else f"{base_url}/.default"
        self.client = pipeline_client(
            base_url, auth=ARMChallengeAuthenticationPolicy(credential or deployer_credential(), scope),
            transport=transport, **retry)
        self.poll_seconds = poll_seconds
        self.lro_timeout_seconds = lro_timeout_seconds

    def _send(self, method: str, resource_id: str, api_version: str, body: Any = None) -> HttpResponse:
        request = HttpRequest(method, self.client.format_url(resource_id), params={"api-version": api_version},
                              json=body)
        return self.client.send_request(request, retry_on_methods=RETRIED_METHODS)

    def get(self, resource_id: str, api_version: str) -> dict:
        """The resource; ResourceNotFoundError when it does not exist."""
        response = self._send("GET", resource_id, api_version)
        raise_for_status(response, f"GET {resource_id}")
        return response.json() if response.content else {}

    def post(self, resource_id: str, api_version: str, body: Any = None) -> dict:
        """A POST action; only idempotent ones are sent here (listkeys), so it is retried like a GET."""
        response = self._send("POST", resource_id, api_version, body)
        raise_for_status(response, f"POST {resource_id}")
        return response.json() if response.content else {}

    def put_and_wait(self, resource_id: str, api_version: str, body: dict) -> dict:
        """PUT, then poll the long-running operation to its end; its final resource."""
        return self._and_wait("PUT", resource_id, api_version, body)

    def post_and_wait(self, resource_id: str, api_version: str, body: Any = None) -> dict:
        """A POST action that is a long-running operation (202 + Location / Azure-AsyncOperation), waited out."""
        return self._and_wait("POST", resource_id, api_version, body)

    def _and_wait(self, method: str, resource_id: str, api_version: str, body: Any) -> dict:
        request = HttpRequest(method, self.client.format_url(resource_id), params={"api-version": api_version},
                              json=body)
        pipeline_response = self.client._pipeline.run(request)  # noqa: SLF001 - LROPoller needs the PipelineResponse
        response = pipeline_response.http_response
        raise_for_status(response, f"{method} {resource_id}")
        poller = LROPoller(self.client, pipeline_response, lambda r: r.http_response.json() if r.http_response.text() else {},
                           ARMPolling(self.poll_seconds))
        result = poller.result(timeout=self.lro_timeout_seconds)
        if not poller.done():
            raise HttpResponseError(f"{method} {resource_id} did not finish in {self.lro_timeout_seconds:.0f} s "
                                    f"(status {poller.status()})")
        return result or {}
