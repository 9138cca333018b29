"""Which changed input makes the engine replace a resource (delete + create) instead of updating
it in place, and which in-place update Azure refuses. Read from the providers' own rules, not
guessed; `mldeploy diff` marks each changed property with what it does.

No library answers this offline: the providers decide it at `pulumi preview` time inside their
plugins (Go binaries, not installed here), and the Python SDKs carry no replace metadata
(checked: pulumi_azure_native 3.29 has no `replace_on_changes` anywhere). So the rules below are
extracted by hand from the providers' sources and the Azure REST specs, read 2026-12-04:

- azure-native (pulumi/pulumi-azure-native provider/pkg/provider/diff.go, calculateDetailedDiff):
  every parameter of the resource's URL path replaces; so does a top-level body property marked
  ForceNew. ForceNew comes from `x-ms-mutability` without "update" (provider/pkg/gen/properties.go,
  forceNew) and from the hand-kept forceNewMap (provider/pkg/gen/replacement.go). A create-only
  property *nested* in a type (OnlineDeployment `properties.instanceType`) is NOT ForceNew there
  ("a non-updatable property at a subtype level ... does not mandate the replacement"): the
  provider PUTs the change and Azure rejects it. The path parameters are the arguments of the
  SDK's `get_*` function minus query parameters (tests/cli/test_replacement.py checks them
  against the installed SDK).
- pulumi-kubernetes (pulumi/pulumi-kubernetes provider/pkg/provider/diff.go, forceNewProperties):
  metadata.name/namespace for every kind, Deployment spec.selector, Service spec.clusterIP,
  Job spec.template/selector/completions/parallelism, ConfigMap data, Secret data/stringData/type,
  PodDisruptionBudget (policy/v1beta1) spec, role bindings' roleRef. ConfigMap data is an
  update instead when the provider sets `enableConfigMapMutable` and the ConfigMap is not marked
  `immutable` (same function, `clients.IsConfigMap(obj) && (!k.enableConfigMapMutable ||
  clients.IsImmutable(obj))`): mldeploy's cluster providers set it, for a canary's traffic ConfigMap.
- pulumi-random: every input of RandomPassword/RandomId replaces (terraform-provider-random marks
  each attribute RequiresReplace).
- pulumi-docker (5.2, bridged from kreuzwerker/terraform-provider-docker, internal/provider/
  resource_docker_container.go: the schema's `ForceNew`): a Container's name, image, command,
  entrypoint, env, ports, networks_advanced, upload, volumes, mounts and labels replace it; its
  memory, restart policy and healthcheck update in place. A Network replaces on its name.
- mldeploy's dynamic providers: what their own `diff` returns as `replaces` (called here).
- The program's own `replaceOnChanges` resource option (resources.json `options`); a path under
  `ignoreChanges` is not applied at all (the engine keeps the old value).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Iterable

# Path parameters per azure-native type (the PUT URL's segments, SDK input names).
AZURE_PATH_PARAMETERS: dict[str, tuple[str, ...]] = {
    "app:ContainerApp": ("containerAppName", "resourceGroupName"),
    "app:ManagedCertificate": ("environmentName", "managedCertificateName", "resourceGroupName"),
    "app:ManagedEnvironment": ("environmentName", "resourceGroupName"),
    "applicationinsights:Component": ("resourceGroupName", "resourceName"),
    "authorization:RoleAssignment": ("roleAssignmentName", "scope"),
    "containerinstance:ContainerGroup": ("containerGroupName", "resourceGroupName"),
    "containerregistry:Registry": ("registryName", "resourceGroupName"),
    "containerservice:AgentPool": ("agentPoolName", "resourceGroupName", "resourceName"),
    "containerservice:ManagedCluster": ("resourceGroupName", "resourceName"),
    "dns:RecordSet": ("recordType", "relativeRecordSetName", "resourceGroupName", "zoneName"),
    "iothub:IotHubResource": ("resourceGroupName", "resourceName"),
    "keyvault:Vault": ("resourceGroupName", "vaultName"),
    "kubernetesconfiguration:Extension": ("clusterName", "clusterResourceName", "clusterRp", "extensionName",
                                          "resourceGroupName"),
    "machinelearningservices:BatchDeployment": ("deploymentName", "endpointName", "resourceGroupName",
                                                "workspaceName"),
    "machinelearningservices:BatchEndpoint": ("endpointName", "resourceGroupName", "workspaceName"),
    "machinelearningservices:CodeContainer": ("name", "resourceGroupName", "workspaceName"),
    "machinelearningservices:CodeVersion": ("name", "resourceGroupName", "version", "workspaceName"),
    "machinelearningservices:Compute": ("computeName", "resourceGroupName", "workspaceName"),
    "machinelearningservices:EnvironmentContainer": ("name", "resourceGroupName", "workspaceName"),
    "machinelearningservices:EnvironmentVersion": ("name", "resourceGroupName", "version", "workspaceName"),
    "machinelearningservices:ModelContainer": ("name", "resourceGroupName", "workspaceName"),
    "machinelearningservices:ModelVersion": ("name", "resourceGroupName", "version", "workspaceName"),
    "machinelearningservices:OnlineDeployment": ("deploymentName", "endpointName", "resourceGroupName",
                                                 "workspaceName"),
    "machinelearningservices:OnlineEndpoint": ("endpointName", "resourceGroupName", "workspaceName"),
    "machinelearningservices:Workspace": ("resourceGroupName", "workspaceName"),
    "managedidentity:UserAssignedIdentity": ("resourceGroupName", "resourceName"),
    "monitor:AutoscaleSetting": ("autoscaleSettingName", "resourceGroupName"),
    "operationalinsights:Workspace": ("resourceGroupName", "workspaceName"),
    "resources:ResourceGroup": ("resourceGroupName",),
    # A custom resource of the provider (provider/pkg/resources/customresources/custom_storage.go).
    "storage:Blob": ("accountName", "blobName", "containerName", "resourceGroupName"),
    "storage:StorageAccount": ("accountName", "resourceGroupName"),
}

# Top-level ForceNew body properties. `location`: common-types v3 TrackedResource marks it
# x-ms-mutability [read, create] (specification/common-types/resource-management/v3/types.json),
# and forceNewMap repeats it where a spec does not. The rest: forceNewMap entries and custom
# resources, per type.
AZURE_FORCE_NEW: dict[str, tuple[str, ...]] = {
    "authorization:RoleAssignment": ("principalId", "scope"),
    "containerservice:AgentPool": ("gpuInstanceProfile", "vmSize", "networkProfile.nodePublicIPTags"),
    "containerservice:ManagedCluster": (
        "diskEncryptionSetID", "dnsPrefix", "fqdnSubdomain", "linuxProfile", "nodeResourceGroup",
        "windowsProfile", "networkProfile.serviceCidr", "networkProfile.serviceCidrs",
        "networkProfile.dnsServiceIP", "networkProfile.networkMode", "networkProfile.networkPlugin",
        "networkProfile.networkPluginMode", "networkProfile.podCidr", "networkProfile.networkDataplane",
        "networkProfile.networkPolicy", "networkProfile.outboundType"),
    "storage:Blob": ("contentMd5", "source", "type"),
    "storage:StorageAccount": ("isHnsEnabled",),
}
AZURE_NOT_TRACKED = {"authorization:RoleAssignment", "storage:Blob"}  # no `location` input

# Create-only in Azure but nested, so azure-native updates in place and Azure refuses the PUT.
# machinelearningservices stable/2025-12-01 mfe.json: OnlineDeployment.instanceType
# x-ms-mutability [create, read] (azure-native 3.29 uses API version 2025-12-01 for it).
AZURE_CREATE_ONLY_NESTED: dict[str, tuple[str, ...]] = {
    "machinelearningservices:OnlineDeployment": ("properties.instanceType",),
}

KUBERNETES_FORCE_NEW: dict[str, tuple[str, ...]] = {
    "apps/v1:Deployment": ("spec.selector",),
    "apps/v1:DaemonSet": ("spec.selector",),
    "apps/v1:StatefulSet": ("spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.selector",
                            "spec.serviceName", "spec.volumeClaimTemplates"),
    "batch/v1:Job": ("spec.completions", "spec.parallelism", "spec.selector", "spec.template"),
    "core/v1:ConfigMap": ("binaryData", "data"),
    "core/v1:Secret": ("type", "stringData", "data"),
    "core/v1:Service": ("spec.clusterIP",),
    "core/v1:ResourceQuota": ("spec.scopes",),
    "policy/v1beta1:PodDisruptionBudget": ("spec",),
    "rbac.authorization.k8s.io/v1:RoleBinding": ("roleRef",),
    "rbac.authorization.k8s.io/v1:ClusterRoleBinding": ("roleRef",),
    "storage.k8s.io/v1:StorageClass": ("parameters", "provisioner"),
}


# pulumi-docker's inputs (camelCase, as resources.json has them) whose terraform attribute is ForceNew.
DOCKER_FORCE_NEW: dict[str, tuple[str, ...]] = {
    "index/container:Container": ("name", "image", "command", "entrypoint", "envs", "ports", "networksAdvanced",
                                  "uploads", "volumes", "mounts", "labels"),
    "index/network:Network": ("name",),
}

# mldeploy's dynamic providers by type token: module and class, imported only when a diff
# holds such a resource (they pull in the Azure and IoT clients).
DYNAMIC_PROVIDERS = {
    "pulumi-python:dynamic/mldeploy:EndpointTraffic": ("mldeploy.components.endpoint_traffic",
                                                       "EndpointTrafficProvider"),
    "pulumi-python:dynamic/azure:RolePropagation": ("mldeploy.components.propagation", "PropagationProvider"),
    "pulumi-python:dynamic/iotedge:Deployment": ("mldeploy.components.iot_edge_provider", "IotEdgeDeploymentProvider"),
}


def dynamic_replaces(resource_type: str, olds: dict, news: dict) -> tuple[str, ...]:
    """What an mldeploy dynamic provider's own diff() lists in `replaces` for this change (it
    compares inputs only, no cloud call); () for other types."""
    if not resource_type.startswith("pulumi-python:dynamic/"):
        return ()
    if resource_type not in DYNAMIC_PROVIDERS:
        return ()
    module, cls = DYNAMIC_PROVIDERS[resource_type]
    provider = getattr(importlib.import_module(module), cls)
    return tuple(provider().diff("", olds, news).replaces or ())


@dataclass(frozen=True)
class Effect:
    """What a changed property does: `update` in place, `replace` the resource, `refused` (an
    in-place update the API rejects) or `ignored` (ignoreChanges); `reason` says whose rule.
    A created or deleted resource's properties carry `create` / `delete` (diffing.py)."""

    kind: str
    reason: str = ""


UPDATE = Effect("update")


def _segments(path: str) -> list[str]:
    """`a.b[0].c` -> ["a", "b", "0", "c"]."""
    return [s for s in path.replace("[", ".").replace("]", "").split(".") if s]


def _under(path: str, prefixes: Iterable[str]) -> str | None:
    """The first prefix (dotted, `*` for any one segment, `**`/`*` alone for all) that `path`
    lies under, or None."""
    segs = _segments(path)
    for prefix in prefixes:
        want = _segments(prefix)
        if prefix in ("*", "**") or (len(segs) >= len(want) and all(
                w in ("*", "[*]") or w == s for w, s in zip(want, segs))):
            return prefix
    return None


def _azure(token: str, path: str) -> Effect:
    if _under(path, AZURE_PATH_PARAMETERS.get(token, ())):
        return Effect("replace", "azure-native: part of the resource's URL path")
    force_new = AZURE_FORCE_NEW.get(token, ()) + (() if token in AZURE_NOT_TRACKED else ("location",))
    if (hit := _under(path, force_new)):
        return Effect("replace", f"azure-native: `{hit}` is create-only (ForceNew)")
    if (hit := _under(path, AZURE_CREATE_ONLY_NESTED.get(token, ()))):
        return Effect("refused", f"Azure: `{hit}` is create-only; azure-native updates in place and Azure "
                                 "rejects it")
    return UPDATE


KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"


def config_maps_mutable(resources: Iterable[dict]) -> bool:
    """True when every Kubernetes provider among `resources` (one side's resources.json) sets
    `enableConfigMapMutable` (resources.json does not say which provider a resource uses)."""
    providers = [r for r in resources if r["type"] == KUBERNETES_PROVIDER]
    return bool(providers) and all(str((r.get("inputs") or {}).get("enableConfigMapMutable")).lower() == "true"
                                   for r in providers)


def _kubernetes(token: str, path: str, mutable_config_map: bool) -> Effect:
    if _under(path, ("metadata.name", "metadata.namespace")):
        return Effect("replace", "pulumi-kubernetes: the object's name or namespace")
    if token == "core/v1:ConfigMap" and mutable_config_map:
        return UPDATE  # enableConfigMapMutable and not `immutable`: updated in place
    if (hit := _under(path, KUBERNETES_FORCE_NEW.get(token, ()))):
        return Effect("replace", f"pulumi-kubernetes: `{hit}` is immutable")
    return UPDATE


def property_effect(resource_type: str, path: str, options: dict | None = None,
                    replaces: tuple[str, ...] = (), mutable_config_map: bool = False) -> Effect:
    """The effect of changing input `path` of a resource of `resource_type` (a Pulumi type
    token) with resource `options` as resources.json records them; `replaces`: what a dynamic
    provider's diff said (dynamic_replaces); `mutable_config_map`: a ConfigMap not marked
    `immutable` on a provider with enableConfigMapMutable (config_maps_mutable)."""
    if (hit := _under(path, (options or {}).get("ignoreChanges") or [])):
        return Effect("ignored", f"the program's ignoreChanges `{hit}`")
    if (hit := _under(path, (options or {}).get("replaceOnChanges") or [])):
        return Effect("replace", f"the program's replaceOnChanges `{hit}`")
    provider, _, token = resource_type.partition(":")
    if provider == "azure-native":
        return _azure(token, path)
    if provider == "kubernetes":
        return _kubernetes(token, path, mutable_config_map)
    if provider == "random":
        return Effect("replace", "pulumi-random: every input replaces")
    if provider == "docker" and (hit := _under(path, DOCKER_FORCE_NEW.get(token, ()))):
        return Effect("replace", f"pulumi-docker: `{hit}` is ForceNew")
    if (hit := _under(path, replaces)):
        return Effect("replace", f"the provider's diff replaces on `{hit}`")
    return UPDATE
