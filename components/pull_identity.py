"""The registry pull identity of a container service (ACI group, Container App): a user-assigned
identity, its AcrPull on the workspace registry, and the wait until that assignment takes effect
(no registry admin user, no password)."""
from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, managedidentity

from mldeploy.components.children import child_name, child_opts
from mldeploy.components.propagation import RolePropagation
from mldeploy.components.roles import role_definition_id
from mldeploy.contract import ACR_PULL_ROLE_ID


def acr_pull_identity(parent: pulumi.Resource, name: str, *, resource_group_name: pulumi.Input[str], location: str,
                      registry_id: pulumi.Input[str], tags: dict[str, str], role_propagation_timeout: int,
                      alias_fixed_names: bool = False,
                      ) -> tuple[managedidentity.UserAssignedIdentity, RolePropagation]:
    """`<name>-identity`, its `<name>-acr-pull` on the registry and `<name>-acr-pull-propagation`, children
    of `parent`. `alias_fixed_names`: the identity and the assignment once had the fixed names
    "identity" and "acr-pull" (ACI's, before components/children.py): alias them, no replacement."""
    def options(role: str) -> pulumi.ResourceOptions:
        return child_opts(parent, role) if alias_fixed_names else pulumi.ResourceOptions(parent=parent)

    identity = managedidentity.UserAssignedIdentity(
        child_name(name, "identity"), resource_group_name=resource_group_name, location=location, tags=tags,
        opts=options("identity"))
    client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=parent))
    pull = authorization.RoleAssignment(
        child_name(name, "acr-pull"),
        scope=registry_id,
        principal_id=identity.principal_id,
        principal_type="ServicePrincipal",
        role_definition_id=role_definition_id(client.subscription_id, ACR_PULL_ROLE_ID),
        opts=options("acr-pull"),
    )
    pulled = RolePropagation(child_name(name, "acr-pull-propagation"), [pull], role_propagation_timeout,
                             opts=pulumi.ResourceOptions(parent=parent))
    return identity, pulled
