"""A promotion touches traffic only (issue 19): moving trafficPercent, mirrorPercent or an AKS
canary's weight changes exactly the traffic resource(s) - compared input by input across two
synths of one stack. Tags say what a resource is (a deployment its own model and version, the
endpoint none), so they do not follow the traffic."""
from __future__ import annotations

from tests.harness import stack_values, synth

TRAFFIC = "pulumi-python:dynamic/mldeploy:EndpointTraffic"


def _changed(before, after) -> set[str]:
    """URNs whose inputs (or presence) differ between two synths."""
    a = {r["urn"]: r["inputs"] for r in before.resources}
    b = {r["urn"]: r["inputs"] for r in after.resources}
    return {urn for urn in a.keys() | b.keys() if a.get(urn) != b.get(urn)}


def _deployments(values):
    return values["mldeploy:services"]["diabetes"]["deployments"]


def _managed(tmp_path, name, edit):
    values, secret_keys = stack_values("managed")
    edit(_deployments(values))
    return synth("managed", tmp_path / name, values, secret_keys)


def _split(**shares):
    def edit(deployments):
        for dep, (traffic, mirror) in shares.items():
            deployments[dep]["trafficPercent"] = traffic
            deployments[dep].pop("mirrorPercent", None)
            if mirror:
                deployments[dep]["mirrorPercent"] = mirror
    return edit


def _only_traffic_changed(before, after, what):
    changed = _changed(before, after)
    traffic = {r["urn"] for r in after.of_type(TRAFFIC)}
    assert changed == traffic, f"{what}: expected only {sorted(traffic)} to change, changed: {sorted(changed)}"


def test_promoting_green_from_10_to_100_changes_only_the_traffic(tmp_path):
    before = _managed(tmp_path, "90-10", _split(blue=(90, 0), green=(10, 0), shadow=(0, 10)))
    after = _managed(tmp_path, "0-100", _split(blue=(0, 0), green=(100, 0), shadow=(0, 10)))
    _only_traffic_changed(before, after, "managed 90/10 -> 0/100")
    assert after.one(TRAFFIC)["inputs"]["traffic"] == {"blue": 0, "green": 100, "shadow": 0}


def test_a_mirror_shift_changes_only_the_traffic(tmp_path):
    before = _managed(tmp_path, "mirror-10", _split(blue=(90, 0), green=(10, 0), shadow=(0, 10)))
    after = _managed(tmp_path, "mirror-off", _split(blue=(90, 0), green=(10, 0), shadow=(0, 0)))
    moved = _managed(tmp_path, "mirror-to-blue", _split(blue=(0, 20), green=(100, 0), shadow=(0, 0)))
    _only_traffic_changed(before, after, "mirror 10 -> 0")
    _only_traffic_changed(after, moved, "mirror moved to blue while green takes all")


def test_three_deployments_on_two_model_versions_move_traffic_only(tmp_path):
    def three(split):
        def edit(deployments):
            deployments["shadow"].pop("mirrorPercent", None)
            deployments["shadow"]["instanceCount"] = 3  # a production deployment taking live traffic
            _split(**split)(deployments)
        return edit

    before = _managed(tmp_path, "a", three({"blue": (80, 0), "green": (10, 0), "shadow": (10, 0)}))
    after = _managed(tmp_path, "b", three({"blue": (0, 0), "green": (50, 0), "shadow": (50, 0)}))
    _only_traffic_changed(before, after, "three deployments 80/10/10 -> 0/50/50")


def test_each_resource_names_its_own_model_version_and_the_endpoint_none(tmp_path):
    result = synth("managed", tmp_path)
    tags = {r["name"]: r["inputs"].get("tags") or {} for r in result.resources}
    assert (tags["endpoint-diabetes-blue"]["model"], tags["endpoint-diabetes-blue"]["model-version"]) == \
        ("diabetes", "1"), "blue serves diabetes:1"
    assert (tags["endpoint-diabetes-green"]["model"], tags["endpoint-diabetes-green"]["model-version"]) == \
        ("diabetes", "2"), "green serves diabetes:2"
    for name in ("endpoint-diabetes-endpoint", "endpoint-diabetes-identity"):
        assert "model" not in tags[name] and "model-version" not in tags[name], \
            f"{name} splits traffic between model versions: its tags must name none, got {tags[name]}"


def test_the_managed_stack_registers_one_model_in_two_versions(tmp_path):
    result = synth("managed", tmp_path)
    containers = result.of_type("azure-native:machinelearningservices:ModelContainer")
    versions = result.of_type("azure-native:machinelearningservices:ModelVersion")
    assert [c["inputs"]["name"] for c in containers] == ["diabetes"], "one ModelContainer for diabetes"
    assert sorted((v["inputs"]["name"], v["inputs"]["version"]) for v in versions) == \
        [("diabetes", "1"), ("diabetes", "2")], "diabetes:1 and diabetes:2"
    model_of = {d["name"]: d["inputs"]["properties"]["model"]
                for d in result.of_type("azure-native:machinelearningservices:OnlineDeployment")}
    assert model_of["endpoint-diabetes-blue"].endswith("/models/diabetes/versions/1"), model_of
    assert model_of["endpoint-diabetes-green"].endswith("/models/diabetes/versions/2"), model_of


def _prod_attach_on_two_versions(canary_percent: int):
    values, secret_keys = stack_values("prod-attach")
    values["mldeploy:models"]["diabetes-v2"] = {
        "registeredName": "diabetes", "path": "examples/diabetes/outputs/v2/sklearn_regression_model.pkl",
        "version": 2}
    values["mldeploy:images"]["diabetes-v2"]["models"] = ["diabetes-v2"]
    values["mldeploy:services"]["diabetes"]["canary"]["trafficPercent"] = canary_percent
    return values, secret_keys


def test_an_aks_canary_serves_its_own_model_version(tmp_path):
    result = synth("prod-attach", tmp_path, *_prod_attach_on_two_versions(10))
    versions = sorted((v["inputs"]["name"], v["inputs"]["version"])
                      for v in result.of_type("azure-native:machinelearningservices:ModelVersion"))
    assert versions == [("diabetes", "1"), ("diabetes", "2")], versions
    models = {d["name"]: d["inputs"]["spec"]["template"]["metadata"]["annotations"]["mldeploy.io/models"]
              for d in result.of_type("kubernetes:apps/v1:Deployment")}
    assert models == {"diabetes-stable": "diabetes:1", "diabetes-canary": "diabetes:2"}, models


def test_moving_an_aks_canary_weight_changes_only_the_traffic_config_map(tmp_path):
    before = synth("prod-attach", tmp_path / "10", *_prod_attach_on_two_versions(10))
    after = synth("prod-attach", tmp_path / "50", *_prod_attach_on_two_versions(50))
    changed = {u.rsplit("::", 1)[1] for u in _changed(before, after)}
    assert changed == {"diabetes-traffic"}, \
        f"canary 10 -> 50: only the traffic ConfigMap may change (no Deployment, Service, other ConfigMap), changed: {sorted(changed)}"
    traffic = next(r for r in after.of_type("kubernetes:core/v1:ConfigMap") if r["name"] == "diabetes-traffic")
    assert traffic["inputs"]["metadata"]["name"] == "diabetes-traffic", "a fixed name: updated in place, never renamed"
    assert not traffic["inputs"].get("immutable"), "the traffic ConfigMap must stay mutable (updated in place)"
    assert "weight=50" in traffic["inputs"]["data"]["canary.conf"], traffic["inputs"]["data"]
    assert "weight=50" in traffic["inputs"]["data"]["stable.conf"], traffic["inputs"]["data"]


def test_an_aks_canary_weight_stays_out_of_the_pod_templates_and_gateway_configs(tmp_path):
    result = synth("prod-attach", tmp_path, *_prod_attach_on_two_versions(10))
    for dep in result.of_type("kubernetes:apps/v1:Deployment"):
        annotations = dep["inputs"]["spec"]["template"]["metadata"].get("annotations") or {}
        assert not any("weight" in k for k in annotations), f"{dep['name']}: a weight in the pod template rolls the pods"
    for conf in result.of_type("kubernetes:core/v1:ConfigMap"):
        if conf["name"].startswith("diabetes-gateway-"):
            assert "weight=" not in conf["inputs"]["data"]["nginx.conf"], f"{conf['name']}: weights belong to the traffic file"
            assert conf["inputs"].get("immutable") is True, f"{conf['name']}: a gateway config change must roll the pods"


def test_mldeploy_diff_of_an_aks_weight_move_is_one_in_place_update_and_the_traffic_table(tmp_path):
    from mldeploy.cli.diffing import Side, compare
    from mldeploy.cli.review import traffic_tables, warnings

    before = synth("prod-attach", tmp_path / "10", *_prod_attach_on_two_versions(10))
    after = synth("prod-attach", tmp_path / "50", *_prod_attach_on_two_versions(50))
    d = compare("prod-attach", Side("base", before.resources, {}), Side("head", after.resources, {}))
    assert [(c.name, c.kind) for c in d.changes] == [("diabetes-traffic", "update")], \
        f"a weight move is an in-place update of the traffic ConfigMap, got {[(c.name, c.kind) for c in d.changes]}"
    assert {p.effect.kind for p in d.changes[0].properties} == {"update"}, d.changes[0].properties
    assert warnings(d) == [], warnings(d)
    (table,) = [t for t in traffic_tables(d) if "AKS" in t.endpoint]
    assert [(r.deployment, r.model_after, r.traffic_before, r.traffic_after) for r in table.rows] == [
        ("diabetes", "diabetes:1", 90, 50), ("diabetes-canary", "diabetes:2", 10, 50)], table.rows


def test_promoting_an_aks_canary_leaves_the_network_policy_as_it_is(tmp_path):
    """docs/aks.md's promotion (the stable takes the canary's image, the canary is removed) updated
    the NetworkPolicy, dropping its scorer-port rules at once while the stable Deployment was still
    rolling: the old stable pods' gateways send the canary's share to the canary's pods until they
    are replaced, and the cluster dropped those connections (hday2's day 2). Adding a canary is the
    same change backwards."""
    canary = synth("prod-attach", tmp_path / "canary", *_prod_attach_on_two_versions(50))
    values, secret_keys = _prod_attach_on_two_versions(50)
    service = values["mldeploy:services"]["diabetes"]
    service["image"] = service.pop("canary")["image"]
    promoted = synth("prod-attach", tmp_path / "promoted", values, secret_keys)
    policies = [{r["name"]: r["inputs"] for r in s.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")}
                for s in (canary, promoted)]
    assert policies[0] and policies[0] == policies[1], policies
    assert not any(r["name"].startswith("diabetes-canary") for r in promoted.resources), "the canary is gone"


def test_mldeploy_diff_names_an_aks_canary_promotion_for_what_it_is(tmp_path):
    """hday2's day 2: the promotion docs/aks.md describes was warned as '`diabetes/diabetes-canary`
    takes live traffic and is deleted', as if a variant's traffic were cut off. Removing a canary
    without promoting it keeps that warning."""
    from mldeploy.cli.diffing import Side, compare
    from mldeploy.cli.review import warnings

    canary = synth("prod-attach", tmp_path / "canary", *_prod_attach_on_two_versions(50))
    values, secret_keys = _prod_attach_on_two_versions(50)
    service = values["mldeploy:services"]["diabetes"]
    image = service.pop("canary")["image"]
    dropped = synth("prod-attach", tmp_path / "dropped", values, secret_keys)
    service["image"] = image
    promoted = synth("prod-attach", tmp_path / "promoted", values, secret_keys)

    def live(after):
        d = compare("prod-attach", Side("base", canary.resources, {}), Side("head", after.resources, {}))
        return [a.message for a in warnings(d) if a.kind == "live-traffic"]

    [message] = live(promoted)
    # named as the stack file says it (`services.diabetes` and its `canary`), Kubernetes' names beside
    assert message.startswith("`services.diabetes.canary` (Deployment `diabetes-canary`; diabetes:2, 50 %) is deleted "
                              "in a promotion: `services.diabetes` (stable Deployment `diabetes`) serves diabetes:2 "
                              "after this change and takes all the traffic."), message
    assert live(dropped) == ["`services.diabetes.canary` (Deployment `diabetes-canary`) takes live traffic and is "
                             "deleted"], live(dropped)
