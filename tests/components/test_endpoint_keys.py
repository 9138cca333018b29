"""EndpointKeys: an online endpoint's given keys set by the API's regenerateKeys action, never by
a PUT of the endpoint (its `properties.keys` are only "to set initially")."""
from __future__ import annotations

from components.endpoint_keys import EndpointKeysProvider, regenerate_requests
from components.endpoint_traffic import API_VERSION

ENDPOINT = ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/mlw/"
            "onlineEndpoints/web-abc123")


class FakeArm:
    """Records every call; has no PUT at all, so a provider that PUT the endpoint would fail here."""

    def __init__(self):
        self.posts: list[tuple[str, str, dict]] = []

    def post_and_wait(self, resource_id: str, api_version: str, body=None) -> dict:
        self.posts.append((resource_id, api_version, body))
        return {}


def _props(primary: str, secondary: str) -> dict:
    return {"endpointId": ENDPOINT, "primaryKey": primary, "secondaryKey": secondary}


def test_create_sets_both_keys_with_regenerate_keys_secondary_first():
    arm = FakeArm()
    EndpointKeysProvider(lambda: arm).create(_props("p" * 32, "s" * 32))
    assert arm.posts == [(f"{ENDPOINT}/regenerateKeys", API_VERSION, {"keyType": "Secondary", "keyValue": "s" * 32}),
                         (f"{ENDPOINT}/regenerateKeys", API_VERSION, {"keyType": "Primary", "keyValue": "p" * 32})]


def test_a_rotated_key_is_the_only_one_set_and_the_endpoint_is_not_put():
    arm = FakeArm()
    provider = EndpointKeysProvider(lambda: arm)
    old, new = _props("p" * 32, "s" * 32), _props("p" * 32, "t" * 32)
    assert provider.diff("id", old, new).changes
    provider.update("id", old, new)
    assert arm.posts == [(f"{ENDPOINT}/regenerateKeys", API_VERSION, {"keyType": "Secondary", "keyValue": "t" * 32})]


def test_unchanged_keys_are_no_change_and_a_new_endpoint_replaces():
    provider = EndpointKeysProvider(FakeArm)
    same = _props("p" * 32, "s" * 32)
    assert not provider.diff("id", same, dict(same)).changes
    moved = {**same, "endpointId": ENDPOINT + "x"}
    assert provider.diff("id", same, moved).replaces == ["endpointId"]
    assert regenerate_requests(same, same) == []
