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


# -- refresh, then up: the split survives (issue 19) ---------------------------------------------

class LiveEndpoint:
    """ARM's side of one endpoint: a PUT replaces it whole; a PUT without traffic leaves none
    (microsoft/genaiops-promptflow-template issue #182)."""

    def __init__(self):
        self.state = {"location": "westeurope", "tags": {"environment": "managed"},
                      "identity": {"type": "UserAssigned", "userAssignedIdentities": {"/id/x": {"principalId": "p"}}},
                      "properties": {"authMode": "Key", "description": "d", "provisioningState": "Succeeded"}}
        self.puts = []

    def get(self, endpoint_id, api_version):
        return json.loads(json.dumps(self.state))

    def put_and_wait(self, endpoint_id, api_version, body):
        self.puts.append(body)
        self.state = {**json.loads(json.dumps(body)),
                      "properties": {**body["properties"], "provisioningState": "Succeeded"}}
        self.state["properties"].setdefault("traffic", {})

    def azure_native_put(self, inputs):
        """What azure-native's Update PUTs: the body from the recorded inputs only (provider.go
        defaultUpdate -> PrepareAzureRESTBody); no traffic unless the inputs carry it."""
        self.put_and_wait("id", API_VERSION, {"location": self.state["location"], "tags": inputs.get("tags", {}),
                                 "identity": self.state["identity"], "properties": dict(inputs["properties"])})


def _reset(path: str, old: dict, new: dict) -> None:
    """Pulumi's ignoreChanges for one path (pkg/resource/deploy/step_generator.go
    processIgnoreChanges -> PropertyPath.Reset): the old input's value, or none if it had none."""
    *parents, leaf = path.split(".")
    for part in parents:
        old, new = old.get(part, {}), new.setdefault(part, {})
    if leaf in old:
        new[leaf] = old[leaf]
    else:
        new.pop(leaf, None)


def _azure_native_up(live, recorded: dict, program: dict, ignore: list[str]) -> dict:
    """One `pulumi up` of the OnlineEndpoint: ignoreChanges applied, a PUT only if inputs differ."""
    news = json.loads(json.dumps(program))
    for path in ignore:
        _reset(path, recorded, news)
    if news != recorded:
        live.azure_native_put(news)
    return news


def _refresh(live, recorded: dict) -> dict:
    """`pulumi refresh` of the OnlineEndpoint: what changed live since the last write is written
    into the recorded inputs (provider.go Read: old inputs + diff of old and new output projections)."""
    inputs = json.loads(json.dumps(recorded))
    inputs["properties"]["traffic"] = dict(live.state["properties"].get("traffic") or {})
    inputs["tags"] = dict(live.state.get("tags") or {})
    return inputs


def _endpoint_program(tags):
    return {"tags": dict(tags), "properties": {"authMode": "Key", "description": "d"}}


def _traffic_up(et, state: dict, program: dict) -> dict:
    """One `pulumi up` of EndpointTraffic: the provider's diff decides, update applies."""
    if et.diff("id", state, program).changes:
        return dict(et.update("id", state, program).outs)
    return state


def test_refresh_then_up_keeps_the_split_and_a_tag_change_never_serves_nothing():
    from mldeploy.components.online_endpoint import ENDPOINT_OWNED_BY_TRAFFIC

    live = LiveEndpoint()
    et = EndpointTrafficProvider(client_factory=lambda: live)
    tags = {"environment": "managed", "mldeploy-split": "deployments"}
    split = {**PROPS, "settings": {"tags": tags, "description": "d", "authMode": "Key"}}
    # First up: the endpoint is created without traffic, then EndpointTraffic sets the split.
    recorded = _endpoint_program(tags)
    state = dict(et.create(dict(split)).outs)
    assert live.state["properties"]["traffic"] == {"blue": 90, "green": 10}

    # refresh writes the live split into the endpoint's recorded inputs; the next up must not wipe it.
    recorded = _refresh(live, recorded)
    state = dict(et.read("id", state).outs)
    puts = len(live.puts)
    recorded = _azure_native_up(live, recorded, _endpoint_program(tags), ENDPOINT_OWNED_BY_TRAFFIC)
    state = _traffic_up(et, state, split)
    assert len(live.puts) == puts, "refresh + up with no change must PUT nothing"
    assert live.state["properties"]["traffic"] == {"blue": 90, "green": 10}

    # A tag change: one PUT, by EndpointTraffic, with the split in it - never a body without traffic.
    new_tags = {**tags, "owner": "ml-platform"}
    recorded = _azure_native_up(live, recorded, _endpoint_program(new_tags), ENDPOINT_OWNED_BY_TRAFFIC)
    state = _traffic_up(et, state, {**split, "settings": {**split["settings"], "tags": new_tags}})
    assert [p["properties"].get("traffic") for p in live.puts[puts:]] == [{"blue": 90, "green": 10}], \
        "every PUT of a tag change must carry the split"
    assert live.state["tags"] == new_tags


def test_without_ignore_changes_refresh_then_up_would_wipe_the_split():
    """The failure the options prevent (issue 19 item 3), replayed on the same fakes."""
    live = LiveEndpoint()
    et = EndpointTrafficProvider(client_factory=lambda: live)
    tags = {"environment": "managed"}
    et.create({**PROPS, "settings": {"tags": tags}})
    recorded = _refresh(live, _endpoint_program(tags))
    _azure_native_up(live, recorded, _endpoint_program(tags), ignore=[])
    assert live.state["properties"]["traffic"] == {}, "the fake must model the wipe for the test above to mean anything"


def test_a_split_changed_outside_pulumi_is_reapplied_after_refresh():
    live = LiveEndpoint()
    et = EndpointTrafficProvider(client_factory=lambda: live)
    state = dict(et.create(dict(PROPS)).outs)
    live.state["properties"]["traffic"] = {}  # e.g. an endpoint PUT elsewhere, or a portal edit
    state = dict(et.read("id", state).outs)
    _traffic_up(et, state, dict(PROPS))
    assert live.state["properties"]["traffic"] == {"blue": 90, "green": 10}, "the next up must re-apply the split"


def test_a_change_azure_native_still_puts_reapplies_the_split_in_the_same_run():
    """identity, compute, keys: azure-native's PUT drops the split; the revision re-applies it."""
    live = LiveEndpoint()
    et = EndpointTrafficProvider(client_factory=lambda: live)
    state = dict(et.create(dict(PROPS)).outs)
    live.azure_native_put(_endpoint_program({}))  # e.g. a new identity: the PUT has no traffic
    _traffic_up(et, state, {**PROPS, "endpointRevision": "r2"})
    assert live.state["properties"]["traffic"] == {"blue": 90, "green": 10}


def test_a_gone_endpoint_reads_as_gone():
    assert provider(FakeClient(missing=True)).read("id", dict(PROPS)).id is None


def test_settings_are_sent_with_the_split():
    body = with_traffic(CURRENT, {"blue": 100}, {}, {"tags": {"x": "y"}, "description": "new", "authMode": "AMLToken"})
    assert (body["tags"], body["properties"]["description"], body["properties"]["authMode"]) == \
        ({"x": "y"}, "new", "AMLToken"), "tags, description and authMode travel in the split's PUT"
