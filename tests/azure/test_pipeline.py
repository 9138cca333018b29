"""The ARM client every hand-made Azure call goes through (mldeploy/azure/pipeline.py), on the wire
against a fake ARM (tests/azure/fake_arm.py): throttling, server errors, slow long-running
operations and dropped connections, as a real `pulumi up` meets them (issue 20 item 8)."""
from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from mldeploy.azure.pipeline import ARM_SCOPE, ArmClient
from tests.azure.fake_arm import DROP, Answer, FakeArm, FakeCredential, RecordingTransport

RESOURCE = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/onlineEndpoints/e"
OPERATION = "/subscriptions/s/providers/Microsoft.MachineLearningServices/locations/westeurope/mfeOperationsStatus/op1"
BODY = {"location": "westeurope", "properties": {"traffic": {"blue": 100}, "provisioningState": "Succeeded"}}


@pytest.fixture
def arm(tmp_path):
    fake = FakeArm(tmp_path)
    yield fake
    fake.close()


def client(arm: FakeArm, credential=None) -> tuple[ArmClient, RecordingTransport]:
    transport = RecordingTransport(arm.ca)
    return ArmClient(credential or FakeCredential(), base_url=arm.url, transport=transport, poll_seconds=5), transport


def test_a_throttled_call_waits_the_retry_after_and_succeeds(arm):
    arm.answer("GET", RESOURCE, Answer(429, {"error": {"code": "TooManyRequests"}}, {"Retry-After": "17"}),
               Answer(200, BODY))
    c, transport = client(arm)
    assert c.get(RESOURCE, "2025-12-01") == BODY
    assert len(arm.calls("GET", RESOURCE)) == 2, "the 429 is retried"
    assert transport.slept == [17.0], "ARM's Retry-After is waited out before the retry"


def test_a_503_is_retried(arm):
    arm.answer("GET", RESOURCE, Answer(503), Answer(503), Answer(200, BODY))
    c, _ = client(arm)
    assert c.get(RESOURCE, "2025-12-01") == BODY
    assert len(arm.calls("GET", RESOURCE)) == 3


def test_a_dropped_connection_is_retried(arm):
    arm.answer("GET", RESOURCE, DROP, Answer(200, BODY))
    c, _ = client(arm)
    assert c.get(RESOURCE, "2025-12-01") == BODY
    assert len(arm.calls("GET", RESOURCE)) == 2


def test_retries_end_with_the_status_in_the_error(arm):
    arm.answer("GET", RESOURCE, Answer(503, {"error": {"code": "ServiceUnavailable"}}))
    c, _ = client(arm)
    with pytest.raises(HttpResponseError) as err:
        c.get(RESOURCE, "2025-12-01")
    assert err.value.status_code == 503
    assert len(arm.calls("GET", RESOURCE)) == 4, "azure-core's default: 3 retries of a retryable status"


def test_a_missing_resource_is_a_typed_404_not_a_message_match(arm):
    c, _ = client(arm)
    with pytest.raises(ResourceNotFoundError) as err:
        c.get(RESOURCE, "2025-12-01")
    assert err.value.status_code == 404


def test_the_token_comes_from_the_credential_for_the_arm_audience(arm):
    arm.answer("GET", RESOURCE, Answer(200, BODY))
    credential = FakeCredential("token-of-this-run")
    c = ArmClient(credential, base_url=arm.url, transport=RecordingTransport(arm.ca))
    c.get(RESOURCE, "2025-12-01")
    seen = arm.calls("GET", RESOURCE)[0]
    assert seen.headers["Authorization"] == "Bearer token-of-this-run"
    assert seen.query == "api-version=2025-12-01"


def test_the_default_scope_is_arms():
    assert ARM_SCOPE == "https://management.azure.com/.default"


def test_a_slow_put_is_polled_through_azure_asyncoperation(arm):
    arm.answer("PUT", RESOURCE, Answer(201, BODY, {"Azure-AsyncOperation": "{base}" + OPERATION}))
    arm.answer("GET", OPERATION, Answer(200, {"status": "InProgress"}, {"Retry-After": "3"}),
               Answer(200, {"status": "InProgress"}, {"Retry-After": "3"}), Answer(200, {"status": "Succeeded"}))
    arm.answer("GET", RESOURCE, Answer(200, BODY))
    c, transport = client(arm)
    assert c.put_and_wait(RESOURCE, "2025-12-01", BODY) == BODY
    assert len(arm.calls("GET", OPERATION)) == 3, "polled until Succeeded"
    assert transport.slept[:2] == [3.0, 3.0], "each poll waits the operation's Retry-After"
    assert arm.calls("PUT", RESOURCE)[0].body == BODY


def test_a_slow_put_is_polled_through_location(arm):
    location = "/subscriptions/s/providers/Microsoft.MachineLearningServices/locations/westeurope/operationResults/op2"
    arm.answer("PUT", RESOURCE, Answer(202, None, {"Location": "{base}" + location}))
    arm.answer("GET", location, Answer(202), Answer(202), Answer(200, BODY))
    c, transport = client(arm)
    assert c.put_and_wait(RESOURCE, "2025-12-01", BODY) == BODY
    assert len(arm.calls("GET", location)) == 3
    assert transport.slept == [5.0, 5.0], "no Retry-After: the client's polling interval"


def test_a_failed_operation_raises_with_its_status(arm):
    arm.answer("PUT", RESOURCE, Answer(201, BODY, {"Azure-AsyncOperation": "{base}" + OPERATION}))
    arm.answer("GET", OPERATION, Answer(200, {"status": "Failed", "error": {"code": "BadTraffic",
                                                                             "message": "no such deployment"}}))
    c, _ = client(arm)
    with pytest.raises(HttpResponseError, match="no such deployment|Failed"):
        c.put_and_wait(RESOURCE, "2025-12-01", BODY)


def test_a_throttled_poll_is_retried_too(arm):
    arm.answer("PUT", RESOURCE, Answer(201, BODY, {"Azure-AsyncOperation": "{base}" + OPERATION}))
    arm.answer("GET", OPERATION, Answer(429, None, {"Retry-After": "2"}), DROP, Answer(200, {"status": "Succeeded"}))
    arm.answer("GET", RESOURCE, Answer(200, BODY))
    c, _ = client(arm)
    assert c.put_and_wait(RESOURCE, "2025-12-01", BODY) == BODY
    assert len(arm.calls("GET", OPERATION)) == 3


def test_a_read_only_post_is_retried_after_a_dropped_connection(arm):
    action = RESOURCE + "/listKeys"
    arm.answer("POST", action, DROP, Answer(503), Answer(200, {"primaryKey": "k"}))
    c, _ = client(arm)
    assert c.post(action, "2025-12-01") == {"primaryKey": "k"}
    assert len(arm.calls("POST", action)) == 3
