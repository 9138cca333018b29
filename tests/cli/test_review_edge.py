"""An IoT Edge deployment replaced, updated on its device or deleted: `mldeploy diff` says what the
devices do (mldeploy/cli/review.py `_edge_rollout`), not only that `deploymentId` changed - on two
synths of the edge stack."""
from __future__ import annotations

import pytest

from mldeploy.cli.diffing import Side, compare
from mldeploy.cli.review import warnings
from tests.harness import stack_values, synth


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return _edge(tmp_path_factory.mktemp("edge"), "base")


def _edge(tmp_path, name, change=None):
    values, secret_keys = stack_values("edge")
    if change is not None:
        change(values["mldeploy:edge"]["clinics"])
    return synth("edge", tmp_path / name, values, secret_keys)


def _alerts(before, after):
    d = compare("edge", Side("`main`", before.resources, {}), Side("working tree", after.resources, {}))
    return [a for a in warnings(d) if a.kind == "edge-rollout"]


def test_a_replaced_at_scale_deployment_says_what_the_devices_do(base, tmp_path):
    """A module's env changed gives a new deploymentId: the diff said only the provider's reason."""
    changed = _edge(tmp_path, "env", lambda e: e["env"].update(WORKER_COUNT="2"))
    (alert,) = _alerts(base, changed)
    m = alert.message
    assert m.startswith("`edge.clinics`: its IoT Edge deployment is replaced, `mldeploy-clinics-"), m
    assert "(`diabetes.settings.createOptions.Env[WORKER_COUNT].value`; IoT Hub cannot change a deployment's content)" in m, m
    assert "creates the new one first, at priority 10, and every device that `tags.model='diabetes' AND " \
           "tags.environment='edge'` matches switches to it as soon as it is created" in m, m
    assert "IoT Edge restarts `diabetes` on each, and it does not score until it is up again" in m, m
    assert "on all those devices at once" in m and "Then the old one is deleted." in m, m


def test_a_lower_priority_and_a_new_condition_say_when_devices_switch_and_who_is_left(base, tmp_path):
    def change(entry):
        entry["env"]["WORKER_COUNT"] = "2"
        entry["priority"] = 5
        entry["targetCondition"] = "tags.model='diabetes' AND tags.ring='1'"

    (alert,) = _alerts(base, _edge(tmp_path, "ring", change))
    assert "switches to it when the old one is deleted, after it (the old one's priority is higher)" in alert.message
    assert "a device only the old condition matched takes its next-highest-priority deployment or, with none, " \
           "keeps running `diabetes` unmanaged" in alert.message, alert.message


def test_removing_an_edge_entry_says_the_modules_keep_running(base, tmp_path):
    values, secret_keys = stack_values("edge")
    values["mldeploy:edge"]["labs"] = values["mldeploy:edge"].pop("clinics")  # the entry renamed: clinics goes
    values["mldeploy:edge"]["labs"]["iotHub"]["name"] = "iot-mldeploy-edge-labs"
    alerts = _alerts(base, synth("edge", tmp_path / "gone", values, secret_keys))
    gone = [a for a in alerts if a.message.startswith("`edge.clinics`")]
    assert len(gone) == 1, alerts
    assert "is deleted: each device it applied to takes its next-highest-priority deployment, and a device no " \
           "other deployment targets keeps running `diabetes`, unmanaged: IoT Hub removes no module" in gone[0].message


def test_a_change_that_keeps_the_content_says_nothing(base, tmp_path):
    assert _alerts(base, _edge(tmp_path, "labels", lambda e: e["labels"].update(ring="1"))) == []


def _device_deployment(worker_count: str) -> dict:
    module = {"settings": {"image": "cr.azurecr.io/diabetes@sha256:" + "a" * 64,
                           "createOptions": '{"Env": ["WORKER_COUNT=%s"]}' % worker_count}}
    return {"urn": "urn:pulumi:edge::mldeploy::mldeploy:edge:IotEdgeDeployment$pulumi-python:dynamic/iotedge:Deployment"
                   "::edge-gate-deployment",
            "type": "pulumi-python:dynamic/iotedge:Deployment", "name": "edge-gate-deployment",
            "inputs": {"deviceId": "gate-1", "hubHostName": "h.azure-devices.net",
                       "content": {"modulesContent": {"$edgeAgent": {"properties.desired": {
                           "modules": {"diabetes": module}}}}}}}


def test_a_device_deployment_says_the_module_restarts_there_and_its_removal_stops_it():
    def said(before, after):
        d = compare("edge", Side("`main`", before, {}), Side("working tree", after, {}))
        return [a.message for a in warnings(d) if a.kind == "edge-rollout"]

    (message,) = said([_device_deployment("1")], [_device_deployment("2")])
    assert message.startswith("`edge-gate-deployment`: the new manifest is applied to device `gate-1` "
                              "(`diabetes.settings.createOptions.Env[WORKER_COUNT].value`): IoT Edge restarts "
                              "`diabetes` there"), message
    (message,) = said([_device_deployment("1")], [])
    assert "the runtime-only manifest is applied to device `gate-1`: IoT Edge stops and removes `diabetes` there" \
           in message, message
