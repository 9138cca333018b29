"""The ACR token exchange (mldeploy/azure/acr_login.py) against a fake registry endpoint."""
from __future__ import annotations

import io
import json
import urllib.error
import urllib.parse

import pytest

from mldeploy.azure.acr_login import AcrLoginError, exchange_for_refresh_token


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_posts_the_documented_form_and_returns_the_refresh_token():
    seen = {}

    def urlopen(request, timeout):
        seen["url"], seen["method"] = request.full_url, request.get_method()
        seen["type"] = request.headers["Content-type"]
        seen["form"] = dict(urllib.parse.parse_qsl(request.data.decode()))
        return FakeResponse(json.dumps({"refresh_token": "acr-refresh"}).encode())

    token = exchange_for_refresh_token("reg.azurecr.io", "tenant-1", "aad-token", urlopen=urlopen)
    assert token == "acr-refresh"
    assert (seen["url"], seen["method"]) == ("https://reg.azurecr.io/oauth2/exchange", "POST")
    assert seen["type"] == "application/x-www-form-urlencoded"
    assert seen["form"] == {"grant_type": "access_token", "service": "reg.azurecr.io", "tenant": "tenant-1",
                            "access_token": "aad-token"}


def test_a_refusal_says_which_roles_the_deployer_needs():
    def urlopen(request, timeout):
        raise urllib.error.HTTPError(request.full_url, 401, "Unauthorized", {}, io.BytesIO(b"{}"))

    with pytest.raises(AcrLoginError, match="Owner, Contributor or AcrPush"):
        exchange_for_refresh_token("reg.azurecr.io", "t", "x", urlopen=urlopen)


def test_an_answer_without_a_token_is_an_error():
    with pytest.raises(AcrLoginError, match="without a refresh_token"):
        exchange_for_refresh_token("reg.azurecr.io", "t", "x", urlopen=lambda r, timeout: FakeResponse(b"{}"))
