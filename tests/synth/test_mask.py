"""synth/mask.py: a key inside a gateway keys map (escaped for nginx) is masked like the key itself."""
from __future__ import annotations

import base64

from mldeploy.contract import MASK
from mldeploy.pulumi_internals import wrap_wire_secret
from mldeploy.render.gateway import render_keys_map
from mldeploy.synth.mask import Masker

KEYS = ("mock-key-primary-0123456789", "mock-key-secondary-0123456789")
INSIGHTS = "mock-instrumentation-key-42"


def test_a_keys_map_beside_another_known_secret_shows_no_key():
    """One secret map holding the keys map and the App Insights key (how Pulumi's own deserializer
    handed synth a container app's `configuration`): the known App Insights key lets the masker show
    the rest, and the map's keys must not show."""
    secrets = [{"name": "gateway-keys", "value": render_keys_map(*KEYS)}, {"name": "insights", "value": INSIGHTS}]
    masked = Masker([*KEYS, INSIGHTS]).scrub({"configuration": wrap_wire_secret({"secrets": secrets})}, "app")
    shown = str(masked)
    assert "0123456789" not in shown, shown
    assert masked["configuration"]["secrets"][1]["value"] == MASK


def test_a_secret_holding_only_a_keys_map_stays_masked_whole():
    masked = Masker(list(KEYS)).scrub({"stringData": wrap_wire_secret({"keys.map": render_keys_map(*KEYS)})}, "s")
    assert masked == {"stringData": MASK}


def test_a_secret_base64_encoded_outside_a_secret_is_a_leak():
    """A file beside a secret one (an ACI secret volume) is shown: an unmarked secret inside it is caught."""
    conf = base64.b64encode(f"include keys.map; # {KEYS[0]}".encode()).decode()
    masker = Masker(list(KEYS))
    masked = masker.scrub({"volumes": [{"secret": {"nginx.conf": conf, "keys.map": wrap_wire_secret(conf)}}]}, "g")
    assert masked == {"volumes": [{"secret": {"nginx.conf": MASK, "keys.map": MASK}}]}
    assert masker.leaks == ["g.volumes[0].secret.nginx.conf: a secret value base64-encoded in plain text (not marked secret)"]
    plain = base64.b64encode(b"include keys.map;").decode()
    assert Masker(list(KEYS)).scrub({"c": plain}, "g") == {"c": plain}, "base64 without a secret shows"
