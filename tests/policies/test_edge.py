"""edge-modules-unprivileged (policies/edge.py): createOptions that hand a module the device, by
hand and on the edge stack's real manifest under Pulumi's mocks."""
from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from mldeploy.synth.policy import evaluate
from tests.harness import ROOT, synth
from tests.policies.helpers import check, res

DEPLOYMENT = "pulumi-python:dynamic/iotedge:Deployment"


def _manifest(create_options, split: bool = False):
    text = json.dumps(create_options)
    settings = ({"createOptions": text[:20], "createOptions01": text[20:]} if split else {"createOptions": text})
    return res(DEPLOYMENT, {"content": {"modulesContent": {"$edgeAgent": {"properties.desired": {
        "modules": {"diabetes": {"type": "docker", "settings": {"image": "cr.azurecr.io/d@sha256:" + "a" * 64,
                                                               **settings}}},
        "systemModules": {"edgeHub": {"settings": {"createOptions": json.dumps(
            {"HostConfig": {"PortBindings": {"443/tcp": [{"HostPort": "443"}]}}})}}}}}}}}, "edge")


def test_ports_logs_and_env_pass():
    ok = {"Env": ["WORKER_COUNT=1"], "HostConfig": {"PortBindings": {"5001/tcp": [{"HostPort": "5001"}]},
                                                     "LogConfig": {"Type": "json-file"}, "Binds": ["/data:/data"]}}
    assert check("edge-modules-unprivileged", _manifest(ok)) == []
    assert check("edge-modules-unprivileged", _manifest(ok, split=True)) == []


@pytest.mark.parametrize("host, problem", [
    ({"Privileged": True}, "HostConfig.Privileged is true"),
    ({"PidMode": "host"}, "HostConfig.PidMode is host"),
    ({"CapAdd": ["SYS_ADMIN"]}, "HostConfig.CapAdd adds SYS_ADMIN"),
    ({"Binds": ["/var/run/docker.sock:/var/run/docker.sock"]}, "container engine's socket"),
])
def test_each_privilege_is_reported(host, problem):
    for split in (False, True):
        messages = check("edge-modules-unprivileged", _manifest({"HostConfig": host}, split))
        assert len(messages) == 1 and problem in messages[0] and "'diabetes'" in messages[0], messages


def test_host_network_is_its_own_rule_advisory_by_default():
    from policies.config import default_enforcement
    from pulumi_policy import EnforcementLevel

    manifest = _manifest({"HostConfig": {"NetworkMode": "host"}})
    assert check("edge-modules-unprivileged", manifest) == []
    messages = check("edge-modules-host-network", manifest)
    assert len(messages) == 1 and "NetworkMode is host" in messages[0] and "'diabetes'" in messages[0], messages
    assert default_enforcement("edge-modules-host-network") == EnforcementLevel.ADVISORY
    assert default_enforcement("edge-modules-unprivileged") == EnforcementLevel.MANDATORY


def test_the_edge_stack_passes_and_a_privileged_module_trips_the_rule(tmp_path):
    result = synth("edge", tmp_path)

    def privileged(rs):
        r = next(r for r in rs if r["type"] == DEPLOYMENT)
        module = r["inputs"]["content"]["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]["diabetes"]
        options = json.loads(module["settings"]["createOptions"])
        options.setdefault("HostConfig", {})["Privileged"] = True
        module["settings"]["createOptions"] = json.dumps(options)

    resources = copy.deepcopy(result.resources)
    assert evaluate(result, ROOT) == []
    privileged(resources)
    found = [v.policy for v in evaluate(dataclasses.replace(result, resources=resources), ROOT)]
    assert found == ["edge-modules-unprivileged"], found
