"""The IoT Hub service client (mldeploy/azure/iothub.py) on the wire against a fake hub
(tests/azure/fake_arm.py): throttling and dropped connections are retried, each attempt signed."""
from __future__ import annotations

import base64

import pytest

from mldeploy.azure.iothub import IotHubError, IotHubRestClient
from tests.azure.fake_arm import DROP, Answer, FakeArm, RecordingTransport

APPLY = "/devices/dev1/applyConfigurationContent"
KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@pytest.fixture
def hub(tmp_path):
    fake = FakeArm(tmp_path)
    yield fake
    fake.close()


def client(hub: FakeArm, transport=None) -> IotHubRestClient:
    return IotHubRestClient("hub.azure-devices.net", "iothubowner", KEY, base_url=hub.url,
                            transport=transport or RecordingTransport(hub.ca))


def test_a_throttled_apply_waits_the_retry_after_and_is_sent_again(hub):
    hub.answer("POST", APPLY, Answer(429, {"Message": "throttled"}, {"Retry-After": "6"}), DROP, Answer(200, {}))
    transport = RecordingTransport(hub.ca)
    client(hub, transport).apply_on_device("dev1", {"modulesContent": {}})
    calls = hub.calls("POST", APPLY)
    assert len(calls) == 3, "429 and a dropped connection are retried"
    assert transport.slept[0] == 6.0
    assert all(c.headers["Authorization"].startswith("SharedAccessSignature sr=hub.azure-devices.net&sig=")
               for c in calls), "every attempt is signed"
    assert calls[-1].body == {"modulesContent": {}}


def test_a_configuration_the_hub_no_longer_has_is_absent(hub):
    assert client(hub).get_configuration("gone") is None  # the fake answers 404


def test_a_refusal_carries_the_status(hub):
    hub.answer("PUT", "/configurations/bad", Answer(400, {"Message": "bad content"}))
    with pytest.raises(IotHubError) as err:
        client(hub).put_configuration({"id": "bad"})
    assert err.value.status == 400 and "bad content" in str(err.value)
