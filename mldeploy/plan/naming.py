"""The one naming helper: Azure resource names derived from the stack, stable across runs.

Globally unique Azure names (storage, key vault, registry) get a short suffix hashed from the
stack and resource group, so two stacks never collide and one stack always gets the same name.
"""
from __future__ import annotations

import hashlib
import re


def hash_suffix(*parts: str, length: int = 6) -> str:
    """The stable suffix of a name that must be unique beyond the stack (per region, per group,
    globally): the first `length` hex digits of SHA-256 over the parts joined with '/'."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def dns_part(text: str) -> str:
    """`text` as part of a DNS label: a Pulumi stack name may hold upper case, '_' and '.'
    (`Dev_Test.UPPER`), a DNS label only lower case, digits and inner '-' (RFC 1123)."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-") or "x"


def storage_account(stack: str, resource_group: str) -> str:
    """3-24 lowercase letters and digits, globally unique."""
    return ("st" + _alnum(stack)[:16] + hash_suffix(stack, resource_group))[:24]


def _vault(*parts: str) -> str:
    # A vault name "Can't contain consecutive hyphens" (resource-name-rules, Microsoft.KeyVault/vaults): a stack
    # name with no letter or digit (`_`, `..`) leaves an empty middle part, which is dropped, not joined as `--`.
    return "-".join(p for p in parts if p)[:24]


def key_vault(stack: str, resource_group: str) -> str:
    """3-24 letters, digits and '-', globally unique, starting with a letter."""
    return _vault("kv", _alnum(stack)[:14], hash_suffix(stack, resource_group))


def instance_key_vault(stack: str, instance: str) -> str:
    """A non-production vault: `kv-<stack>-<instance hex>` (<= 24), new for each stack instance."""
    return _vault("kv", _alnum(stack)[:11], instance)


def instance_workspace(name: str, instance: str) -> str:
    """A non-production workspace: `<name>-<instance hex>` within the 33-character rule."""
    return f"{name[:33 - len(instance) - 1].rstrip('-_')}-{instance}"


def container_registry(stack: str, resource_group: str) -> str:
    """5-50 letters and digits, globally unique."""
    return ("cr" + _alnum(stack)[:30] + hash_suffix(stack, resource_group))[:50]


def workspace(stack: str) -> str:
    # 3-33 letters, digits, '_' and '-' (the workspace name rule in config/stack.py).
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"mlw-{stack}")[:33]


def log_analytics(stack: str) -> str:
    """`log-<stack>`: a Log Analytics workspace name is 4-63 alphanumerics and hyphens, starting and
    ending with an alphanumeric (learn.microsoft.com/azure/azure-resource-manager/management/
    resource-name-rules, Microsoft.OperationalInsights/workspaces), so a stack name's '_' and '.'
    (Pulumi allows both: `dev_eu.2`) become '-' and a cut never leaves a '-' at the end."""
    name = re.sub(r"[^A-Za-z0-9-]", "-", f"log-{stack}")[:63].rstrip("-")
    return name if len(name) >= 4 else f"log-{hash_suffix(stack)}"  # a stack name of only '_', '.', '-'


def app_insights(stack: str) -> str:
    """`appi-<stack>`: an Application Insights name "can't end with space or period" (resource-name-rules,
    Microsoft.Insights/components), and a stack name may end with '.'."""
    return f"appi-{stack}"[:255].rstrip(".")


def aks_cluster(stack: str, entry: str) -> str:
    """`aks-<stack>-<entry>`: an AKS cluster name is 1-63 alphanumerics, '_' and '-', starting and ending
    with an alphanumeric (resource-name-rules, Microsoft.ContainerService/managedClusters), so a stack
    name's '.' becomes '-' and a cut never leaves '-' or '_' at the end."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"aks-{stack}-{entry}")[:63].rstrip("-_")


# An AKS cluster's dnsPrefix: "DNS prefix must contain between 1 and 54 characters" (the AKS API's own
# error, pulumi/pulumi-azure-native#571), letters, digits and hyphens only, starting and ending with a letter
# or digit (hashicorp/terraform-provider-azurerm#20813, validate/kubernetes.go KubernetesDNSPrefix). The
# swagger has no pattern for it (containerservice aks/stable/2025-09-01/managedClusters.json,
# ManagedClusterProperties.dnsPrefix: "This cannot be updated once the Managed Cluster has been created"), so
# nothing before AKS itself refuses a cluster name's '_' or its characters past the 54th.
AKS_DNS_PREFIX_MAX = 54


def aks_dns_prefix(cluster: str) -> str:
    """The created cluster's DNS prefix: its name where that is a valid prefix (every name so far, so no
    cluster is replaced), else the name with '_' as '-', cut to 54 characters, ending alphanumeric."""
    return re.sub(r"[^A-Za-z0-9-]", "-", cluster)[:AKS_DNS_PREFIX_MAX].rstrip("-")


MODEL_BLOB_PREFIX = "mldeploy/models"


def model_blob_prefix(model: str, version: str, digest: str) -> str:
    """Content-addressed folder of one model version in the workspace's blob store."""
    return f"{MODEL_BLOB_PREFIX}/{model}/{version}/{digest[:12]}"


def image_tag(version: int, digest: str) -> str:
    """`<version>-<digest12>`: the guide's `myimage:1`, plus the build context's content digest."""
    return f"{version}-{digest[:12]}"
