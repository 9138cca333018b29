"""What an AKS variant or a container app label serves, changed while it takes traffic, reaches all of
its share at once: `mldeploy diff` warns as it does for an online deployment (`live-update`,
`live-traffic`), naming the variant or label as the stack file does - checked on two synths."""
from __future__ import annotations

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
