"""synth/mask.py: a key inside a gateway keys map (escaped for nginx) is masked like the key itself."""
from __future__ import annotations

from mldeploy.contract import MASK
from mldeploy.pulumi_internals import wrap_wire_secret
from mldeploy.render.gateway import render_keys_map
from mldeploy.synth.mask import Masker

KEYS = ("mock-key-primary-0123456789", "mock-key-secondary-0123456789")
INSIGHTS = "mock-instrumentation-key-42"


def test_a_keys_map_beside_another_known_secret_shows_no_key():
    """A Container Apps `configuration` carries the keys map and the App Insights key in one secret
    input: the known App Insights key lets the masker show the rest, and the map's keys must not show."""
    secrets = [{"name": "gateway-keys", "value": render_keys_map(*KEYS)}, {"name": "insights", "value": INSIGHTS}]
    masked = Masker([*KEYS, INSIGHTS]).scrub({"configuration": wrap_wire_secret({"secrets": secrets})}, "app")
    shown = str(masked)
    assert "0123456789" not in shown, shown
    assert masked["configuration"]["secrets"][1]["value"] == MASK


def test_a_secret_holding_only_a_keys_map_stays_masked_whole():
    masked = Masker(list(KEYS)).scrub({"stringData": wrap_wire_secret({"keys.map": render_keys_map(*KEYS)})}, "s")
    assert masked == {"stringData": MASK}
