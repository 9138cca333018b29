"""An entry of `clusters`: an AKS cluster the stack creates or attaches, shared by every service
that names it (`cluster:`), whatever its target. Shape only here; the rules on its size and
version run on the parsed stack (mldeploy/plan/cluster_check.py)."""
from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from mldeploy.config.base import ResourceGroupName, Settings, matching
from mldeploy.config.errors import shown
from mldeploy.contract import DEFAULT_MIN_KUBERNETES

K8S_VERSION = r"^\d+\.\d+(\.\d+)?$"
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
IDENTITY_ID_RE = re.compile(r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]{1,90}/providers/"
                            r"Microsoft\.ManagedIdentity/userAssignedIdentities/[-\w]{3,128}$", re.IGNORECASE)


class AttachSettings(Settings):
    """An existing cluster, found by resource group and name (guide: "use an existing cluster")."""

    resource_group: ResourceGroupName = Field(description="resource group of the existing cluster")
    # Microsoft.ContainerService/managedClusters: 1-63 alphanumerics, '_' and '-', starting and
    # ending with an alphanumeric (azure-resource-manager/management/resource-name-rules.md).
    name: Annotated[str, matching(r"[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?",
                                  "an AKS cluster name is 1-63 letters, digits, '_' and '-', starting and ending "
                                  "with a letter or digit")] = Field(description="name of the existing cluster")


# A VM size's API name, by Microsoft's grammar (learn.microsoft.com/azure/virtual-machines/vm-naming-conventions,
# MicrosoftDocs/azure-compute-docs articles/virtual-machines/vm-naming-conventions.md): `Standard_` + [Family] +
# [Sub-family]* + [# of vCPUs] + [Constrained vCPUs]* + [Additive Features] + [Accelerator Type]* + [Version]
# (* where a size has it). Additive features are letters from the page's list (a b d i l m p t s C) and those
# real names also carry (r: RDMA, e, f, n, o: Standard_HB120rs_v3, Standard_DC2es_v5, Standard_ND96isrf_H100_v5,
# Standard_D2nds_v6, Standard_L8aos_v4); what follows is `_`-separated parts ending in the version, never
# anything after it: accelerators (Standard_NC4as_T4_v3, Standard_ND128isr_NDR_GB200_v6), confidential
# child-capable (Standard_DC4as_cc_v5) and memory tiers (Standard_M416s_8_v2). ARM reads names in any case
# (its own size lists are lower case: "The available VM sizes are 'standard_b16pls_v2,...'"), so case is free.
# Every name in compute.json's VirtualMachineSizeTypes (but the retired Basic_A0-A4) and in mldeploy's tables
# fits (tests/config/test_vm_size.py); a junk suffix (`Standard_DS3_v2xxxx`) or a name without `Standard_` would
# fail only at deploy.
VM_SIZE_RE = re.compile(
    r"standard_(?P<family>[a-z]+)(?P<vcpus>[0-9]+)(?:-(?P<constrained>[0-9]+))?(?P<features>[abcdefilmnoprst]*)"
    r"(?:(?P<parts>(?:_[a-z0-9]+)*)_(?P<version>v[0-9]+))?", re.IGNORECASE)
VM_SIZE_RULE = ("a VM size is Standard_ + family + vCPUs + feature letters + _accelerator + _version, such as "
                "Standard_DS3_v2, Standard_M8-2ms_v2 or Standard_NC4as_T4_v3 (learn.microsoft.com/azure/"
                "virtual-machines/vm-naming-conventions)")


def vm_size_problem(value: str) -> str | None:
    """Why `value` is no VM size name by Microsoft's grammar (naming the size it starts with), or None."""
    if VM_SIZE_RE.fullmatch(value):
        return None
    start = VM_SIZE_RE.match(value)
    if start:
        return (f"{shown(value)} is not an Azure VM size name: {start.group(0)!r} is, then {value[start.end():]!r} "
                f"follows - remove it; {VM_SIZE_RULE}")
    return f"{shown(value)} is not an Azure VM size name: {VM_SIZE_RULE}"


def _check_vm_size(value: str) -> str:
    problem = vm_size_problem(value)
    if problem:
        raise ValueError(problem)
    return value


VmSize = Annotated[str, AfterValidator(_check_vm_size)]


class ClusterSettings(Settings):
    """An AKS cluster: created from `vmSize` x `agentCount`, or attached with `attach`."""

    vm_size: VmSize = Field("Standard_D3_v2", description="node VM size (guide: `vm_size`); agentCount × its vCPUs must be ≥ 12")
    agent_count: int = Field(3, ge=1, le=1000, description="number of nodes (guide: `agent_count`)")
    vcpus_per_node: int | None = Field(None, ge=1, le=512, description="vCPUs of a VM size missing from the built-in table")
    tier: Literal["Free", "Standard", "Premium"] = Field("Standard", description="AKS pricing tier (Standard has the uptime SLA; Premium is needed for longTermSupport)")
    long_term_support: bool = Field(False, description="AKS long-term support plan (a second year of patches; needs tier Premium)")
    kubernetes_version: str | None = Field(None, pattern=K8S_VERSION, description="Kubernetes version; omitted: AKS's default. A version AKS no longer supports, or one newer than its release calendar, is refused (mldeploy/plan/versions.py)")
    min_kubernetes_version: str = Field(DEFAULT_MIN_KUBERNETES, pattern=K8S_VERSION, description="oldest Kubernetes version accepted (checked on attached clusters too)")
    network_policy: Literal["azure", "calico"] = Field("azure", description="network policy engine enforcing the services' NetworkPolicies")
    attach: AttachSettings | None = Field(None, description="attach an existing cluster instead of creating one (guide: \"use an existing cluster\")")
    kubelogin_mode: Literal["azurecli", "workloadidentity", "spn", "msi", "azd"] = Field(
        "azurecli", description="how `pulumi up` logs in to the cluster (kubelogin `--login`): `azurecli` "
        "uses `az login` (locally, and in CI after azure/login); never the interactive device code")
    kubelogin_identity: str | None = Field(
        None, description="with kubeloginMode `msi`: which user-assigned identity of the machine running "
        "`pulumi up` logs in - its client id (a GUID: kubelogin `--client-id`) or its ARM resource id "
        "(`/subscriptions/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/…`: "
        "`--identity-resource-id`); omitted: the machine's only (or system-assigned) identity")

    @model_validator(mode="after")
    def _check(self):
        # Shape only. The rules of the plan layer (AKS still creates kubernetesVersion, >= 12 vCPUs,
        # a VM size's vCPUs known once) run on the parsed stack in mldeploy/plan/cluster_check.py.
        if self.kubelogin_identity is not None:
            if self.kubelogin_mode != "msi":
                raise ValueError(f"kubeloginIdentity applies to kubeloginMode msi only (kubeloginMode is "
                                 f"{self.kubelogin_mode}): kubelogin reads other modes' identity from the environment")
            if not (GUID_RE.match(self.kubelogin_identity) or IDENTITY_ID_RE.match(self.kubelogin_identity)):
                raise ValueError("kubeloginIdentity must be a managed identity's client id (a GUID) or its "
                                 "resource id (/subscriptions/<id>/resourceGroups/<group>/providers/"
                                 "Microsoft.ManagedIdentity/userAssignedIdentities/<name>)")
        if self.long_term_support and self.tier != "Premium":
            raise ValueError("longTermSupport needs tier Premium (AKS: \"Enabling LTS requires moving your "
                             "cluster to the Premium tier\")")
        if self.attach is not None:
            # vcpusPerNode too: it sizes a created cluster's vmSize; an attached one reports its own nodes.
            create_only = {"vm_size", "agent_count", "kubernetes_version", "tier", "long_term_support",
                           "network_policy", "vcpus_per_node"}
            self._only_in_another_mode(create_only, "only to a created cluster; an attached cluster (attach) is "
                                       "checked on its own looked-up size and version")
        return self
