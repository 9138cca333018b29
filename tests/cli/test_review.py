"""mldeploy/cli/review.py and diff_render.py on hand-written resources.json fixtures: the
warnings at the top, the traffic table, the effect of each property, long values, JSON."""
from __future__ import annotations

import copy

from mldeploy.cli.diff_render import render_markdown, shorten, to_json
from mldeploy.cli.diffing import Side, compare
from mldeploy.cli.review import model_of_id, traffic_tables, warnings

ML = "azure-native:machinelearningservices"
STACK = "urn:pulumi:managed::mldeploy::"
ENDPOINT = f"{STACK}pulumi:pulumi:Stack$mldeploy:endpoints:OnlineEndpoint::endpoint-diabetes"
MODEL_ID = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w/models/diabetes/versions/"


def _r(type_: str, name: str, inputs: dict, parent: str = ENDPOINT, options: dict | None = None) -> dict:
    r = {"urn": f"{STACK}{type_}::{name}", "type": type_, "name": name, "parent": parent, "inputs": inputs}
    if options is not None:
        r["options"] = options
    return r


def _deployment(name: str, version: str, instance_type: str = "Standard_F4s_v2") -> dict:
    return _r(f"{ML}:OnlineDeployment", f"endpoint-diabetes-{name}", {
        "deploymentName": name, "endpointName": "diabetes-a00b15",
        "properties": {"instanceType": instance_type, "model": MODEL_ID + version},
        "tags": {"model": "diabetes", "model-version": version, "mldeploy-production": "true", "mldeploy-service": "diabetes"}})


def _managed(traffic: dict, mirror: dict | None = None, green_type: str = "Standard_F4s_v2") -> list[dict]:
    return [
        _r(f"{ML}:OnlineEndpoint", "endpoint-diabetes-endpoint", {"endpointName": "diabetes-a00b15",
                                                                  "properties": {"authMode": "Key"}}),
        _deployment("blue", "1"), _deployment("green", "2", green_type),
        _r("pulumi-python:dynamic/mldeploy:EndpointTraffic", "endpoint-diabetes-traffic",
           {"endpointId": "/e", "traffic": traffic, "mirrorTraffic": mirror or {}, "token": "[secret]"}),
        _r(f"{ML}:Workspace", "workspace", {"workspaceName": "w", "location": "westeurope",
                                            "tags": {"mldeploy-production": "true"}}, parent=STACK),
        _r("azure-native:keyvault:Vault", "keyvault", {"vaultName": "kv", "location": "westeurope",
                                                       "tags": {"mldeploy-production": "true"}}, parent=STACK),
    ]


def _diff(before: list[dict], after: list[dict], **sides):
    return compare("managed", Side("`main`", before, {}, **sides.get("base", {})),
                   Side("working tree", after, {}, **sides.get("head", {})))


def _kinds(d) -> dict[str, str]:
    return {c.name: c.kind for c in d.changes}


def test_promotion_changes_only_the_split_and_the_table_shows_it():
    d = _diff(_managed({"blue": 90.0, "green": 10.0}), _managed({"blue": 0.0, "green": 100.0}))
    assert _kinds(d) == {"endpoint-diabetes-traffic": "update"}
    (table,) = traffic_tables(d)
    rows = {r.deployment: (r.model_before, r.traffic_before, r.traffic_after) for r in table.rows}
    assert rows == {"blue": ("diabetes:1", 90, 0), "green": ("diabetes:2", 10, 100)}, rows
    assert warnings(d) == []
    md = render_markdown(d)
    assert "| **`blue`** | diabetes:1 | 90 → 0 |" in md and "| **`green`** | diabetes:2 | 10 → 100 |" in md, md


def test_mirror_shift_shows_in_the_mirror_column():
    d = _diff(_managed({"blue": 100.0, "green": 0.0}, {"green": 10.0}), _managed({"blue": 100.0, "green": 0.0}, {"green": 20.0}))
    green = next(r for r in traffic_tables(d)[0].rows if r.deployment == "green")
    assert (green.mirror_before, green.mirror_after) == (10, 20)
    assert "| **`green`** | diabetes:2 | 0 | 10 → 20 |" in render_markdown(d)


def test_instance_type_change_on_a_live_deployment_warns_and_points_to_blue_green():
    d = _diff(_managed({"blue": 90.0, "green": 10.0}), _managed({"blue": 90.0, "green": 10.0}, green_type="Standard_F8s_v2"))
    (alert,) = warnings(d)
    assert alert.kind == "create-only" and "taking live traffic" in alert.message and "rollout" in alert.message
    # named as the stack file says it, with the resource the list below shows
    assert alert.message.startswith("`services.diabetes.deployments.green` (resource `endpoint-diabetes-green`): "
                                    "`properties.instanceType` `Standard_F4s_v2` → `Standard_F8s_v2`"), alert.message
    assert "⚠️ **create-only**" in render_markdown(d)


def test_instance_type_change_with_replace_on_changes_is_a_live_replace():
    before = _managed({"blue": 90.0, "green": 10.0})
    after = _managed({"blue": 90.0, "green": 10.0}, green_type="Standard_F8s_v2")
    after[2]["options"] = {"replaceOnChanges": ["properties.instanceType"], "deleteBeforeReplace": True}
    d = _diff(before, after)
    assert _kinds(d)["endpoint-diabetes-green"] == "replace"
    assert [a.kind for a in warnings(d)] == ["live-traffic"], warnings(d)
    assert "`services.diabetes.deployments.green` takes live traffic and is replaced" in warnings(d)[0].message


def test_deleting_a_deployment_without_traffic_is_not_a_live_warning():
    before = _managed({"blue": 100.0, "green": 0.0})
    after = [r for r in before if r["name"] != "endpoint-diabetes-green"]
    d = _diff(before, after)
    assert _kinds(d) == {"endpoint-diabetes-green": "delete"} and warnings(d) == []
    d = _diff(_managed({"blue": 90.0, "green": 10.0}), after)
    assert any(a.kind == "live-traffic" and "green" in a.message for a in warnings(d))


def test_destroying_production_workspace_and_key_vault_warns():
    before = _managed({"blue": 100.0, "green": 0.0})
    after = copy.deepcopy(before)
    after[4]["inputs"]["location"] = "northeurope"   # location is create-only: replace
    after = [r for r in after if r["name"] != "keyvault"]
    kinds = sorted(a.kind for a in warnings(_diff(before, after)))
    assert kinds == ["production-destroy", "production-destroy"], kinds


def test_aci_group_and_aks_canary_weights():
    def aks(weight_stable: str, weight_canary: str, selector: str = "stable") -> list[dict]:
        def dep(name, variant, weight, models):
            return _r("kubernetes:apps/v1:Deployment", f"diabetes-{variant}", {
                "metadata": {"name": name, "labels": {"mldeploy.io/service": "diabetes"}},
                "spec": {"selector": {"matchLabels": {"v": selector if variant == "stable" else variant}},
                         "template": {"metadata": {"annotations": {"mldeploy.io/models": models,
                                                                   "mldeploy.io/traffic-weight": weight}}}}})
        return [dep("diabetes", "stable", weight_stable, "diabetes:1"), dep("diabetes-canary", "canary", weight_canary, "diabetes:2"),
                _r("azure-native:containerinstance:ContainerGroup", "aci", {"containerGroupName": "g"})]
    d = _diff(aks("90", "10"), aks("50", "50"))
    (table,) = traffic_tables(d)
    assert [(r.deployment, r.model_before, r.traffic_before, r.traffic_after) for r in table.rows] == [
        ("diabetes", "diabetes:1", 90, 50), ("diabetes-canary", "diabetes:2", 10, 50)]
    # The stack file says `services.diabetes` with its `canary`; the table says so, each variant with
    # its Kubernetes Deployment's name (what `kubectl get deploy` shows) beside it.
    md = render_markdown(d)
    assert "**Traffic, `services.diabetes`** (AKS)" in md and "| variant | model:version |" in md, md
    assert "| **`stable`** (Deployment `diabetes`) | diabetes:1 | 90 → 50 |" in md, md
    assert "| **`canary`** (Deployment `diabetes-canary`) | diabetes:2 | 10 → 50 |" in md, md
    assert "| ✏️ update | `services.diabetes` | `diabetes-stable` |" in md, md
    rows = to_json(d)["traffic"][0]["rows"]
    assert [(r["name"], r["resource"], r["deployment"]) for r in rows] == [
        ("stable", "diabetes-stable", "diabetes"), ("canary", "diabetes-canary", "diabetes-canary")], rows
    after = [r for r in aks("90", "10", selector="other") if r["name"] != "aci"]
    messages = [a.message for a in warnings(_diff(aks("90", "10"), after))]
    assert any(m.startswith("`services.diabetes` (stable Deployment `diabetes`) takes live traffic and is replaced")
               and "spec.selector" in m for m in messages), messages
    assert any("ACI container group `aci`" in m for m in messages), messages
    # The canary deleted while it takes traffic (not a promotion: the stable keeps diabetes:1)
    no_canary = [r for r in aks("90", "10") if r["name"] != "diabetes-canary"]
    messages = [a.message for a in warnings(_diff(aks("90", "10"), no_canary))]
    assert "`services.diabetes.canary` (Deployment `diabetes-canary`) takes live traffic and is deleted" in messages, messages


def test_key_rotation_from_ciphertexts_and_generated_keys():
    base = {"secure": {"mldeploy:services.diabetes.keys.primary": "v1:aaa", "mldeploy:services.diabetes.tls.key": "v1:t"}}
    head = {"secure": {"mldeploy:services.diabetes.keys.primary": "v1:bbb", "mldeploy:services.diabetes.tls.key": "v1:t"}}
    d = _diff([], [], base=base, head=head)
    assert d.changed and [(a.kind, a.resource) for a in warnings(d)] == [
        ("key-rotation", "mldeploy:services.diabetes.keys.primary")]
    pw = "random:index/randomPassword:RandomPassword"
    d = _diff([_r(pw, "diabetes-primary-key", {"length": 40.0})], [_r(pw, "diabetes-primary-key", {"length": 48.0})])
    assert [a.kind for a in warnings(d)] == ["key-rotation"]


def test_long_values_show_the_differing_part_and_resource_ids_stay_whole():
    b, a = shorten("x" * 100 + "A" + "y" * 100, "x" * 100 + "B" + "y" * 100)
    assert "A" in b and "B" in a and len(b) < 80, (b, a)
    b, a = shorten("azureml://" + "x" * 100 + "/1/m.pkl", "azureml://" + "x" * 100 + "/2/m.pkl")
    assert b.startswith("…") and "/1/" in b and "/2/" in a, (b, a)
    # An Azure resource id is shown whole: which workspace and group it is in is what a reviewer checks.
    before, after = MODEL_ID + "1", MODEL_ID + "2"
    assert shorten(before, after) == (before, after)
    d = _diff(_managed({"blue": 100.0}), [_deployment("blue", "2") if r["name"] == "endpoint-diabetes-blue" else r
                                          for r in _managed({"blue": 100.0})])
    assert f"| `properties.model` | `{before}` | `{after}` | update |" in render_markdown(d)
    # So is an image pinned by digest: which registry serves it is part of the change a reviewer reads.
    image = "crprodf19cb6.azurecr.io/diabetes@sha256:"
    assert shorten(image + "6" * 64, image + "9" * 64) == (image + "6" * 64, image + "9" * 64)


def test_json_carries_the_same_findings():
    d = _diff(_managed({"blue": 90.0, "green": 10.0}), _managed({"blue": 90.0, "green": 10.0}, green_type="Standard_F8s_v2"))
    data = to_json(d)
    assert data["changed"] and data["counts"] == {"create": 0, "update": 1, "replace": 0, "delete": 0}
    (prop,) = data["resources"][0]["properties"]
    assert (prop["path"], prop["before"], prop["after"], prop["effect"]) == (
        "properties.instanceType", "Standard_F4s_v2", "Standard_F8s_v2", "refused")
    assert [w["kind"] for w in data["warnings"]] == ["create-only"]
    assert data["traffic"][0]["rows"][0]["deployment"] == "blue" and data["traffic"][0]["rows"][0]["name"] == "blue"
    assert data["traffic"][0]["service"] == "services.diabetes", data["traffic"][0]


def test_aliases_keep_a_moved_resource():
    old = _r("t:x:Y", "old-name", {"v": 1})
    new = _r("t:x:Y", "new-name", {"v": 1}, options={"aliases": [old["urn"]]})
    d = _diff([old], [new])
    assert d.changes == [] and d.unchanged == 1


def test_name_aliases_as_resources_json_records_them():
    old = _r("t:x:Y", "deployment", {"v": 1})
    new = _r("t:x:Y", "batch-nightly-deployment", {"v": 2}, options={"aliases": [{"name": "deployment"}]})
    d = _diff([old], [new])
    assert [(c.kind, c.name) for c in d.changes] == [("update", "batch-nightly-deployment")]


def test_ignore_changes_is_not_a_change():
    opts = {"ignoreChanges": ["properties.traffic"]}
    old = _r(f"{ML}:OnlineEndpoint", "ep", {"properties": {"traffic": {"blue": 100}}}, options=opts)
    new = _r(f"{ML}:OnlineEndpoint", "ep", {"properties": {"traffic": {"blue": 0, "green": 100}}}, options=opts)
    assert _diff([old], [new]).changes == []


def test_endpoint_traffic_wins_over_the_endpoints_own_split():
    resources = _managed({"blue": 0.0, "green": 100.0})
    resources[0]["inputs"]["properties"]["traffic"] = {"blue": 90, "green": 10}  # e.g. refreshed, ignored
    (table,) = traffic_tables(_diff(resources, resources))
    assert {r.deployment: r.traffic_after for r in table.rows} == {"blue": 0, "green": 100}
    only_endpoint = [r for r in resources if "traffic" not in r["name"]]
    (table,) = traffic_tables(_diff(only_endpoint, only_endpoint))
    assert {r.deployment: r.traffic_after for r in table.rows} == {"blue": 90, "green": 10}


IGNORED_BY_ENDPOINT = {"ignoreChanges": ["properties.traffic", "properties.mirrorTraffic", "tags",
                                         "properties.description", "properties.authMode"]}
IDENTITY = f"{STACK}mldeploy:endpoints:OnlineEndpoint$azure-native:managedidentity:UserAssignedIdentity::endpoint-diabetes-identity"


def _with_identity(resources: list[dict], principal: str = "p1", public: str = "Enabled", tags: dict | None = None) -> list[dict]:
    out = copy.deepcopy(resources)
    endpoint = next(r for r in out if r["name"] == "endpoint-diabetes-endpoint")
    endpoint["options"] = IGNORED_BY_ENDPOINT
    endpoint["dependsOn"] = [IDENTITY]
    endpoint["inputs"]["properties"]["publicNetworkAccess"] = public
    endpoint["inputs"]["tags"] = tags or {"environment": "managed"}
    identity = {"urn": IDENTITY, "type": "azure-native:managedidentity:UserAssignedIdentity",
                "name": "endpoint-diabetes-identity", "parent": ENDPOINT,
                "inputs": {"resourceName": "endpoint-diabetes-identity", "location": "westeurope" if principal == "p1"
                           else "northeurope"}}
    return out + [identity]


def _endpoint_puts(d) -> list[str]:
    return [a.message for a in warnings(d) if a.kind == "endpoint-put"]


def test_an_endpoint_put_without_its_split_warns_naming_the_endpoint_and_the_safe_way():
    base = _with_identity(_managed({"blue": 90.0, "green": 10.0}))
    (message,) = _endpoint_puts(_diff(base, _with_identity(_managed({"blue": 90.0, "green": 10.0}), public="Disabled")))
    assert "`diabetes-a00b15`" in message and "`properties.publicNetworkAccess`" in message, message
    assert "404" in message and "docs/endpoints.md#changing-the-endpoint-itself-identity-compute-keys" in message, message
    # The identity replaced (location is create-only): a new id in the endpoint's PUT.
    (message,) = _endpoint_puts(_diff(base, _with_identity(_managed({"blue": 90.0, "green": 10.0}), principal="p2")))
    assert "identity `endpoint-diabetes-identity` is replaced" in message, message


def test_a_key_rotation_of_an_endpoint_service_is_no_endpoint_put():
    # Keys change through regenerateKeys (components/endpoint_keys.py), not a PUT of the endpoint.
    base = {"secure": {"mldeploy:services.diabetes.keys.primary": "v1:aaa"}}
    head = {"secure": {"mldeploy:services.diabetes.keys.primary": "v1:bbb"}}
    same = _with_identity(_managed({"blue": 90.0, "green": 10.0}))
    d = _diff(same, copy.deepcopy(same), base=base, head=head)
    assert [a.kind for a in warnings(d)] == ["key-rotation"], warnings(d)


def test_what_endpoint_traffic_carries_is_no_endpoint_put():
    base = _with_identity(_managed({"blue": 90.0, "green": 10.0}))
    for head in (_with_identity(_managed({"blue": 0.0, "green": 100.0})),            # a promotion
                 _with_identity(_managed({"blue": 90.0, "green": 10.0}), tags={"team": "ml"})):  # tags: ignored
        assert _endpoint_puts(_diff(base, head)) == [], _endpoint_puts(_diff(base, head))


def test_an_aci_group_updated_in_place_warns_of_the_restart():
    group = "azure-native:containerinstance:ContainerGroup"
    before = [_r(group, "aci", {"containerGroupName": "g", "containers": [{"image": "r/diabetes:1"}]})]
    after = [_r(group, "aci", {"containerGroupName": "g", "containers": [{"image": "r/diabetes:2"}]})]
    (alert,) = warnings(_diff(before, after))
    assert alert.kind == "live-traffic" and "restarts all its containers" in alert.message, alert


def _model_version(version: str, digest: str) -> dict:
    return _r(f"{ML}:ModelVersion", f"model-diabetes-v{version}", {
        "name": "diabetes", "version": version, "workspaceName": "w",
        "properties": {"modelUri": f"azureml://.../models/diabetes/{version}/{digest[:12]}/model.pkl",
                       "properties": {"mldeploy.sha256": digest}}}, parent=STACK)


def test_a_retrained_file_under_the_same_version_warns_naming_what_serves_it():
    """An explicit `version: 1` and a new file: the ModelVersion is updated in place, nothing that
    serves diabetes:1 changes - the diff said only `update` (new-user trial, iris:1 at 90 %)."""
    split = {"blue": 90.0, "green": 10.0}
    d = _diff(_managed(split) + [_model_version("1", "a" * 64)], _managed(split) + [_model_version("1", "b" * 64)])
    assert _kinds(d) == {"model-diabetes-v1": "update"}
    (alert,) = warnings(d)
    assert alert.kind == "model-content" and alert.resource == "model-diabetes-v1", alert
    assert "`diabetes:1`" in alert.message and "aaaaaaaaaaaa → bbbbbbbbbbbb" in alert.message, alert.message
    assert "`services.diabetes.deployments.blue` (90 %)" in alert.message and "new `version`" in alert.message, alert.message
    assert alert.message in render_markdown(d)


def test_a_new_version_of_a_model_is_no_model_content_warning():
    split = {"blue": 90.0, "green": 10.0}
    d = _diff(_managed(split) + [_model_version("1", "a" * 64)],
              _managed(split) + [_model_version("1", "a" * 64), _model_version("2", "b" * 64)])
    assert warnings(d) == []


def test_an_untagged_deployment_names_its_model_from_the_arm_id_of_the_version():
    # The synthesized ids are Azure's (mldeploy/synth/arm_ids.py): `…/models/<name>/versions/<version>`,
    # whatever the ModelVersion resource is called in the program.
    untagged = [copy.deepcopy(r) for r in _managed({"blue": 90.0, "green": 10.0})]
    for r in untagged:
        if r["type"] == f"{ML}:OnlineDeployment":
            del r["inputs"]["tags"]
    untagged.append(_r(f"{ML}:ModelVersion", "model-diabetes-v2", {"name": "diabetes", "version": "2"}, parent=STACK))
    (table,) = traffic_tables(_diff(untagged, untagged))
    assert {r.deployment: r.model_after for r in table.rows} == {"blue": "diabetes:1", "green": "diabetes:2"}, table


def test_model_ids_of_a_workspace_a_registry_and_the_short_form():
    assert model_of_id(MODEL_ID + "3") == "diabetes:3"
    assert model_of_id("azureml://registries/shared/models/diabetes/versions/4") == "diabetes:4"
    assert model_of_id("azureml:diabetes:5") == "diabetes:5"
    assert model_of_id("/subscriptions/0/resourceGroups/rg/providers/X/y/z") is None


def _with_code(resources: list[dict], code: str, only: str | None = None) -> list[dict]:
    out = copy.deepcopy(resources)
    for r in out:
        if r["type"] == f"{ML}:OnlineDeployment" and only in (None, r["inputs"]["deploymentName"]):
            r["inputs"]["properties"]["codeConfiguration"] = {"codeId": f"/codes/score/versions/{code}",
                                                              "scoringScript": "score.py"}
    return out


def test_what_a_live_deployment_serves_updated_in_place_warns():
    """hwalk's day 2: a change of score.py, which both images use, updated blue (90 %) and green (10 %)
    in place - new code for all their traffic at once - and the diff warned of nothing."""
    split = {"blue": 90.0, "green": 10.0}
    d = _diff(_with_code(_managed(split), "aaa"), _with_code(_managed(split), "bbb"))
    assert _kinds(d) == {"endpoint-diabetes-blue": "update", "endpoint-diabetes-green": "update"}
    alerts = [a for a in warnings(d) if a.kind == "live-update"]
    assert [a.resource for a in alerts] == ["endpoint-diabetes-blue", "endpoint-diabetes-green"], alerts
    assert alerts[0].message.startswith("`services.diabetes.deployments.blue` takes live traffic (90 %) and what it serves is "
                                        "updated in place (`properties.codeConfiguration.codeId`)"), alerts[0].message
    assert "a deployment at 0 %" in alerts[0].message and alerts[0].message in render_markdown(d)
    # Green at 0 % takes its new code with no warning: that is the blue/green way; a new model version too.
    before = _with_code(_managed({"blue": 100.0, "green": 0.0}), "aaa")
    d = _diff(before, _with_code(before, "bbb", only="green"))
    assert _kinds(d) == {"endpoint-diabetes-green": "update"} and warnings(d) == []
    # WORKER_COUNT is mldeploy's, set from the deployment's keys: the warning names them.
    workers = copy.deepcopy(_managed(split))
    workers[1]["inputs"]["properties"]["environmentVariables"] = {"WORKER_COUNT": "4"}
    (alert,) = [a for a in warnings(_diff(_managed(split), workers)) if a.kind == "live-update"]
    assert "(`properties.environmentVariables.WORKER_COUNT` set from `workerCount` / `maxConcurrentRequestsPerInstance`)" \
        in alert.message, alert.message
    # Scaling a live deployment is no change of what it serves.
    scaled = copy.deepcopy(_managed(split))
    scaled[1]["inputs"]["sku"] = {"capacity": 4.0}
    assert [a for a in warnings(_diff(_managed(split), scaled)) if a.kind == "live-update"] == []


def test_a_container_apps_traffic_shift_has_its_table_by_revision_label():
    """hdiff's day 2 on the containerapp stack: blue/green 90/10 → 50/50 had no traffic table (the
    online endpoints and AKS services had one), only the app's properties."""
    def app(blue: float, green: float) -> list[dict]:
        return [_r("azure-native:app:ContainerApp", "containerapp-diabetes-aca-app", {
            "tags": {"mldeploy-service": "diabetes-aca"},
            "configuration": {"ingress": {"traffic": [{"label": "blue", "revisionName": "a--r1", "weight": blue},
                                                      {"label": "green", "revisionName": "a--r2", "weight": green}]}}})]
    d = _diff(app(90.0, 10.0), app(50.0, 50.0))
    (table,) = traffic_tables(d)
    assert [(r.name, r.traffic_before, r.traffic_after) for r in table.rows] == [("blue", 90, 50), ("green", 10, 50)]
    md = render_markdown(d)
    assert "**Traffic, `services.diabetes-aca`** (Container Apps)" in md and "| revision | model:version |" in md, md
    assert "| **`blue`** | — | 90 → 50 | — |" in md, md
    masked = [{**app(90.0, 10.0)[0], "inputs": {"configuration": "[secret]"}}]
    assert traffic_tables(_diff(masked, masked)) == [], "a configuration masked whole has no split to show"
