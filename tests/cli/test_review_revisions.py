"""A container app's labels other than the template's name revisions an earlier run created, by
the *current* revision-scope settings (docs/containerapp.md, "Limit"): a change of those settings
(an environment variable, cores, timeouts) while several labels take traffic points the other
labels at revisions nobody creates, and ARM refuses the traffic. hwalk2's day 2 (an environment
variable added to the churn app at 50/50) showed both labels' revisionName changing without a
word; `mldeploy diff` now warns, naming the label the user wrote - checked on two synths of the
containerapp stack."""
from __future__ import annotations

from mldeploy.cli.diffing import Side, compare
from mldeploy.cli.review import warnings
from tests.harness import stack_values, synth


def _containerapp(tmp_path, name: str, change=None):
    values, secret_keys = stack_values("containerapp")
    if change is not None:
        change(values["mldeploy:services"]["diabetes-aca"])
    return synth("containerapp", tmp_path / name, values, secret_keys)


def _alerts(before, after):
    d = compare("containerapp", Side("`main`", before.resources, {}), Side("working tree", after.resources, {}))
    return [a for a in warnings(d) if a.kind == "missing-revision"]


def test_a_revision_scope_change_under_a_split_warns_for_the_other_labels(tmp_path):
    split = _containerapp(tmp_path, "split")
    flagged = _containerapp(tmp_path, "flagged", lambda s: s.update(environmentVariables={"FEATURE_FLAG": "on"}))
    (alert,) = _alerts(split, flagged)
    assert alert.resource == "containerapp-diabetes-aca-app", alert
    assert alert.message.startswith("`services.diabetes-aca.revisions.blue`: its revision `diabetes-aca--r"), alert
    assert "no run creates" in alert.message and "docs/containerapp.md#revisions-and-the-traffic-split" in alert.message
    # Moving the traffic only names the revisions the base named: no warning; nor does no change.
    shifted = _containerapp(tmp_path, "shifted", lambda s: s["revisions"]["blue"].update(trafficPercent=50)
                            or s["revisions"]["green"].update(trafficPercent=50))
    assert _alerts(split, shifted) == [] and _alerts(split, split) == []
    # With one label (the template's) taking everything, a new revision is all there is: no warning.
    alone = lambda s: s.pop("revisions")  # noqa: E731
    one = _containerapp(tmp_path, "one", alone)
    one_flagged = _containerapp(tmp_path, "one-flagged", lambda s: alone(s) or s.update(environmentVariables={"F": "1"}))
    assert _alerts(one, one_flagged) == []


def test_synth_notes_the_dns_records_a_custom_domain_needs():
    """hwalk2's day 2 set `customDomain` and the diff showed a ManagedCertificate to create, with no word
    of the TXT and CNAME records Azure checks first (docs/containerapp.md): synth, preview and the
    diff (new since the base) now note them."""
    from mldeploy.targets.stack import parse_settings, target_notes
    from tests.harness import ROOT

    values, secret_keys = stack_values("containerapp")

    def notes():
        settings = parse_settings("containerapp", values, secret_keys, ROOT, "stacks/Pulumi.containerapp.yaml")
        return [n for n in target_notes(settings) if "customDomain" in n]

    assert notes() == [], "no custom domain, no note"
    values["mldeploy:services"]["diabetes-aca"]["customDomain"] = "score.ml.contoso.com"
    (note,) = notes()
    assert note.startswith("mldeploy:services.diabetes-aca.customDomain: score.ml.contoso.com: Azure adds it to the "
                           "app only when your DNS zone has TXT `asuid.score.ml.contoso.com`"), note
    assert "CNAME `score.ml.contoso.com` straight to" in note and "azure-container-apps#1652" in note, note
