"""Push credentials for the workspace registry from the deployer's own Entra ID token.

Docker needs a registry login to push, and the registry may be created by the same `pulumi up`:
an `az acr login` before the run cannot work for a new stack, and CI has no Docker login at all.
So the program does what `az acr login` does (Azure/acr docs/AAD-OAuth.md, "Calling POST
/oauth2/exchange to get an ACR refresh token", and "Authenticating docker with an ACR refresh
token"): exchange the deployer's Entra ID access token (azure-native `getClientToken`, Azure
Resource Manager audience, accepted by ACR unless "authentication-as-arm" is disabled) for an ACR
refresh token, and give Docker that token as the password of the null-GUID user. No admin user,
no stored password; the token lives ~3 hours and is fetched again on every run - pulumi-docker's
Image ignores changes of registry username/password in its diff (pulumi/pulumi-docker
provider/provider.go `diffUpdates`), so a new token never rebuilds or re-pushes an image. The
deployer needs push rights on the registry: Owner, Contributor or AcrPush (Azure/acr
docs/roles-and-permissions.md).

One form POST, sent through azure-core's pipeline (mldeploy/azure/pipeline.py: retries with
Retry-After on 429/5xx and dropped connections); the ACR SDK would add a dependency for one call.
"""
from __future__ import annotations

from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

from mldeploy.azure.pipeline import pipeline_client

REFRESH_TOKEN_USER = "00000000-0000-0000-0000-000000000000"  # "this password is an ACR refresh token"


class AcrLoginError(Exception):
    """The registry refused the exchange: the message says what the deployer lacks."""


# The exchange only issues a token: safe to repeat, so its POST is retried like a GET.
RETRIED_METHODS = frozenset(["GET", "POST"])


def exchange_for_refresh_token(login_server: str, tenant_id: str, aad_access_token: str, *,
                               base_url: str | None = None, transport: HttpTransport | None = None,
                               timeout: float = 30.0) -> str:
    """POST /oauth2/exchange (grant_type=access_token) -> the ACR refresh token."""
    url = f"{base_url or f'https://{login_server}'}/oauth2/exchange"
    request = HttpRequest("POST", url, data={
        "grant_type": "access_token", "service": login_server, "tenant": tenant_id,
        "access_token": aad_access_token,
    })
    client = pipeline_client(url, transport=transport)
    response = client.send_request(request, retry_on_methods=RETRIED_METHODS,
                                   connection_timeout=timeout, read_timeout=timeout)
    if response.status_code >= 400:
        raise AcrLoginError(
            f"registry {login_server} refused the deployer's Entra ID token ({response.status_code}): the identity "
            "running `pulumi up` needs Owner, Contributor or AcrPush on the registry, and the registry "
            "must accept Entra ID (ARM-audience) tokens")
    token = (response.json() if response.content else {}).get("refresh_token")
    if not token:
        raise AcrLoginError(f"registry {login_server} answered the token exchange without a refresh_token")
    return token
