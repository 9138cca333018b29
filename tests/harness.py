"""Test harness: synthesize any stack (or a variation of one) under Pulumi's mocks."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from mldeploy.config import read_stack_file
from mldeploy.synth.run import SynthResult, synthesize

ROOT = Path(__file__).resolve().parents[1]
STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


def stack_values(stack: str) -> tuple[dict[str, Any], set[str]]:
    """A stack file's config, as a fresh copy a test may change."""
    values, secret_keys = read_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml")
    return copy.deepcopy(values), set(secret_keys)


def synth(stack: str, build_dir: Path, values: dict[str, Any] | None = None,
          secret_keys: set[str] | None = None, lookups: dict[str, dict] | None = None) -> SynthResult:
    """Run the real program for `stack` (optionally with changed config) and collect it."""
    stack_input = None
    if values is not None:
        stack_input = (values, secret_keys if secret_keys is not None else stack_values(stack)[1])
    return synthesize(ROOT, stack, build_dir, lookups=lookups, stack_values=stack_input)
