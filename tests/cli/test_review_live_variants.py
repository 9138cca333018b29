"""What an AKS variant or a container app label serves, changed while it takes traffic, reaches all of
its share at once: `mldeploy diff` warns as it does for an online deployment (`live-update`,
`live-traffic`), naming the variant or label as the stack file does - checked on two synths."""
from __future__ import annotations

import copy

from mldeploy.cli.diffing import Side, compare
from mldeploy.cli.review import warnings
from tests.harness import synth
from tests.stacks.test_promotion import _prod_attach_on_two_versions


def _alerts(stack, before, after, kind):
    d = compare(stack, Side("`main`", before.resources, {}), Side("working tree", after.resources, {}))
    return [a for a in warnings(d) if a.kind == kind]


def test_reverting_an_aks_promotion_warns_that_the_stable_variant_changes_model_in_place(tmp_path):
    """A `git revert` of a promotion: the stable variant (100 %) gets diabetes:1 back while a canary of
    diabetes:2 is added at 50 % - the stable's pods roll to the old model for its whole share, and the
    diff said nothing."""
    canary = synth("prod-attach", tmp_path / "canary", *_prod_attach_on_two_versions(50))
    values, secret_keys = _prod_attach_on_two_versions(50)
    service = values["mldeploy:services"]["diabetes"]
    service["image"] = service.pop("canary")["image"]
    promoted = synth("prod-attach", tmp_path / "promoted", values, secret_keys)
    (alert,) = _alerts("prod-attach", promoted, canary, "live-update")
    assert alert.resource == "diabetes-stable", alert
    assert alert.message.startswith("`services.diabetes` (stable Deployment `diabetes`) takes live traffic (100 %) and "
                                    "what it serves is updated in place (model diabetes:2 → diabetes:1; "), alert.message
    assert "run it as the service's `canary`" in alert.message, alert.message
    # The promotion itself takes what the canary served: its own live-traffic warning, no live-update.
    assert _alerts("prod-attach", canary, promoted, "live-update") == []
    # A weight move changes no variant's content.
    assert _alerts("prod-attach", canary, synth("prod-attach", tmp_path / "10", *_prod_attach_on_two_versions(10)),
                   "live-update") == []


def _containerapp(tmp_path, name: str, change=None):
    from tests.harness import stack_values

    values, secret_keys = stack_values("containerapp")
    service = values["mldeploy:services"]["diabetes-aca"]
    service["revisions"]["blue"]["trafficPercent"] = service["revisions"]["green"]["trafficPercent"] = 50
    if change is not None:
        change(service)
    return synth("containerapp", tmp_path / name, values, secret_keys)


def test_a_container_app_label_retired_while_it_takes_traffic_warns(tmp_path):
    """Removing `revisions.blue` at 50 % moved its whole share to green at once, and the diff said
    nothing (a live online deployment deleted is warned)."""
    def retire(service):
        del service["revisions"]["blue"]
        service["revisions"]["green"]["trafficPercent"] = 100

    split = _containerapp(tmp_path, "split")
    (alert,) = _alerts("containerapp", split, _containerapp(tmp_path, "retired", retire), "live-traffic")
    assert alert.resource == "containerapp-diabetes-aca-app", alert
    assert alert.message.startswith("`services.diabetes-aca.revisions.blue` (revision `diabetes-aca--r"), alert.message
    assert "takes live traffic (50 %) and its label is removed: all of its share moves at once to the labels left " \
           "(`green` 50 → 100 %)" in alert.message, alert.message
    assert "move its `trafficPercent` to 0 first" in alert.message, alert.message

    # At 0 % first, the label goes without a warning.
    def drained(service):
        service["revisions"]["blue"]["trafficPercent"] = 0
        service["revisions"]["green"]["trafficPercent"] = 100
    assert _alerts("containerapp", _containerapp(tmp_path, "drained", drained),
                   _containerapp(tmp_path, "retired-after", retire), "live-traffic") == []


def test_a_container_app_label_taking_traffic_moved_to_a_new_revision_warns(tmp_path):
    """An environment variable added at 50/50: the template's label (green) takes a new revision for all
    of its share at once (blue's revision is the missing-revision warning)."""
    split = _containerapp(tmp_path, "split")
    flagged = _containerapp(tmp_path, "flagged", lambda s: s.update(environmentVariables={"FEATURE_FLAG": "on"}))
    (alert,) = _alerts("containerapp", split, flagged, "live-update")
    assert alert.message.startswith("`services.diabetes-aca.revisions.green` takes live traffic (50 %) and what it "
                                    "serves is replaced (revision `diabetes-aca--r"), alert.message
    assert "`template.containers[scorer].env[FEATURE_FLAG].value`" in alert.message, alert.message
    assert [a.message.split(":")[0] for a in _alerts("containerapp", split, flagged, "missing-revision")] == [
        "`services.diabetes-aca.revisions.blue`"]
    # A traffic shift names the revisions the base named: no warning.
    shifted = _containerapp(tmp_path, "shifted", lambda s: s["revisions"]["blue"].update(trafficPercent=90)
                            or s["revisions"]["green"].update(trafficPercent=10))
    assert _alerts("containerapp", split, shifted, "live-update") == []


def test_a_container_app_scale_change_on_a_live_label_is_no_canary_case(tmp_path):
    """`maxReplicas` 5 -> 10 at 50/50 gives green a new revision of the same image and variables: the
    warning said "To canary a new image, point `image` at it under a new label"."""
    split = _containerapp(tmp_path, "split")
    (alert,) = _alerts("containerapp", split, _containerapp(tmp_path, "scaled", lambda s: s.update(maxReplicas=10)),
                       "live-update")
    assert alert.message.startswith("`services.diabetes-aca.revisions.green` takes live traffic (50 %) and how it "
                                    "serves changes in a new revision (revision `diabetes-aca--r"), alert.message
    assert "`template.scale.maxReplicas`): all of its share moves to the new revision at once - the same image and " \
           "variables, so there is nothing to canary" in alert.message, alert.message
    assert "point `image`" not in alert.message, alert.message


def test_a_derived_variable_is_named_by_the_stack_key_it_is_set_from(tmp_path):
    """`scoringTimeoutMs` 5000 -> 6000 on prod's live service: the diff showed SCORING_TIMEOUT_MS,
    WORKER_TIMEOUT and the gateway's limit changing, not the key the user changed (WORKER_COUNT was
    already named by its keys)."""
    from tests.harness import stack_values

    values, secret_keys = stack_values("prod")
    before = synth("prod", tmp_path / "5000", values, secret_keys)
    values["mldeploy:services"]["diabetes"]["scoringTimeoutMs"] = 6000
    after = synth("prod", tmp_path / "6000", values, secret_keys)
    (alert,) = _alerts("prod", before, after, "live-update")
    assert "`spec.template.spec.containers[scorer].env[SCORING_TIMEOUT_MS].value`, " \
           "`spec.template.spec.containers[scorer].env[WORKER_TIMEOUT].value` set from `scoringTimeoutMs`)" \
           in alert.message, alert.message
    # A timeout is how the variant serves, not what: "run it as the canary" fitted it poorly.
    assert "how it serves changes in place" in alert.message and "nothing to canary" in alert.message, alert.message
    assert "canary it" not in alert.message, alert.message
    assert "`scoringTimeoutMs` 5000 → 6000: a slow request may now hold a scorer worker that long, and a client " \
           "whose own timeout is shorter gives up first" in alert.message, alert.message
    values["mldeploy:services"]["diabetes"]["scoringTimeoutMs"] = 3000
    (lowered,) = _alerts("prod", before, synth("prod", tmp_path / "3000", values, secret_keys), "live-update")
    assert "`scoringTimeoutMs` 5000 → 3000: a request that takes longer than 3000 ms now gets the gateway's 504 " \
           "where it was answered before" in lowered.message, lowered.message


def test_a_live_variants_own_variable_is_canaried_through_an_image_entry(tmp_path):
    """A service variable (OMP_NUM_THREADS) changed on a live AKS variant: its canary differs by image only,
    so the way to canary a variable is an image entry carrying it."""
    from tests.harness import stack_values

    values, secret_keys = stack_values("prod")
    before = synth("prod", tmp_path / "1", values, secret_keys)
    values["mldeploy:services"]["diabetes"]["environmentVariables"]["OMP_NUM_THREADS"] = "2"
    (alert,) = _alerts("prod", before, synth("prod", tmp_path / "2", values, secret_keys), "live-update")
    assert "what it serves is updated in place (`spec.template.spec.containers[scorer].env[OMP_NUM_THREADS].value`)" \
           in alert.message, alert.message
    assert "To canary it, give a new `images` entry the variable (its `environmentVariables`), run it as the " \
           "service's `canary`" in alert.message, alert.message


def test_a_container_app_whose_configuration_is_masked_whole_gives_no_traceback():
    """A secret in a container app's configuration masks it whole ("[secret]"): the revision warnings
    read no labels there, instead of an AttributeError on the string (mldeploy diff ended in a traceback)."""
    from mldeploy.cli.review import traffic_tables

    def app(suffix):
        return {"urn": "urn:pulumi:s::p::azure-native:app:ContainerApp::app", "type": "azure-native:app:ContainerApp",
                "name": "app", "inputs": {"containerAppName": "a", "configuration": "[secret]",
                                          "template": {"revisionSuffix": suffix}}}
    d = compare("x", Side("`main`", [app("r1")], {}), Side("working tree", [app("r2")], {}))
    assert warnings(d) == [] and traffic_tables(d) == []


def test_an_instance_type_mldeploy_derives_is_named_by_the_sizes_it_is_set_from(tmp_path):
    """kubernetes-endpoint's green `cpuCores` 1 -> 2: the create-only warning read only `properties.instanceType`
    `mldeploy-1000m-1024mi` -> `mldeploy-2000m-1024mi`, a name the stack file never wrote."""
    from tests.harness import stack_values

    def side(label, values, result):
        return Side(label, result.resources, {}, config={k.removeprefix("mldeploy:"): v for k, v in values.items()})

    values, secret_keys = stack_values("kubernetes-endpoint")
    before = side("`main`", copy.deepcopy(values), synth("kubernetes-endpoint", tmp_path / "1", values, secret_keys))
    values["mldeploy:services"]["diabetes"]["deployments"]["green"]["cpuCores"] = 2
    after = side("working tree", values, synth("kubernetes-endpoint", tmp_path / "2", values, secret_keys))
    (alert,) = [a for a in warnings(compare("kubernetes-endpoint", before, after)) if a.kind == "create-only"]
    assert "`properties.instanceType` `mldeploy-1000m-1024mi` → `mldeploy-2000m-1024mi` (set from `cpuCores` 1 → 2) " \
           "on a deployment taking live traffic" in alert.message, alert.message


def test_a_live_online_deployments_request_timeout_says_what_the_new_value_does(tmp_path):
    """managed's blue (90 %) `requestTimeoutMs` 5000 -> 3000: the diff showed `PT5S` -> `PT3S` and no word."""
    from tests.harness import stack_values

    values, secret_keys = stack_values("managed")
    before = synth("managed", tmp_path / "5000", values, secret_keys)
    values["mldeploy:services"]["diabetes"]["deployments"]["blue"]["requestTimeoutMs"] = 3000
    (alert,) = _alerts("managed", before, synth("managed", tmp_path / "3000", values, secret_keys), "live-update")
    assert alert.message.startswith("`services.diabetes.deployments.blue` takes live traffic (90 %) and its "
                                    "`requestTimeoutMs` changes 5000 → 3000: Azure answers 408 to a request whose "
                                    "scoring takes longer than 3000 ms"), alert.message
    # The shadow deployment takes no traffic (it is mirrored): nothing to warn of.
    values["mldeploy:services"]["diabetes"]["deployments"]["shadow"]["requestTimeoutMs"] = 3000
    values["mldeploy:services"]["diabetes"]["deployments"]["blue"]["requestTimeoutMs"] = 5000
    assert _alerts("managed", before, synth("managed", tmp_path / "shadow", values, secret_keys), "live-update") == []
