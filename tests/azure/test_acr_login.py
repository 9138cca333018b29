"""The ACR token exchange (mldeploy/azure/acr_login.py) on the wire against a fake registry endpoint
(tests/azure/fake_arm.py): the documented form, and retries when the registry throttles or drops."""
from __future__ import annotations

import pytest

from mldeploy.azure.acr_login import AcrLoginError, exchange_for_refresh_token
from tests.azure.fake_arm import DROP, Answer, FakeArm, RecordingTransport

EXCHANGE = "/oauth2/exchange"


@pytest.fixture
def registry(tmp_path):
    fake = FakeArm(tmp_path)
    yield fake
    fake.close()


def exchange(registry: FakeArm, transport=None) -> str:
    return exchange_for_refresh_token("reg.azurecr.io", "tenant-1", "aad-token", base_url=registry.url,
                                      transport=transport or RecordingTransport(registry.ca))


def test_posts_the_documented_form_and_returns_the_refresh_token(registry):
    registry.answer("POST", EXCHANGE, Answer(200, {"refresh_token": "acr-refresh"}))
    assert exchange(registry) == "acr-refresh"
    seen, = registry.calls("POST", EXCHANGE)
    assert seen.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert seen.body == {"grant_type": "access_token", "service": "reg.azurecr.io", "tenant": "tenant-1",
                         "access_token": "aad-token"}


def test_a_throttled_or_dropped_exchange_is_retried(registry):
    registry.answer("POST", EXCHANGE, Answer(429, None, {"Retry-After": "4"}), DROP, Answer(503),
                    Answer(200, {"refresh_token": "acr-refresh"}))
    transport = RecordingTransport(registry.ca)
    assert exchange(registry, transport) == "acr-refresh"
    assert len(registry.calls("POST", EXCHANGE)) == 4
    assert transport.slept[0] == 4.0, "the registry's Retry-After is waited out"


def test_a_refusal_says_which_roles_the_deployer_needs(registry):
    registry.answer("POST", EXCHANGE, Answer(401, {}))
    with pytest.raises(AcrLoginError, match="Owner, Contributor or AcrPush"):
        exchange(registry)


def test_an_answer_without_a_token_is_an_error(registry):
    registry.answer("POST", EXCHANGE, Answer(200, {}))
    with pytest.raises(AcrLoginError, match="without a refresh_token"):
        exchange(registry)
