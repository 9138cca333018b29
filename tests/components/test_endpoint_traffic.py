"""EndpointTraffic's provider (components/endpoint_traffic.py) against a fake ARM client: what it
PUTs, and when."""
from __future__ import annotations

from components.endpoint_traffic import ArmError, EndpointTrafficProvider, with_traffic

ENDPOINT_ID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/onlineEndpoints/e"
CURRENT = {"location": "westeurope", "tags": {"a": "b"}, "name": "e",
           "identity": {"type": "UserAssigned", "userAssignedIdentities": {"/id/x": {"principalId": "p"}}},
           "properties": {"authMode": "Key", "traffic": {}, "scoringUri": "https://e/score",
                          "provisioningState": "Succeeded"}}


class FakeArm:
    def __init__(self, token=None, missing=False):
        self.puts = []
        self.missing = missing

    def get(self, endpoint_id):
        if self.missing:
            raise ArmError(f"GET {endpoint_id}: 404 b'not found'")
        return CURRENT

    def put_and_wait(self, endpoint_id, body):
        self.puts.append((endpoint_id, body))


def provider(fake):
    return EndpointTrafficProvider(client_factory=lambda token: fake)


PROPS = {"endpointId": ENDPOINT_ID, "traffic": {"blue": 90, "green": 10}, "mirrorTraffic": {"shadow": 10},
         "endpointRevision": "r1", "token": "t"}


def test_create_puts_the_endpoint_back_with_the_split():
    fake = FakeArm()
    provider(fake).create(dict(PROPS))
    (endpoint_id, body), = fake.puts
    assert endpoint_id == ENDPOINT_ID
    assert body["properties"]["traffic"] == {"blue": 90, "green": 10}
    assert body["properties"]["mirrorTraffic"] == {"shadow": 10}
    assert body["properties"]["authMode"] == "Key", "the endpoint's own settings are kept"


def test_read_only_fields_are_not_sent():
    body = with_traffic(CURRENT, {"blue": 100}, {})
    assert "scoringUri" not in body["properties"] and "provisioningState" not in body["properties"]
    assert body["identity"]["userAssignedIdentities"] == {"/id/x": {}}


def test_an_endpoint_revision_change_reapplies_the_split():
    diff = provider(FakeArm()).diff("id", dict(PROPS), {**PROPS, "endpointRevision": "r2"})
    assert diff.changes and diff.replaces == []


def test_same_inputs_change_nothing():
    assert not provider(FakeArm()).diff("id", dict(PROPS), dict(PROPS)).changes


def test_delete_sets_every_share_to_zero():
    fake = FakeArm()
    provider(fake).delete("id", dict(PROPS))
    assert fake.puts[0][1]["properties"]["traffic"] == {"blue": 0, "green": 0}
    assert fake.puts[0][1]["properties"]["mirrorTraffic"] == {}


def test_delete_of_a_gone_endpoint_is_quiet():
    provider(FakeArm(missing=True)).delete("id", dict(PROPS))
