"""Azure role definitions as role assignments name them: the one builder of their ARM id."""
from __future__ import annotations

import pulumi


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    """`/subscriptions/<sub>/providers/Microsoft.Authorization/roleDefinitions/<role guid>`: a
    built-in role's id in the subscription (RoleAssignment.roleDefinitionId)."""
    return pulumi.Output.concat("/subscriptions/", subscription_id,
                                "/providers/Microsoft.Authorization/roleDefinitions/", role)
