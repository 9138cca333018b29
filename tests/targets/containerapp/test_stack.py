"""Stack `containerapp` synthesized whole: a promotion touches traffic only (the app's
`configuration.ingress.traffic`; no template change, so no new revision), a new model version
is a new revision, production refuses scale to zero, and the services' outputs."""
from __future__ import annotations

import pytest

from mldeploy.config.errors import ConfigError
from tests.harness import copy_project, stack_values, synth

APP = "azure-native:app:ContainerApp"
SERVICE = "diabetes-aca"


def _containerapp(tmp_path, name, edit=lambda service, values: None):
    values, secret_keys = stack_values("containerapp")
    edit(values["mldeploy:services"][SERVICE], values)
    return synth("containerapp", tmp_path / name, values, secret_keys)


def _split(blue: int, green: int):
    def edit(service, values):
        service["revisions"]["blue"]["trafficPercent"] = blue
        service["revisions"]["green"]["trafficPercent"] = green
    return edit


def _changed(before, after) -> dict[str, object]:
    """URN -> the input keys (or paths) that differ between two synths."""
    a = {r["urn"]: r["inputs"] for r in before.resources}
    b = {r["urn"]: r["inputs"] for r in after.resources}
    return {urn: sorted(k for k in (a.get(urn) or {}).keys() | (b.get(urn) or {}).keys()
                        if (a.get(urn) or {}).get(k) != (b.get(urn) or {}).get(k))
            for urn in a.keys() | b.keys() if a.get(urn) != b.get(urn)}


@pytest.fixture(scope="module")
def blue_90(tmp_path_factory):
    return _containerapp(tmp_path_factory.mktemp("ca"), "90-10", _split(90, 10))


def test_promoting_green_changes_only_the_apps_traffic(blue_90, tmp_path):
    after = _containerapp(tmp_path, "0-100", _split(0, 100))
    changed = _changed(blue_90, after)
    app = after.one(APP)
    assert list(changed) == [app["urn"]], f"only the container app may change, changed: {sorted(changed)}"
    assert changed[app["urn"]] == ["configuration"], "a promotion is app-scope: the template stays"
    before_cfg, after_cfg = blue_90.one(APP)["inputs"]["configuration"], app["inputs"]["configuration"]
    assert {k: v for k, v in before_cfg.items() if k != "ingress"} == \
        {k: v for k, v in after_cfg.items() if k != "ingress"}, "secrets and registries unchanged"
    assert {t["label"]: t["weight"] for t in after_cfg["ingress"]["traffic"]} == {"blue": 0, "green": 100}
    assert blue_90.outputs["services"][SERVICE]["revision"] == after.outputs["services"][SERVICE]["revision"], \
        "no new revision"


def test_blue_and_green_name_the_revisions_of_their_model_versions(blue_90):
    app = blue_90.one(APP)["inputs"]
    traffic = {t["label"]: t["revisionName"] for t in app["configuration"]["ingress"]["traffic"]}
    latest = blue_90.outputs["services"][SERVICE]["revision"]
    assert traffic["green"] == latest == f"{SERVICE}--{app['template']['revisionSuffix']}", \
        "green runs the template's image (diabetes-v2): the revision this run creates"
    assert traffic["blue"] != latest and traffic["blue"].startswith(f"{SERVICE}--r")
    scorer = next(c for c in app["template"]["containers"] if c["name"] == "scorer")
    assert scorer["image"] == blue_90.outputs["images"]["diabetes-v2"]["repoDigest"]


def test_the_next_model_version_is_a_new_revision(blue_90, tmp_path):
    def back_to_blue(service, values):
        service["image"] = "diabetes"
        _split(100, 0)(service, values)
    after = _containerapp(tmp_path, "blue-template", back_to_blue)
    assert after.outputs["services"][SERVICE]["revision"] != blue_90.outputs["services"][SERVICE]["revision"]
    traffic = {t["label"]: t["revisionName"] for t in after.one(APP)["inputs"]["configuration"]["ingress"]["traffic"]}
    before = {t["label"]: t["revisionName"] for t in blue_90.one(APP)["inputs"]["configuration"]["ingress"]["traffic"]}
    assert traffic == before, "each label keeps naming its own image's revision, whichever the template runs"


def test_a_production_stack_refuses_scale_to_zero_naming_the_key(tmp_path):
    def production(service, values):
        values["mldeploy:production"] = True
    with pytest.raises(ConfigError, match=rf"services\.{SERVICE}\.minReplicas: minReplicas 0 in a production"):
        _containerapp(tmp_path, "prod", production)


def test_the_outputs_name_the_app_its_revision_and_https_uris(blue_90):
    out = blue_90.outputs["services"][SERVICE]
    assert out["scoringUri"].startswith(f"https://{SERVICE}.") and out["scoringUri"].endswith("/score")
    assert blue_90.outputs["serviceKeys"][SERVICE] == {"primaryKey": "[secret]", "secondaryKey": "[secret]"}
    assert blue_90.leaks == []


@pytest.mark.parametrize("edit,key", [
    (lambda s: s["revisions"]["green"].update(trafficPercent=20), "services.diabetes-aca.revisions: trafficPercent sums to 110"),
    (lambda s: s.update(cpuCores=1, memoryGb=1), "services.diabetes-aca"),
    (lambda s: s.update(workloadProfile="Dedicated-D4"), "services.diabetes-aca.workloadProfile"),
    (lambda s: s.update(minReplicas=7), "services.diabetes-aca"),
])
def test_a_bad_containerapp_service_exits_2_naming_the_key(tmp_path, edit, key):
    """`mldeploy synth` of a bad service: exit 2, one line naming file and key, no traceback."""
    import subprocess
    import sys

    import yaml

    from tests.harness import ROOT

    root = tmp_path / "project"
    copy_project(root)
    stack = yaml.safe_load((ROOT / "stacks" / "Pulumi.containerapp.yaml").read_text())
    edit(stack["config"]["mldeploy:services"][SERVICE])
    (root / "stacks" / "Pulumi.bad.yaml").write_text(yaml.safe_dump(stack))
    run = subprocess.run([sys.executable, "-m", "mldeploy", "synth", "--stack", "bad", "--project-dir", str(root)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr[-2000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "stacks/Pulumi.bad.yaml" in errors[0] and key in errors[0], run.stderr[-2000:]
    assert "Traceback" not in run.stderr


def _without_app_insights(blue: int, green: int):
    def edit(service, values):
        service["appInsightsEnabled"] = False
        _split(blue, green)(service, values)
    return edit


def test_without_app_insights_only_the_secrets_values_are_masked(tmp_path):
    """The app's secrets are its only secret leaves: ingress, traffic and registries show, each
    secret's value is masked (before, Pulumi's mocks pushed the secretness of a secret leaf up to
    the whole `configuration`, masked whole: no traffic to review, none for `mldeploy diff`)."""
    from mldeploy.cli.diffing import Side, compare
    from mldeploy.contract import MASK

    before = _containerapp(tmp_path, "90-10", _without_app_insights(90, 10))
    cfg = before.one(APP)["inputs"]["configuration"]
    assert isinstance(cfg, dict), f"configuration masked whole: {cfg!r}"
    assert {t["label"]: t["weight"] for t in cfg["ingress"]["traffic"]} == {"blue": 90, "green": 10}
    assert cfg["registries"] and cfg["activeRevisionsMode"] == "Multiple"
    assert {s["name"]: s["value"] for s in cfg["secrets"]} == {"gateway-conf": MASK, "gateway-keys": MASK}
    assert before.leaks == []

    after = _containerapp(tmp_path, "0-100", _without_app_insights(0, 100))
    diff = compare("containerapp", Side("base", before.resources, before.outputs),
                   Side("head", after.resources, after.outputs))
    assert [(c.kind, c.type) for c in diff.changes] == [("update", APP)]
    assert [(p.path, p.before, p.after) for p in diff.changes[0].properties] == [
        ("configuration.ingress.traffic[blue].weight", 90.0, 0.0),
        ("configuration.ingress.traffic[green].weight", 10.0, 100.0)], "the promotion, shown as a traffic shift by label"
