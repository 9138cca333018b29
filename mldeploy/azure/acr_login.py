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

Hand-written (urllib) because it is one form POST; the ACR SDK would add a dependency for it.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable

REFRESH_TOKEN_USER = "00000000-0000-0000-0000-000000000000"  # "this password is an ACR refresh token"


class AcrLoginError(Exception):
    """The registry refused the exchange: the message says what the deployer lacks."""


def exchange_for_refresh_token(login_server: str, tenant_id: str, aad_access_token: str, *,
                               urlopen: Callable = urllib.request.urlopen, timeout: float = 30.0) -> str:
    """POST /oauth2/exchange (grant_type=access_token) -> the ACR refresh token."""
    body = urllib.parse.urlencode({
        "grant_type": "access_token", "service": login_server, "tenant": tenant_id,
        "access_token": aad_access_token,
    }).encode()
    request = urllib.request.Request(f"https://{login_server}/oauth2/exchange", data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urlopen(request, timeout=timeout) as response:
            payload = json.loads(response.read().decode() or "{}")
    except urllib.error.HTTPError as err:
        raise AcrLoginError(
            f"registry {login_server} refused the deployer's Entra ID token ({err.code}): the identity "
            "running `pulumi up` needs Owner, Contributor or AcrPush on the registry, and the registry "
            "must accept Entra ID (ARM-audience) tokens") from None
    token = payload.get("refresh_token")
    if not token:
        raise AcrLoginError(f"registry {login_server} answered the token exchange without a refresh_token")
    return token
