"""EndpointTraffic's provider (components/endpoint_traffic.py): what it PUTs and when (against a fake
client), and the same calls on the wire against a fake ARM (tests/azure/fake_arm.py) - no
credential in its inputs, the token asked for at run time (issue 20 item 8)."""
from __future__ import annotations

import base64
import json

import dill
import pytest
from azure.core.exceptions import ResourceNotFoundError
from pulumi.dynamic.dynamic import serialize_provider

from mldeploy.components.endpoint_traffic import API_VERSION, EndpointTrafficProvider, with_traffic
from mldeploy.azure.pipeline import ArmClient
from tests.azure.fake_arm import DROP, Answer, FakeArm, FakeCredential, RecordingTransport

ENDPOINT_ID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/onlineEndpoints/e"
CURRENT = {"location": "westeurope", "tags": {"a": "b"}, "name": "e",
           "identity": {"type": "UserAssigned", "userAssignedIdentities": {"/id/x": {"principalId": "p"}}},
           "properties": {"authMode": "Key", "traffic": {}, "scoringUri": "https://e/score",
                          "provisioningState": "Succeeded"}}


class FakeClient:
    def __init__(self, missing=False):
        self.puts = []
        self.missing = missing

    def get(self, endpoint_id, api_version):
        if self.missing:
            raise ResourceNotFoundError("not found")
        return CURRENT

    def put_and_wait(self, endpoint_id, api_version, body):
        self.puts.append((endpoint_id, body))
        return body


def provider(fake):
    return EndpointTrafficProvider(client_factory=lambda: fake)


PROPS = {"endpointId": ENDPOINT_ID, "traffic": {"blue": 90, "green": 10}, "mirrorTraffic": {"shadow": 10},
         "endpointRevision": "r1"}


def test_create_puts_the_endpoint_back_with_the_split():
    fake = FakeClient()
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
    diff = provider(FakeClient()).diff("id", dict(PROPS), {**PROPS, "endpointRevision": "r2"})
    assert diff.changes and diff.replaces == []


def test_same_inputs_change_nothing():
    assert not provider(FakeClient()).diff("id", dict(PROPS), dict(PROPS)).changes


def test_a_state_that_still_holds_a_token_is_rewritten_without_it():
    diff = provider(FakeClient()).diff("id", {**PROPS, "token": "old-secret"}, dict(PROPS))
    assert diff.changes and diff.replaces == [], "an in-place update drops the stored token"


def test_delete_sets_every_share_to_zero():
    fake = FakeClient()
    provider(fake).delete("id", dict(PROPS))
    assert fake.puts[0][1]["properties"]["traffic"] == {"blue": 0, "green": 0}
    assert fake.puts[0][1]["properties"]["mirrorTraffic"] == {}


def test_delete_of_a_gone_endpoint_is_quiet():
    provider(FakeClient(missing=True)).delete("id", dict(PROPS))


# -- on the wire -------------------------------------------------------------------------------

OPERATION = "/subscriptions/s/providers/Microsoft.MachineLearningServices/locations/westeurope/mfeOperationsStatus/t1"


@pytest.fixture
def arm(tmp_path):
    fake = FakeArm(tmp_path)
    yield fake
    fake.close()


def wire_provider(arm: FakeArm, credential: FakeCredential) -> EndpointTrafficProvider:
    return EndpointTrafficProvider(client_factory=lambda: ArmClient(
        credential, base_url=arm.url, transport=RecordingTransport(arm.ca), poll_seconds=1))


def test_create_through_a_throttled_arm_and_a_slow_operation(arm):
    arm.answer("GET", ENDPOINT_ID, Answer(429, None, {"Retry-After": "1"}), DROP, Answer(200, CURRENT))
    arm.answer("PUT", ENDPOINT_ID, Answer(503), Answer(201, CURRENT, {"Azure-AsyncOperation": "{base}" + OPERATION}))
    arm.answer("GET", OPERATION, Answer(200, {"status": "Running"}), Answer(200, {"status": "Succeeded"}))
    credential = FakeCredential("asked-at-run-time")
    wire_provider(arm, credential).create(dict(PROPS))
    put = arm.calls("PUT", ENDPOINT_ID)[-1]
    assert put.body["properties"]["traffic"] == {"blue": 90, "green": 10}
    assert put.headers["Authorization"] == "Bearer asked-at-run-time"
    assert len(arm.calls("GET", OPERATION)) == 2, "the split counts as applied only once the operation succeeded"
    assert credential.scopes, "the token is asked for when the provider runs"


def test_delete_of_an_endpoint_arm_no_longer_has_is_quiet(arm):
    wire_provider(arm, FakeCredential()).delete("id", dict(PROPS))  # the fake answers 404
    assert not arm.calls("PUT", ENDPOINT_ID)


def test_the_provider_serializes_as_pulumi_stores_it():
    """Pulumi keeps the dill-serialized provider in the state (`__provider`): it must round-trip, and
    it holds a client factory, no client (a credential is made only when a call is made)."""
    blob = base64.b64decode(serialize_provider(EndpointTrafficProvider()))
    restored = dill.loads(blob)
    assert isinstance(restored, EndpointTrafficProvider) and restored.client_factory is ArmClient


def test_the_traffic_resource_has_no_credential_among_its_inputs(tmp_path):
    from tests.harness import synth

    traffic = synth("managed", tmp_path).one("pulumi-python:dynamic/mldeploy:EndpointTraffic")
    assert not [k for k in traffic["inputs"] if "token" in k.lower() or "key" in k.lower()], traffic["inputs"]
    assert "aad-access-token" not in json.dumps(traffic) and "arm-token" not in json.dumps(traffic)
    assert API_VERSION == "2025-12-01"
