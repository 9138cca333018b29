"""How a component names its children: `<component name>-<role>`.

A child's URN holds its parents' *types* but not their names
(`urn:pulumi:<stack>::<project>::mldeploy:aci:AciService$azure-native:...::identity`), so two
instances of one component whose children share a fixed name ("identity") collide and the engine
refuses the whole stack (Pulumi docs, "Resource names": "each resource's URN must be unique";
components "should prefix child names with the component's name"). Children created before this
rule had the fixed name: the alias keeps those resources (no replacement) on the next `pulumi up`.
"""
from __future__ import annotations

import pulumi


def child_name(component: str, role: str) -> str:
    """`<component>-<role>`, e.g. `aci-diabetes-identity`."""
    return f"{component}-{role}"


def child_opts(parent: pulumi.Resource, old_name: str, **options) -> pulumi.ResourceOptions:
    """`parent=parent`, plus an alias to the child's former fixed name (same parent and type)."""
    return pulumi.ResourceOptions(parent=parent, aliases=[pulumi.Alias(name=old_name)], **options)
