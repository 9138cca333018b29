"""Pulumi's in-process mocks for one component at a time (as pulumi/examples testing-unit-py
does): a plan in, the resources it declares out, each with its inputs in wire form."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pulumi

from mldeploy.pulumi_internals import fresh_root_stack, is_wire_secret, unwrap_wire_secret, wrap_wire_secret

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


@dataclass
class Declared:
    """What a component declared: every resource's type, name and inputs."""

    resources: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of_type(self, token: str) -> list[dict]:
        return sorted((r for r in self.resources if r["type"] == token), key=lambda r: r["name"])

    def one(self, token: str) -> dict:
        found = self.of_type(token)
        assert len(found) == 1, f"expected one {token}, declared {[r['name'] for r in found]}"
        return found[0]


class _Mocks(pulumi.runtime.Mocks):
    """Echo inputs; add the outputs the component reads (ids, a principal, an FQDN)."""

    def __init__(self, declared: Declared):
        self.declared = declared

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        # A secret anywhere in an input wraps that whole top-level input on the wire.
        secret = sorted(k for k, v in args.inputs.items() if is_wire_secret(v))
        inputs = {k: unwrap_wire_secret(v) if k in secret else v for k, v in args.inputs.items()}
        with self.declared.lock:
            self.declared.resources.append({"type": args.typ, "name": args.name, "inputs": inputs,
                                            "secret_inputs": secret})
        outputs = dict(inputs)
        identity = outputs.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # The input lists identity ids; the resource returns them as a map id -> details.
            outputs["identity"] = {**identity, "userAssignedIdentities": {
                uid: {"principalId": f"principal-{uid}"} for uid in identity["userAssignedIdentities"]}}
        rid = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/{args.typ}/{args.name}"
        if args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            outputs["principalId"] = f"principal-{args.name}"
        if args.typ == "azure-native:operationalinsights:Workspace":
            outputs["customerId"] = f"customer-{args.name}"
            outputs.setdefault("name", args.name)
        if args.typ == "azure-native:app:ManagedEnvironment":
            outputs.setdefault("name", args.name)
            outputs["defaultDomain"] = "happy-sea-1234.westeurope.azurecontainerapps.io"
        if args.typ == "azure-native:app:ContainerApp":
            outputs["configuration"] = {**outputs.get("configuration", {}), "ingress": {
                **outputs.get("configuration", {}).get("ingress", {}),
                "fqdn": f"{args.inputs.get('containerAppName', args.name)}.happy-sea-1234.westeurope.azurecontainerapps.io"}}
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = f"mock-key-{args.name}-0123456789abcdef"
        return rid, {k: wrap_wire_secret(v) if k in secret else v for k, v in outputs.items()}

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "azure-native:authorization:getClientConfig":
            return {"subscriptionId": SUBSCRIPTION, "tenantId": SUBSCRIPTION, "clientId": "c", "objectId": "o"}
        if args.token == "azure-native:operationalinsights:getSharedKeys":
            return {"primarySharedKey": "mock-shared-key", "secondarySharedKey": "mock-shared-key-2"}
        return {}


def declare(build) -> Declared:
    """Run `build()` (which declares components and returns an Output) under fresh mocks; return
    every resource declared, after all of them registered."""
    declared = Declared()
    fresh_root_stack()  # nothing leaks from the previous program
    pulumi.runtime.set_mocks(_Mocks(declared), project="unit", stack="unit", preview=False)

    @pulumi.runtime.test
    def run():
        return build()

    run()
    return declared
