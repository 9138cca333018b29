"""Every stack in stacks/ synthesizes, leaks no secret, and is deterministic."""
from __future__ import annotations

import json

import pytest

from tests.harness import STACKS, synth


@pytest.mark.parametrize("stack", STACKS)
def test_stack_synthesizes_without_secret_leaks(stack, tmp_path):
    result = synth(stack, tmp_path / "images")
    assert result.resources, f"stack {stack} declared no resources"
    assert result.leaks == [], f"stack {stack} has secrets in plain text: {result.leaks}"


@pytest.mark.parametrize("stack", STACKS)
def test_no_secret_value_in_any_synthesized_file(stack, tmp_path):
    from mldeploy.synth.write import write_result

    result = synth(stack, tmp_path / "out" / "images")
    write_result(result, tmp_path / "out")
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            for secret in result.secrets:
                assert secret not in text, f"{path.relative_to(tmp_path)} contains a secret value"


def test_every_resource_has_a_unique_urn(tmp_path):
    for stack in STACKS:
        result = synth(stack, tmp_path / stack)
        urns = [r["urn"] for r in result.resources]
        assert len(urns) == len(set(urns)), f"duplicate URNs in {stack}"
        assert urns == sorted(urns), f"resources of {stack} are not sorted by URN"
        json.dumps(result.resources)  # serializable as written
