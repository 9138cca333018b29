"""IotEdgeDeployment: hub, registry credentials as secrets, the manifest applied through IoT
Hub by a dynamic provider (tested with a fake service and against a loopback REST server)."""
from __future__ import annotations

import shutil

import base64
import json
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import yaml

from mldeploy.components.iot_edge_provider import IotEdgeDeploymentProvider
from mldeploy.config import ConfigError
from mldeploy.azure.iothub import IotHubError, IotHubRestClient, sas_token
from mldeploy.synth.write import write_result
from tests.edge_schema import manifest_errors
from tests.harness import ROOT, stack_values, synth

DYNAMIC = "pulumi-python:dynamic/iotedge:Deployment"


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    out = tmp_path_factory.mktemp("edge")
    result = synth("edge", out / "images")
    write_result(result, out)
    return result, out


def test_hub_is_created_with_sku_and_tls12(edge):
    result, _ = edge
    hub = result.one("azure-native:iothub:IotHubResource")["inputs"]
    assert hub["resourceName"] == "iot-mldeploy-edge-clinics"
    assert hub["sku"] == {"name": "S1", "capacity": 1}
    assert hub["properties"]["minTlsVersion"] == "1.2"


def test_written_manifest_has_the_scoring_module_and_masked_credentials(edge):
    result, out = edge
    manifest = json.loads((out / "iot-edge" / "clinics.json").read_text())
    desired = manifest["modulesContent"]["$edgeAgent"]["properties.desired"]
    module = desired["modules"]["diabetes"]
    assert "/diabetes@sha256:" in module["settings"]["image"], "the module pulls the image by digest"
    creds = list(desired["runtime"]["settings"]["registryCredentials"].values())
    assert len(creds) == 1 and creds[0]["address"].endswith(".azurecr.io")
    assert creds[0]["username"] == creds[0]["password"] == "[secret]"
    assert manifest_errors(manifest) == []
    text = (out / "iot-edge" / "clinics.json").read_text()
    for secret in result.secrets:
        assert secret not in text


def test_applied_content_and_keys_are_secret(edge):
    result, _ = edge
    deployment = result.one(DYNAMIC)["inputs"]
    assert "accessKey" not in deployment, "issue 20 item 8: the hub key is read at run time, never stored"
    assert deployment["hubId"].endswith("/providers/Microsoft.Devices/IotHubs/iot-mldeploy-edge-clinics")
    creds = deployment["content"]["modulesContent"]["$edgeAgent"]["properties.desired"]["runtime"]["settings"]
    assert all(c["password"] == "[secret]" for c in creds["registryCredentials"].values())
    assert result.leaks == []


def test_at_scale_deployment_targets_the_condition_with_priority(edge):
    result, _ = edge
    deployment = result.one(DYNAMIC)["inputs"]
    assert deployment["targetCondition"] == "tags.model='diabetes' AND tags.environment='edge'"
    assert deployment["priority"] == 10
    assert deployment.get("deviceId") is None
    assert deployment["hubHostName"] == "iot-mldeploy-edge-clinics.azure-devices.net"
    assert deployment["deploymentId"].startswith("mldeploy-clinics-")
    assert deployment["accessPolicy"] == "iothubowner", "registryReadWrite lacks ServiceConnect (twin writes)"


def test_one_device_deployment(tmp_path):
    values, keys = stack_values("edge")
    entry = values["mldeploy:edge"]["clinics"]
    del entry["targetCondition"], entry["priority"], entry["labels"]  # labels: at-scale only
    entry["deviceId"] = "clinic-42"
    result = synth("edge", tmp_path, values, keys)
    deployment = result.one(DYNAMIC)["inputs"]
    assert deployment["deviceId"] == "clinic-42" and deployment.get("targetCondition") is None
    assert result.outputs["edge"]["clinics"]["target"] == {"deviceId": "clinic-42"}


def test_existing_hub_is_looked_up_not_created(tmp_path):
    values, keys = stack_values("edge")
    values["mldeploy:edge"]["clinics"]["iotHub"] = {"name": "iot-shared", "existing": True, "resourceGroup": "rg-iot"}
    result = synth("edge", tmp_path, values, keys)
    assert result.of_type("azure-native:iothub:IotHubResource") == []
    assert result.one(DYNAMIC)["inputs"]["hubHostName"] == "iot-shared.azure-devices.net"
    assert result.one(DYNAMIC)["inputs"]["hubId"].endswith("/resourceGroups/rg-iot/providers/Microsoft.Devices/IotHubs/iot-shared")


def test_content_change_gives_a_new_deployment_id(tmp_path):
    values, keys = stack_values("edge")
    values["mldeploy:edge"]["clinics"]["env"]["WORKER_COUNT"] = "2"
    before = synth("edge", tmp_path / "a").one(DYNAMIC)["inputs"]["deploymentId"]
    after = synth("edge", tmp_path / "b", values, keys).one(DYNAMIC)["inputs"]["deploymentId"]
    assert before != after


# -- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("change, key, words", [
    (lambda e: (e.pop("targetCondition"), e.pop("priority")), "mldeploy:edge.clinics", "exactly one of deviceId"),
    (lambda e: e.update(deviceId="d1"), "mldeploy:edge.clinics", "exactly one of deviceId"),
    (lambda e: e.update(createOptions={"Labels": {"big": "x" * 5000}}), "mldeploy:edge.clinics.createOptions",
     "IoT Edge takes at most 4096"),
    (lambda e: e.update(registryAdminUser=False), "mldeploy:edge.clinics", "registryAdminUser must be true"),
    (lambda e: e.update(restartPolicy="sometimes"), "mldeploy:edge.clinics.restartPolicy", "'always'"),
    (lambda e: e["iotHub"].update(sku="B1"), "mldeploy:edge.clinics.iotHub.sku", "'S1'"),
])
def test_bad_edge_settings_are_one_clear_config_error(tmp_path, change, key, words):
    values, keys = stack_values("edge")
    change(values["mldeploy:edge"]["clinics"])
    with pytest.raises(ConfigError) as err:
        synth("edge", tmp_path, values, keys)
    assert err.value.key == key, str(err.value)
    assert words in err.value.message, err.value.message


def test_cli_exits_2_for_an_edge_deployment_without_device_or_condition(tmp_path):
    project = tmp_path / "p"
    (project / "stacks").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    shutil.copytree(ROOT / "examples", project / "examples", ignore=shutil.ignore_patterns("__pycache__"))  # a link out of the project is refused
    doc = yaml.safe_load((ROOT / "stacks/Pulumi.edge.yaml").read_text())
    entry = doc["config"]["mldeploy:edge"]["clinics"]
    del entry["targetCondition"], entry["priority"]
    (project / "stacks/Pulumi.edge.yaml").write_text(yaml.safe_dump(doc))
    proc = subprocess.run([sys.executable, "-m", "mldeploy", "synth", "--stack", "edge", "--out", str(tmp_path / "o")],
                          cwd=project, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: stacks/Pulumi.edge.yaml: mldeploy:edge.clinics: set exactly one of deviceId")


# -- the dynamic provider, with a fake IoT Hub ------------------------------------------------

class FakeHub:
    """Records calls; keeps configurations with etags like IoT Hub does."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.configs: dict[str, dict] = {}
        self.devices: dict[str, dict] = {}

    def put_configuration(self, config, etag=None):
        self.calls.append(("put", config["id"], etag))
        current = self.configs.get(config["id"])
        if current is None and etag is not None:
            raise IotHubError(404, "not found")
        if current is not None and etag != current["etag"]:
            raise IotHubError(412, "etag mismatch")
        stored = {**config, "etag": f"etag-{len(self.calls)}"}
        self.configs[config["id"]] = stored
        return stored

    def get_configuration(self, config_id):
        self.calls.append(("get", config_id))
        return self.configs.get(config_id)

    def delete_configuration(self, config_id):
        self.calls.append(("delete", config_id))
        self.configs.pop(config_id, None)

    def apply_on_device(self, device_id, content):
        self.calls.append(("apply", device_id))
        self.devices[device_id] = content


HUB_ID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Devices/IotHubs/hub"
CONTENT = {"modulesContent": {"$edgeAgent": {"properties.desired": {"modules": {"m": {}}}}}}
BASE = {"modulesContent": {"$edgeAgent": {"properties.desired": {"modules": {}}}}}


def props(**change):
    p = {"hubHostName": "hub.azure-devices.net", "hubId": HUB_ID, "accessPolicy": "registryReadWrite",
         "deploymentId": "mldeploy-x-1", "deviceId": None, "targetCondition": "tags.a='b'", "priority": 10,
         "labels": {"model": "m"}, "content": CONTENT, "baseContent": BASE}
    p.update(change)
    return p


@pytest.fixture
def hub():
    return FakeHub()


@pytest.fixture
def provider(hub):
    return IotEdgeDeploymentProvider(client_factory=lambda _props: hub)


def test_create_at_scale_puts_a_configuration(provider, hub):
    result = provider.create(props())
    assert result.id == "hub.azure-devices.net/configurations/mldeploy-x-1"
    stored = hub.configs["mldeploy-x-1"]
    assert stored["targetCondition"] == "tags.a='b'" and stored["priority"] == 10
    assert stored["content"] == CONTENT and stored["labels"] == {"model": "m"}
    assert result.outs["etag"] == stored["etag"]


def test_the_configuration_body_carries_the_schema_version_microsofts_cli_sends(provider, hub):
    """Issue 9 item 22: `az iot edge deployment create` sends schemaVersion "2.0"."""
    provider.create(props())
    assert hub.configs["mldeploy-x-1"]["schemaVersion"] == "2.0"


def test_update_at_scale_changes_priority_with_the_current_etag(provider, hub):
    provider.create(props())
    provider.update("id", props(), props(priority=20))
    assert hub.configs["mldeploy-x-1"]["priority"] == 20
    put = [c for c in hub.calls if c[0] == "put"][-1]
    assert put[2] is not None, "an update must send the current etag"


def test_delete_at_scale_deletes_the_configuration(provider, hub):
    provider.create(props())
    provider.delete("id", props())
    assert hub.configs == {}


def test_device_mode_applies_content_and_delete_applies_the_base_manifest(provider, hub):
    p = props(deviceId="dev-1", targetCondition=None, priority=None, labels=None)
    result = provider.create(p)
    assert result.id == "hub.azure-devices.net/devices/dev-1"
    assert hub.devices["dev-1"] == CONTENT
    provider.update("id", p, {**p, "content": BASE | {"x": 1}})
    assert hub.devices["dev-1"] == BASE | {"x": 1}
    provider.delete("id", p)
    assert hub.devices["dev-1"] == BASE
    assert hub.configs == {}, "device mode never creates configurations"


@pytest.mark.parametrize("change, replaces, delete_first", [
    ({"priority": 20}, [], False),
    ({"targetCondition": "tags.a='c'"}, [], False),
    ({"labels": {"model": "n"}}, [], False),
    ({"hubId": HUB_ID.replace("/g/", "/g2/")}, [], False),
    ({"deploymentId": "mldeploy-x-2", "content": BASE}, ["content", "deploymentId"], False),
    ({"content": BASE}, ["content"], True),
    ({"hubHostName": "other.azure-devices.net"}, ["hubHostName"], False),
    ({"deviceId": "dev-1", "targetCondition": None}, ["deviceId", "targetCondition"], False),
])
def test_diff_updates_what_iot_hub_can_update_and_replaces_the_rest(provider, change, replaces, delete_first):
    diff = provider.diff("id", props(), props(**change))
    assert diff.changes is True
    assert sorted(diff.replaces) == replaces
    assert diff.delete_before_replace is delete_first


def test_diff_of_identical_inputs_is_no_change(provider):
    assert provider.diff("id", props(), props()).changes is False


def test_device_content_change_is_an_update_not_a_replace(provider):
    p = props(deviceId="dev-1", targetCondition=None)
    assert provider.diff("id", p, {**p, "content": BASE}).replaces == []


# -- the REST client against a loopback IoT Hub -------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    seen: list = []
    answers: dict = {}

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        type(self).seen.append((self.command, self.path, dict(self.headers), body))
        status, payload = type(self).answers.get((self.command, urllib.parse.urlsplit(self.path).path), (200, {}))
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = _serve

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback():
    _Handler.seen, _Handler.answers = [], {}
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    key = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    client = IotHubRestClient("hub.azure-devices.net", "registryReadWrite", key,
                              base_url=f"http://127.0.0.1:{server.server_port}")
    yield client, _Handler
    server.shutdown()
    server.server_close()


def test_rest_client_calls_the_documented_routes_with_a_sas_token(loopback):
    client, handler = loopback
    handler.answers[("PUT", "/configurations/dep-1")] = (200, {"id": "dep-1", "etag": "e1"})
    assert client.put_configuration({"id": "dep-1", "content": CONTENT}) == {"id": "dep-1", "etag": "e1"}
    client.put_configuration({"id": "dep-1", "content": CONTENT}, etag="e1")
    client.apply_on_device("dev/1", CONTENT)
    client.delete_configuration("dep-1")
    methods = [(m, urllib.parse.urlsplit(p).path) for m, p, _h, _b in handler.seen]
    assert methods == [("PUT", "/configurations/dep-1"), ("PUT", "/configurations/dep-1"),
                       ("POST", "/devices/dev%2F1/applyConfigurationContent"), ("DELETE", "/configurations/dep-1")]
    assert all("api-version=2021-04-12" in p for _m, p, _h, _b in handler.seen)
    headers = [h for _m, _p, h, _b in handler.seen]
    assert all(h["Authorization"].startswith("SharedAccessSignature sr=hub.azure-devices.net&sig=") for h in headers)
    assert all(h["Authorization"].endswith("&skn=registryReadWrite") for h in headers)
    assert "If-Match" not in headers[0] and headers[1]["If-Match"] == '"e1"' and headers[3]["If-Match"] == "*"
    assert handler.seen[2][3] == CONTENT


def test_rest_client_treats_404_as_absent_and_raises_other_errors(loopback):
    client, handler = loopback
    handler.answers[("GET", "/configurations/gone")] = (404, {"Message": "not found"})
    handler.answers[("DELETE", "/configurations/gone")] = (404, {"Message": "not found"})
    handler.answers[("PUT", "/configurations/bad")] = (400, {"Message": "bad content"})
    assert client.get_configuration("gone") is None
    client.delete_configuration("gone")
    with pytest.raises(IotHubError, match="400"):
        client.put_configuration({"id": "bad"})


def test_sas_token_is_the_documented_hmac():
    import hashlib
    import hmac

    key = base64.b64encode(b"secret-key-bytes").decode()
    token = sas_token("Hub.azure-devices.net", "pol", key, now=1000, ttl=60)
    fields = dict(part.split("=", 1) for part in token.removeprefix("SharedAccessSignature ").split("&"))
    assert fields["sr"] == "hub.azure-devices.net" and fields["se"] == "1060" and fields["skn"] == "pol"
    expected = base64.b64encode(hmac.new(b"secret-key-bytes", b"hub.azure-devices.net\n1060", hashlib.sha256).digest())
    assert urllib.parse.unquote(fields["sig"]) == expected.decode()


def test_the_provider_reads_the_hub_key_from_arm_when_it_runs(tmp_path):
    """The key is asked for with the deployer's token (POST .../IotHubKeys/<policy>/listkeys) when a
    call is made: a state written before issue 20 that still holds `accessKey` is rewritten."""
    from mldeploy.components.iot_edge_provider import IOTHUB_API_VERSION, hub_key
    from mldeploy.azure.pipeline import ArmClient
    from tests.azure.fake_arm import Answer, FakeArm, FakeCredential, RecordingTransport

    arm = FakeArm(tmp_path)
    try:
        listkeys = f"{HUB_ID}/IotHubKeys/registryReadWrite/listkeys"
        arm.answer("POST", listkeys, Answer(429, None, {"Retry-After": "1"}),
                   Answer(200, {"keyName": "registryReadWrite", "primaryKey": "a2V5", "secondaryKey": "b"}))
        key = hub_key(props(), lambda: ArmClient(FakeCredential(), base_url=arm.url, transport=RecordingTransport(arm.ca)))
        assert key == "a2V5"
        assert arm.calls("POST", listkeys)[-1].query == f"api-version={IOTHUB_API_VERSION}"
    finally:
        arm.close()
    diff = IotEdgeDeploymentProvider(client_factory=lambda _p: None).diff(
        "id", {**props(), "accessKey": "old", "hubId": None}, props())
    assert diff.changes and diff.replaces == [], "an in-place update drops the stored key"


# -- IotEdgeDeployment unit-tested with a plan: plan_edge's EdgePlan in, the registered resources out --

UNIT_IMAGE = "crunit.azurecr.io/diabetes@sha256:" + "c" * 64
UNIT_REGISTRY_ID = "/subscriptions/s/resourceGroups/rg-reg/providers/Microsoft.ContainerRegistry/registries/crunit"


def _unit(**entry):
    from mldeploy.components.iot_edge import IotEdgeDeployment
    from mldeploy.targets.edge.config import EdgeSettings
    from mldeploy.targets.edge.plan import plan_edge
    from tests.components.unit import declare

    settings = EdgeSettings.model_validate({"image": "diabetes", "registryAdminUser": True,
                                            "iotHub": {"name": "iot-unit", "sku": "S2", "capacity": 3}, **entry})
    plan = plan_edge("site", settings, image=UNIT_IMAGE)

    def build():
        edge = IotEdgeDeployment("edge-site", plan=plan, location="westeurope", resource_group_name="rg-unit",
                                 registry_id=UNIT_REGISTRY_ID, registry_login_server="crunit.azurecr.io",
                                 tags={"managed-by": "mldeploy"})
        return edge.deployment_id

    return plan, declare(build)


def _desired(content: dict, module: str) -> dict:
    return content["modulesContent"][module]["properties.desired"]


def test_unit_a_created_hub_has_the_plans_name_tier_and_units():
    plan, declared = _unit(deviceId="dev-1")
    hub = declared.one("azure-native:iothub:IotHubResource")["inputs"]
    assert (hub["resourceName"], hub["resourceGroupName"]) == (plan.hub.name, "rg-unit")
    assert hub["sku"] == {"name": plan.hub.sku, "capacity": plan.hub.capacity} == {"name": "S2", "capacity": 3}
    deployment = declared.one(DYNAMIC)["inputs"]
    assert deployment["hubId"] == declared.one("azure-native:iothub:IotHubResource")["id"], \
        "the manifest must be applied through the hub declared here"
    assert deployment["hubHostName"] == "iot-unit.azure-devices.net"


def test_unit_an_existing_hub_is_looked_up_in_its_group_not_created():
    plan, declared = _unit(deviceId="dev-1", iotHub={"name": "iot-shared", "existing": True, "resourceGroup": "rg-iot"})
    assert declared.of_type("azure-native:iothub:IotHubResource") == [], "an existing hub must not be created"
    deployment = declared.one(DYNAMIC)["inputs"]
    assert deployment["hubId"].endswith(f"/resourceGroups/rg-iot/providers/Microsoft.Devices/IotHubs/{plan.hub.name}")


def test_unit_one_device_gets_the_manifest_without_priority_or_labels():
    plan, declared = _unit(deviceId="dev-1")
    deployment = declared.one(DYNAMIC)["inputs"]
    assert (deployment["deviceId"], deployment.get("targetCondition"), deployment.get("priority"),
            deployment.get("labels")) == (plan.device_id, None, None, None) == ("dev-1", None, None, None)


def test_unit_at_scale_the_condition_priority_labels_and_policy_are_the_plans():
    # A policy of one's own (least privilege) is an existing hub's: a hub created here has Azure's defaults only.
    plan, declared = _unit(targetCondition="tags.site='north'", priority=30, labels={"team": "ml"},
                           iotHub={"name": "iot-unit", "existing": True, "accessPolicy": "deployer"})
    deployment = declared.one(DYNAMIC)["inputs"]
    assert deployment["targetCondition"] == plan.target_condition == "tags.site='north'"
    assert deployment["priority"] == plan.priority == 30
    assert deployment["labels"] == plan.labels == {"team": "ml", "mldeploy-entry": "site"}
    assert deployment["accessPolicy"] == "deployer"
    assert deployment["deploymentId"].startswith(f"mldeploy-{plan.entry}-")


def test_unit_the_manifest_runs_the_plans_module_and_routes_with_secret_registry_credentials():
    plan, declared = _unit(deviceId="dev-1", moduleName="scorer", port=6001, hostPort=7001, restartPolicy="on-failure",
                           env={"WORKER_COUNT": "2"}, routes={"up": "FROM /messages/modules/scorer/outputs/* INTO $upstream"},
                           runtimeVersion="1.5")
    deployment = declared.one(DYNAMIC)
    assert {"content", "baseContent"} <= set(deployment["secret_inputs"]), "the manifest holds the registry password"
    agent = _desired(deployment["inputs"]["content"], "$edgeAgent")
    module = agent["modules"][plan.module.name]
    assert module["settings"]["image"] == UNIT_IMAGE, "the device pulls the plan's image by digest"
    assert (module["restartPolicy"], module["status"]) == (plan.module.restart_policy, plan.module.status)
    options = json.loads("".join(v for k, v in sorted(module["settings"].items()) if k.startswith("createOptions")))
    assert options["HostConfig"]["PortBindings"] == {"6001/tcp": [{"HostPort": "7001"}]}
    assert "WORKER_COUNT=2" in options["Env"]
    [creds] = agent["runtime"]["settings"]["registryCredentials"].values()
    assert creds["address"] == "crunit.azurecr.io" and creds["username"] == "crunit", creds
    assert agent["systemModules"]["edgeAgent"]["settings"]["image"].endswith(":1.5")
    assert _desired(deployment["inputs"]["content"], "$edgeHub")["routes"] == plan.routes
