"""KubernetesCompute: the Azure ML extension installed on an AKS cluster and the cluster attached
to the workspace as a Kubernetes compute - the two steps `az k8s-extension create` and
`az ml compute attach` do, declared.

Sources for the inputs:
- Extension (azure-native `kubernetesconfiguration`, API 2023-05-01): extensionType
  `microsoft.azureml.kubernetes`, clusterRp `Microsoft.ContainerService`, clusterResourceName
  `managedClusters`; configuration settings from how-to-deploy-kubernetes-extension.md
  ("Review Azure Machine Learning extension configuration settings"): enableInference=True and
  inferenceRouterServiceType (required for inference), allowInsecureConnections (HTTP only when
  no certificate), internalLoadBalancerProvider=azure, sslCname with the protected settings
  sslCertPemFile / sslKeyPemFile, enableTraining=False, inferenceRouterHA.
- Compute (mfe.json 2025-12-01, `Kubernetes` compute): resourceId of the cluster,
  properties.namespace, properties.instanceTypes {name: {nodeSelector, resources{requests,limits}}},
  a system-assigned identity.
"""
from __future__ import annotations

import pulumi
from pulumi_azure_native import kubernetesconfiguration as kc
from pulumi_azure_native import machinelearningservices as ml

EXTENSION_TYPE = "microsoft.azureml.kubernetes"
EXTENSION_NAMESPACE = "azureml"


def extension_settings(*, service_type: str, internal_load_balancer: bool, ssl_cname: str | None) -> dict[str, str]:
    """The extension's (non-secret) configuration settings for inference only."""
    settings = {
        "enableTraining": "False",
        "enableInference": "True",
        "inferenceRouterServiceType": service_type,
        "inferenceRouterHA": "True",
        "allowInsecureConnections": "False" if ssl_cname else "True",
    }
    if ssl_cname:
        settings["sslCname"] = ssl_cname
    if internal_load_balancer:
        settings["internalLoadBalancerProvider"] = "azure"
    return settings


class KubernetesCompute(pulumi.ComponentResource):
    """The Azure ML extension on a cluster, and the cluster attached to the workspace."""

    compute_id: pulumi.Output[str]

    def __init__(self, name: str, *, cluster_id: pulumi.Input[str], cluster_name: pulumi.Input[str],
                 cluster_resource_group: pulumi.Input[str], location: str,
                 workspace_resource_group: pulumi.Input[str], workspace_name: pulumi.Input[str],
                 compute_name: str, namespace: str, instance_types: dict[str, dict],
                 settings: dict[str, str], tls: tuple[pulumi.Input[str], pulumi.Input[str]] | None,
                 tags: dict[str, str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("mldeploy:endpoints:KubernetesCompute", name, None, opts)
        protected = None
        if tls is not None:
            protected = pulumi.Output.secret({"sslCertPemFile": tls[0], "sslKeyPemFile": tls[1]})
        extension = kc.Extension(
            f"{name}-azureml-extension",
            extension_name="azureml",
            extension_type=EXTENSION_TYPE,
            cluster_rp="Microsoft.ContainerService",
            cluster_resource_name="managedClusters",
            cluster_name=cluster_name,
            resource_group_name=cluster_resource_group,
            auto_upgrade_minor_version=True,
            release_train="stable",
            scope=kc.ScopeArgs(cluster=kc.ScopeClusterArgs(release_namespace=EXTENSION_NAMESPACE)),
            identity=kc.IdentityArgs(type=kc.ResourceIdentityType.SYSTEM_ASSIGNED),
            configuration_settings=settings,
            configuration_protected_settings=protected,
            opts=pulumi.ResourceOptions(parent=self),
        )
        compute = ml.Compute(
            f"{name}-attach",
            compute_name=compute_name,
            location=location,
            resource_group_name=workspace_resource_group,
            workspace_name=workspace_name,
            identity=ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
            tags=tags,
            properties=ml.KubernetesArgs(
                compute_type="Kubernetes",
                resource_id=cluster_id,
                description=f"AKS cluster attached by mldeploy ({name})",
                properties=ml.KubernetesPropertiesArgs(
                    namespace=namespace,
                    instance_types={n: ml.InstanceTypeSchemaArgs(
                        resources=ml.InstanceTypeSchemaResourcesArgs(requests=t["resources"]["requests"],
                                                                     limits=t["resources"]["limits"]))
                        for n, t in instance_types.items()} or None,
                ),
            ),
            # The extension must run in the cluster before the workspace can attach it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[extension]),
        )
        self.compute_id = compute.id
        self.register_outputs({"computeId": self.compute_id})
