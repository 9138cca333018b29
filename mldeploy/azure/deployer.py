"""Who runs `pulumi up`: the principal type ARM needs on role assignments made to the deployer.

A role assignment's `principalType` must match the principal: ARM answers
`UnmatchedPrincipalType` otherwise, and the SDK's default is `User` (azure-rest-api-specs,
specification/authorization/.../RoleAssignmentProperties.principalType: User, Group,
ServicePrincipal, ForeignGroup, Device; a managed identity is a ServicePrincipal). The azure-native
provider authenticates as a service principal (client secret, certificate or OIDC) exactly when
ARM_CLIENT_ID is set, and Azure SDKs when AZURE_CLIENT_ID is (Pulumi docs, "Azure Native:
Installation & Configuration"; the deploy workflow sets ARM_CLIENT_ID). An `az login` user sets
neither.
"""
from __future__ import annotations

import os
from typing import Mapping

SERVICE_PRINCIPAL_ENV = ("ARM_CLIENT_ID", "AZURE_CLIENT_ID")


def deployer_principal_type(configured: str | None, environ: Mapping[str, str] | None = None) -> str:
    """`configured` (mldeploy:deployerPrincipalType) if set; else detected from the environment."""
    if configured:
        return configured
    env = os.environ if environ is None else environ
    return "ServicePrincipal" if any(env.get(name) for name in SERVICE_PRINCIPAL_ENV) else "User"
