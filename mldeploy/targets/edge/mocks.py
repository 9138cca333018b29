"""Synth's mock answers for IoT Edge (components/iot_edge.py): the hub's host name and its shared access keys."""
from __future__ import annotations

import base64

from mldeploy.targets.fakes import SUBSCRIPTION_ID, fake
from mldeploy.targets.target import MockDefaults


def _hub(n: str, i: dict, m) -> dict:
    return {"name": i.get("resourceName", n),
            "properties": {**(i.get("properties") or {}), "hostName": f"{i.get('resourceName', n)}.azure-devices.net"}}


def _get_hub(a: dict, m) -> dict:
    return {
        "name": a.get("resourceName"), "properties": {"hostName": f"{a.get('resourceName')}.azure-devices.net"},
        "id": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{a.get('resourceGroupName')}/providers/"
              f"Microsoft.Devices/IotHubs/{a.get('resourceName')}",
    }


def _hub_keys(a: dict, m) -> dict:
    def key(n: str) -> str:
        return m.secret(base64.b64encode(
            fake("iothub", m.stack, a.get("resourceName", ""), a.get("keyName", ""), n).encode()).decode())
    return {
        "keyName": a.get("keyName"),
        "rights": "RegistryWrite, ServiceConnect, DeviceConnect" if a.get("keyName") == "iothubowner"
        else "RegistryRead, RegistryWrite",
        "primaryKey": key("1"),
        "secondaryKey": key("2"),
    }


MOCKS = MockDefaults(
    outputs={"azure-native:iothub:IotHubResource": _hub},
    calls={"azure-native:iothub:getIotHubResource": _get_hub,
           "azure-native:iothub:listIotHubResourceKeysForKeyName": _hub_keys},
)
