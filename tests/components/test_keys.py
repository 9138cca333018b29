"""Generated service keys (components/keys.py, and AksService's): one length, plan/keys.py's."""
from __future__ import annotations

import pytest

from mldeploy.plan.keys import KEY_LENGTH
from tests.harness import synth

PASSWORD = "random:index/randomPassword:RandomPassword"


@pytest.mark.parametrize("stack", ["dev", "local", "prod"])  # ACI, local (Docker), AKS
def test_every_generated_key_has_the_one_length(stack, tmp_path):
    passwords = synth(stack, tmp_path).of_type(PASSWORD)
    assert passwords, f"stack {stack}: expected generated keys"
    for p in passwords:
        assert p["inputs"]["length"] == KEY_LENGTH, f"{p['urn']}: length {p['inputs']['length']}, not {KEY_LENGTH}"
        assert p["inputs"]["special"] is False, f"{p['urn']}: letters and digits only"

