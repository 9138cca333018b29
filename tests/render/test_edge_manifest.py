"""The IoT Edge manifest renderer against Microsoft's deployment schema and the size rules."""
from __future__ import annotations

import copy
import json

import pytest

from mldeploy.plan.edge import ScoringModule
from mldeploy.targets.edge.plan import default_routes
from mldeploy.render.edge_manifest import RegistryCredentials, base_manifest, masked, registry_key, render_manifest
from tests.edge_schema import edge_deployment_schema, manifest_errors

CREDS = RegistryCredentials("crdemo123.azurecr.io", "crdemo123", "p@ss/word+=")
IMAGE = "crdemo123.azurecr.io/diabetes@sha256:" + "a" * 64


def manifest(**module) -> dict:
    spec = dict(name="diabetes", image=IMAGE, port=5001, host_port=5001, env={"WORKER_COUNT": "1"})
    spec.update(module)
    return render_manifest(ScoringModule(**spec), CREDS, default_routes("diabetes"))


def agent(m: dict) -> dict:
    return m["modulesContent"]["$edgeAgent"]["properties.desired"]


def test_the_offline_schema_is_microsofts_2_0_deployment_schema():
    schema = edge_deployment_schema()
    assert schema["id"] == "https://json.schemastore.org/azure-iot-edge-deployment-2.0.json"
    assert schema["required"] == ["modulesContent"]


def test_rendered_manifest_passes_the_official_schema():
    assert manifest_errors(manifest()) == []


@pytest.mark.parametrize("break_it, words", [
    (lambda m: m["modulesContent"].pop("$edgeHub"), "'$edgeHub' is a required property"),
    (lambda m: agent(m)["modules"]["diabetes"].__setitem__("restartPolicy", "sometimes"), "is not one of"),
    (lambda m: agent(m)["modules"]["diabetes"]["settings"].pop("image"), "'image' is a required property"),
    (lambda m: agent(m)["runtime"]["settings"]["registryCredentials"]["crdemo123"].pop("password"),
     "'password' is a required property"),
    (lambda m: agent(m)["modules"]["diabetes"]["settings"].__setitem__("createOptions", "x" * 600), "at most 512"),
    (lambda m: agent(m)["modules"]["diabetes"]["settings"].__setitem__("createOptions", "{not json"), "not valid JSON"),
    (lambda m: agent(m)["modules"]["diabetes"]["settings"].__setitem__("createOptions03", "}"), "consecutive"),
])
def test_a_broken_manifest_fails(break_it, words):
    broken = copy.deepcopy(manifest())
    break_it(broken)
    errors = manifest_errors(broken)
    assert any(words in e for e in errors), f"expected an error with {words!r}, got {errors}"


def test_module_carries_image_port_binding_env_and_restart_policy():
    module = agent(manifest(restart_policy="on-failure"))["modules"]["diabetes"]
    assert module["settings"]["image"] == IMAGE
    assert module["restartPolicy"] == "on-failure" and module["status"] == "running"
    options = json.loads(module["settings"]["createOptions"])
    assert options["HostConfig"]["PortBindings"] == {"5001/tcp": [{"HostPort": "5001"}]}
    assert options["ExposedPorts"] == {"5001/tcp": {}}
    assert options["Env"] == ["WORKER_COUNT=1"]


def test_registry_credentials_come_from_the_registry():
    creds = agent(manifest())["runtime"]["settings"]["registryCredentials"]
    assert creds == {"crdemo123": {"address": "crdemo123.azurecr.io", "username": "crdemo123", "password": "p@ss/word+="}}
    assert registry_key("my.reg$istry.azurecr.io") == "my"


def test_routes_go_upstream_and_system_modules_are_pinned_to_the_runtime_version():
    m = manifest()
    assert m["modulesContent"]["$edgeHub"]["properties.desired"]["routes"] == {
        "diabetesToIoTHub": "FROM /messages/modules/diabetes/outputs/* INTO $upstream"}
    system = agent(m)["systemModules"]
    assert system["edgeAgent"]["settings"]["image"].endswith("azureiotedge-agent:1.6")
    assert system["edgeHub"]["settings"]["image"].endswith("azureiotedge-hub:1.6")


def test_long_create_options_are_split_into_512_character_chunks_that_pass_the_rules():
    labels = {f"label{i}": "v" * 40 for i in range(40)}
    m = manifest(extra_create_options={"Labels": labels})
    settings = agent(m)["modules"]["diabetes"]["settings"]
    chunks = sorted(k for k in settings if k.startswith("createOptions"))
    assert chunks[:3] == ["createOptions", "createOptions01", "createOptions02"]
    assert all(len(settings[k]) <= 512 for k in chunks)
    assert json.loads("".join(settings[k] for k in chunks))["Labels"] == labels
    assert manifest_errors(m) == []


def test_masked_copy_hides_user_and_password_only():
    creds = agent(masked(manifest()))["runtime"]["settings"]["registryCredentials"]["crdemo123"]
    assert creds == {"address": "crdemo123.azurecr.io", "username": "[secret]", "password": "[secret]"}


def test_base_manifest_keeps_the_runtime_and_drops_the_module():
    base = base_manifest(manifest())
    assert agent(base)["modules"] == {}
    assert base["modulesContent"]["$edgeHub"]["properties.desired"]["routes"] == {}
    assert manifest_errors(base) == []


@pytest.mark.parametrize("name", ["edgeAgent", "bad name"])
def test_reserved_or_invalid_module_names_are_refused(name):
    with pytest.raises(ValueError):
        manifest(name=name)
