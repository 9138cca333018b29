"""The id Azure gives each azure-native resource the stacks create, for the offline synth's mocks.

An azure-native resource's id is its ARM path: the path of the PUT operation in the REST spec of
its API version, with the path parameters taken from the resource's inputs (the provider builds
the URL with `prepareAzureRESTInputs(res.Path, ...)` and keeps the `id` Azure's response returns:
pulumi/pulumi-azure-native provider/pkg/provider/provider.go, Create). The installed
pulumi_azure_native package carries the input names but not the paths (they live in the
provider binary's metadata), so the paths are a table, each from the spec named beside it
(azure-rest-api-specs `specification/<service>/resource-manager/<namespace>/stable/...`; the
same path is the `pulumi import` id on each resource's page of the Pulumi registry). Casing is the
spec's: ARM ids compare case-insensitively, and the spec's own casing is what a PUT sends.

A name the program leaves out is the provider's auto-name (provider.go `getDefaultName`): the
resource's Pulumi name + 8 random hex characters ("random"), a random UUID ("uuid": role
assignments, whose name must be a GUID), or the Pulumi name itself ("copy": storage blobs,
custom_storage.go). Offline, the random part is derived from the stack and the name, so it is
stable between runs: the shape is Azure's, the characters are not the ones `pulumi up` will pick.
"""
from __future__ import annotations

import hashlib
import re

from mldeploy.targets.fakes import SUBSCRIPTION_ID, stable_uuid

_RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
_ML = _RG + "/providers/Microsoft.MachineLearningServices/workspaces/{workspaceName}"

# type token -> PUT path of the REST spec (the spec file's folder under azure-rest-api-specs).
ARM_PATHS: dict[str, str] = {
    # resources/resource-manager/Microsoft.Resources/stable/*/resources.json (ResourceGroups_CreateOrUpdate
    # spells it `resourcegroups`; every response id and every child path spell it `resourceGroups`).
    "azure-native:resources:ResourceGroup": _RG,
    # storage/resource-manager/Microsoft.Storage/stable/*/storage.json (StorageAccounts_Create)
    "azure-native:storage:StorageAccount": _RG + "/providers/Microsoft.Storage/storageAccounts/{accountName}",
    # A data-plane blob: pulumi-azure-native's own path for it (customresources/custom_storage.go, blobPath).
    "azure-native:storage:Blob": (_RG + "/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/"
                                  "default/containers/{containerName}/blobs/{blobName}"),
    # containerregistry/resource-manager/Microsoft.ContainerRegistry/stable/*/containerregistry.json
    "azure-native:containerregistry:Registry": _RG + "/providers/Microsoft.ContainerRegistry/registries/{registryName}",
    # keyvault/resource-manager/Microsoft.KeyVault/stable/*/keyvault.json (Vaults_CreateOrUpdate)
    "azure-native:keyvault:Vault": _RG + "/providers/Microsoft.KeyVault/vaults/{vaultName}",
    # applicationinsights/resource-manager/Microsoft.Insights/stable/2020-02-02/components_API.json
    "azure-native:applicationinsights:Component": _RG + "/providers/Microsoft.Insights/components/{resourceName}",
    # operationalinsights/resource-manager/Microsoft.OperationalInsights/stable/*/Workspaces.json
    "azure-native:operationalinsights:Workspace": (_RG + "/providers/Microsoft.OperationalInsights/workspaces/"
                                                   "{workspaceName}"),
    # machinelearningservices/resource-manager/Microsoft.MachineLearningServices/stable/2025-09-01/
    # workspaceRP.json (workspaces, computes) and mfe.json (assets, endpoints, deployments).
    "azure-native:machinelearningservices:Workspace": _ML,
    "azure-native:machinelearningservices:Compute": _ML + "/computes/{computeName}",
    "azure-native:machinelearningservices:ModelContainer": _ML + "/models/{name}",
    "azure-native:machinelearningservices:ModelVersion": _ML + "/models/{name}/versions/{version}",
    "azure-native:machinelearningservices:CodeContainer": _ML + "/codes/{name}",
    "azure-native:machinelearningservices:CodeVersion": _ML + "/codes/{name}/versions/{version}",
    "azure-native:machinelearningservices:EnvironmentContainer": _ML + "/environments/{name}",
    "azure-native:machinelearningservices:EnvironmentVersion": _ML + "/environments/{name}/versions/{version}",
    "azure-native:machinelearningservices:OnlineEndpoint": _ML + "/onlineEndpoints/{endpointName}",
    "azure-native:machinelearningservices:OnlineDeployment": (_ML + "/onlineEndpoints/{endpointName}/deployments/"
                                                              "{deploymentName}"),
    "azure-native:machinelearningservices:BatchEndpoint": _ML + "/batchEndpoints/{endpointName}",
    "azure-native:machinelearningservices:BatchDeployment": (_ML + "/batchEndpoints/{endpointName}/deployments/"
                                                             "{deploymentName}"),
    # msi/resource-manager/Microsoft.ManagedIdentity/stable/*/ManagedIdentity.json
    "azure-native:managedidentity:UserAssignedIdentity": (_RG + "/providers/Microsoft.ManagedIdentity/"
                                                          "userAssignedIdentities/{resourceName}"),
    # authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json
    # (an extension resource: its scope is the id of what it is assigned on; customresources/custom_roleassignment.go)
    "azure-native:authorization:RoleAssignment": "/{scope}/providers/Microsoft.Authorization/roleAssignments/"
                                                 "{roleAssignmentName}",
    # containerinstance/resource-manager/Microsoft.ContainerInstance/stable/*/containerInstance.json
    "azure-native:containerinstance:ContainerGroup": (_RG + "/providers/Microsoft.ContainerInstance/containerGroups/"
                                                      "{containerGroupName}"),
    # containerservice/resource-manager/Microsoft.ContainerService/aks/stable/*/managedClusters.json
    "azure-native:containerservice:ManagedCluster": (_RG + "/providers/Microsoft.ContainerService/managedClusters/"
                                                     "{resourceName}"),
    "azure-native:containerservice:AgentPool": (_RG + "/providers/Microsoft.ContainerService/managedClusters/"
                                                "{resourceName}/agentPools/{agentPoolName}"),
    # dns/resource-manager/Microsoft.Network/stable/2018-05-01/dns.json (RecordSets_CreateOrUpdate)
    "azure-native:dns:RecordSet": (_RG + "/providers/Microsoft.Network/dnsZones/{zoneName}/{recordType}/"
                                   "{relativeRecordSetName}"),
    # iothub/resource-manager/Microsoft.Devices/stable/*/iothub.json (IotHubResource_CreateOrUpdate: `IotHubs`)
    "azure-native:iothub:IotHubResource": _RG + "/providers/Microsoft.Devices/IotHubs/{resourceName}",
    # kubernetesconfiguration/resource-manager/Microsoft.KubernetesConfiguration/extensions/stable/*/extensions.json
    "azure-native:kubernetesconfiguration:Extension": (_RG + "/providers/{clusterRp}/{clusterResourceName}/"
                                                       "{clusterName}/providers/Microsoft.KubernetesConfiguration/"
                                                       "extensions/{extensionName}"),
    # app/resource-manager/Microsoft.App/stable/*/ManagedEnvironments.json and ContainerApps.json
    "azure-native:app:ManagedEnvironment": _RG + "/providers/Microsoft.App/managedEnvironments/{environmentName}",
    "azure-native:app:ContainerApp": _RG + "/providers/Microsoft.App/containerApps/{containerAppName}",
    # monitor/resource-manager/Microsoft.Insights/preview/2021-05-01-preview/autoscale_API.json: the PUT path is
    # all lower case; the id its response carries (examples/createOrUpdateAutoscaleSetting.json), which the
    # provider keeps, spells `resourceGroups` and keeps `microsoft.insights/autoscalesettings`.
    "azure-native:monitor:AutoscaleSetting": (_RG + "/providers/microsoft.insights/autoscalesettings/"
                                              "{autoscaleSettingName}"),
}

# The auto-naming strategy of a name the program may leave out (the last path parameter), where it
# is not "random" (the provider's default for a resource's own name).
AUTONAME = {
    "azure-native:authorization:RoleAssignment": "uuid",
    "azure-native:storage:Blob": "copy",
}

_PARAM = re.compile(r"\{(\w+)\}")


def path_parameters(typ: str) -> list[str]:
    """The path parameters of a type's PUT path, in order (subscriptionId first where it has one)."""
    return _PARAM.findall(ARM_PATHS[typ])


def auto_name(typ: str, stack: str, name: str) -> str:
    """What the provider names a resource whose name input is absent, made stable for synth."""
    strategy = AUTONAME.get(typ, "random")
    if strategy == "uuid":
        return stable_uuid("autoname", stack, typ, name)
    if strategy == "copy":
        return name
    return name + hashlib.sha256(f"{stack}/{typ}/{name}".encode()).hexdigest()[:8]


def arm_id(typ: str, inputs: dict, name: str, stack: str) -> str | None:
    """The ARM id of an azure-native resource from its inputs, or None for a type not in ARM_PATHS."""
    path = ARM_PATHS.get(typ)
    if path is None:
        return None
    params = path_parameters(typ)
    values = {"subscriptionId": SUBSCRIPTION_ID}
    for param in params:
        if param in values:
            continue
        value = inputs.get(param)
        if value in (None, "") and param == params[-1]:
            value = auto_name(typ, stack, name)
        values[param] = str(value).lstrip("/") if param == "scope" else str(value)
    return _PARAM.sub(lambda m: values[m.group(1)], path)
