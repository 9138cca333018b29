"""A small client for the IoT Hub service REST API: the calls an IoT Edge deployment needs.

Why not the `azure-iot-hub` SDK: it pulls in `uamqp`, which Microsoft deprecated and no longer
builds for new Python versions. These four calls are plain HTTPS with a shared access signature
(SAS) from one of the hub's access policies, sent through azure-core's pipeline
(mldeploy/azure/pipeline.py): retries with Retry-After on throttling (IoT Hub answers 429 when a
hub's operation quota is exceeded - learn.microsoft.com/azure/iot-hub/iot-hub-devguide-quotas-throttling),
5xx and dropped connections, and a fresh SAS signature on every attempt.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from typing import Any, Protocol

from azure.core.exceptions import HttpResponseError
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

from mldeploy.azure.pipeline import pipeline_client

API_VERSION = "2021-04-12"
TOKEN_SECONDS = 3600


class IotHubError(Exception):
    """An IoT Hub call failed: the HTTP status and the service's message."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(f"IoT Hub answered {status}: {message}")


class EdgeDeploymentService(Protocol):
    """What the dynamic provider needs from IoT Hub (a fake implements it in tests)."""

    def put_configuration(self, config: dict[str, Any], etag: str | None = None) -> dict[str, Any]: ...

    def get_configuration(self, config_id: str) -> dict[str, Any] | None: ...

    def delete_configuration(self, config_id: str) -> None: ...

    def apply_on_device(self, device_id: str, content: dict[str, Any]) -> None: ...


def sas_token(host: str, policy: str, key: str, now: float | None = None, ttl: int = TOKEN_SECONDS) -> str:
    """`SharedAccessSignature sr=..&sig=..&se=..&skn=..` for the hub, valid `ttl` seconds."""
    resource = urllib.parse.quote(host, safe="").lower()
    expiry = int((now if now is not None else time.time()) + ttl)
    signed = hmac.new(base64.b64decode(key), f"{resource}\n{expiry}".encode(), hashlib.sha256).digest()
    signature = urllib.parse.quote(base64.b64encode(signed).decode(), safe="")
    return f"SharedAccessSignature sr={resource}&sig={signature}&se={expiry}&skn={policy}"


class SasPolicy(SansIOHTTPPolicy):
    """Signs each attempt (after the retry policy) with a SAS valid `TOKEN_SECONDS` from now."""

    def __init__(self, host: str, policy: str, key: str):
        self.host, self.policy, self._key = host, policy, key

    def on_request(self, request: PipelineRequest) -> None:
        request.http_request.headers["Authorization"] = sas_token(self.host, self.policy, self._key)


# Every call is idempotent (a PUT with an etag, an apply of the same content, a DELETE): a POST
# may be retried like the others (azure-core retries only idempotent methods by default).
RETRIED_METHODS = frozenset(["GET", "PUT", "DELETE", "POST"])


class IotHubRestClient:
    """IoT Hub configurations (at-scale deployments) and per-device module content."""

    def __init__(self, host: str, policy: str, key: str, *, base_url: str | None = None,
                 transport: HttpTransport | None = None, timeout: float = 30.0):
        self.host = host
        self.policy = policy
        self.base_url = (base_url or f"https://{host}").rstrip("/")
        self.timeout = timeout
        self.client = pipeline_client(self.base_url, auth=SasPolicy(host, policy, key), transport=transport)

    def _call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        request = HttpRequest(method, f"{self.base_url}{path}", params={"api-version": API_VERSION}, json=body,
                              headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})
        response = self.client.send_request(request, retry_on_methods=RETRIED_METHODS,
                                            connection_timeout=self.timeout, read_timeout=self.timeout)
        try:
            response.raise_for_status()
        except HttpResponseError:
            raise IotHubError(response.status_code, response.text()[:500]) from None
        return response.json() if response.content else None

    @staticmethod
    def _quote(value: str) -> str:
        return urllib.parse.quote(value, safe="")

    def put_configuration(self, config: dict[str, Any], etag: str | None = None) -> dict[str, Any]:
        # Create: no If-Match. Update: the current etag, so a concurrent change is not overwritten.
        headers = {"If-Match": f'"{etag}"'} if etag else None
        return self._call("PUT", f"/configurations/{self._quote(config['id'])}", config, headers)

    def get_configuration(self, config_id: str) -> dict[str, Any] | None:
        try:
            return self._call("GET", f"/configurations/{self._quote(config_id)}")
        except IotHubError as err:
            if err.status == 404:
                return None
            raise

    def delete_configuration(self, config_id: str) -> None:
        try:
            self._call("DELETE", f"/configurations/{self._quote(config_id)}", headers={"If-Match": "*"})
        except IotHubError as err:
            if err.status != 404:  # already gone is what delete wants
                raise

    def apply_on_device(self, device_id: str, content: dict[str, Any]) -> None:
        self._call("POST", f"/devices/{self._quote(device_id)}/applyConfigurationContent", content)
