"""One component at a time under Pulumi's mocks, as pulumi/examples testing-unit-py does: a plan
in, the resources it registers out (type, name, inputs in wire form, which inputs are secret).

The mocks are synth's own (mldeploy/synth/mocks.py: the outputs real providers compute, by type,
for every target), so a component sees the same answers as in a whole-stack synth; only what it
registers is recorded here.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

import pulumi

from mldeploy.pulumi_internals import fresh_root_stack, is_wire_secret, unwrap_wire_secret
from mldeploy.synth.mocks import SecretLedger, SynthMocks


@dataclass
class Declared:
    """What a component registered: every resource's type, name, id, inputs and secret inputs."""

    resources: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of_type(self, token: str) -> list[dict]:
        return sorted((r for r in self.resources if r["type"] == token), key=lambda r: r["name"])

    def one(self, token: str) -> dict:
        found = self.of_type(token)
        assert len(found) == 1, f"expected one {token}, registered {[r['name'] for r in found]}"
        return found[0]

    @property
    def types(self) -> list[str]:
        return sorted(r["type"] for r in self.resources)


class _Recording(SynthMocks):
    def __init__(self, declared: Declared):
        super().__init__("unit", SecretLedger())
        self.declared = declared

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        # A secret anywhere in an input wraps that whole top-level input on the wire.
        secret = sorted(k for k, v in args.inputs.items() if is_wire_secret(v))
        inputs = {k: unwrap_wire_secret(v) if k in secret else v for k, v in args.inputs.items()}
        rid, outputs = super().new_resource(args)
        with self.declared.lock:
            self.declared.resources.append({"type": args.typ, "name": args.name, "id": rid, "inputs": inputs,
                                            "secret_inputs": secret, "outputs": outputs})
        return rid, outputs


def declare(build: Callable[[], pulumi.Output | None]) -> Declared:
    """Run `build()` (it declares the component and returns an Output to wait for, or None) under
    fresh mocks; return every resource registered, once all have been."""
    declared = Declared()
    fresh_root_stack()  # nothing leaks from the previous program
    pulumi.runtime.set_mocks(_Recording(declared), project="unit", stack="unit", preview=False)

    @pulumi.runtime.test
    def run():
        return build() or pulumi.Output.from_input(None)

    run()
    return declared
