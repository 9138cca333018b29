"""KubernetesCompute: the Azure ML extension installed on an AKS cluster, the InstanceType custom
resources the deployments run on, and the cluster attached to the workspace as a Kubernetes
compute - what `az k8s-extension create`, `kubectl apply -f instance_types.yaml` and
`az ml compute attach` do, declared, in that order.

Every decision (the extension's settings, the instance types) arrives from
mldeploy/plan/kubernetes_compute.py, with its sources; this component only declares:
- Extension (azure-native `kubernetesconfiguration`, API 2023-05-01): extensionType
  `microsoft.azureml.kubernetes`, clusterRp `Microsoft.ContainerService`, clusterResourceName
  `managedClusters`, release namespace `azureml`, release train `stable`, as the CLI sends it.
  The certificate and key go only into configurationProtectedSettings (a Pulumi secret), base64
  PEM under scoringFe.sslCert / scoringFe.sslKey.
- InstanceType (amlarc.azureml.com/v1alpha1): through the cluster's Kubernetes provider, after
  the extension (which installs the CRD) and before the attach and the deployments.
- Compute (mfe.json 2025-12-01, `Kubernetes` compute): resourceId of the cluster,
  properties.namespace, a system-assigned identity; no instanceTypes (they live in the cluster).
- Namespace: the compute's namespace, unless Kubernetes (`default`) or the extension (`azureml`)
  makes it: "The namespace you plan to specify when attaching the cluster to Azure Machine Learning
  workspace should be previously created in your cluster" (MicrosoftDocs azure-docs,
  how-to-attach-kubernetes-to-workspace.md, "Multi-attach and workload isolation"). Nothing created
  any other namespace a stack named, so such an attach failed on a cluster mldeploy had just made.
"""
from __future__ import annotations

import base64

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import kubernetesconfiguration as kc
from pulumi_azure_native import machinelearningservices as ml

from mldeploy.plan.kubernetes_compute import EXTENSION_NAMESPACE, SSL_CERT_SETTING, SSL_KEY_SETTING, InstanceTypePlan
from mldeploy.render.k8s import instance_type as render_instance_type

EXTENSION_TYPE = "microsoft.azureml.kubernetes"
# Namespaces that exist without mldeploy: Kubernetes' own `default`, the extension's release namespace.
EXISTING_NAMESPACES = frozenset({"default", EXTENSION_NAMESPACE})


def protected_tls_settings(certificate_pem: str, key_pem: str) -> dict[str, str]:
    """The CLI's protected settings for --config-protected sslCertPemFile/sslKeyPemFile: each
    file's text, ASCII, base64-encoded (AzureMLKubernetes.py `__set_up_inference_ssl`). The CLI
    also leaves the two local file paths in the map; Azure's ARM template
    (AML-Kubernetes files/deployextension.json) sends only the scoringFe keys, as here."""
    return {SSL_CERT_SETTING: base64.b64encode(certificate_pem.encode("ascii")).decode(),
            SSL_KEY_SETTING: base64.b64encode(key_pem.encode("ascii")).decode()}


class KubernetesCompute(pulumi.ComponentResource):
    """The Azure ML extension on a cluster, its instance types, and the cluster attached to the workspace."""

    compute_id: pulumi.Output[str]

    def __init__(self, name: str, *, cluster_id: pulumi.Input[str], cluster_name: pulumi.Input[str],
                 cluster_resource_group: pulumi.Input[str], location: str,
                 workspace_resource_group: pulumi.Input[str], workspace_name: pulumi.Input[str],
                 compute_name: str, namespace: str, instance_types: tuple[InstanceTypePlan, ...],
                 settings: dict[str, pulumi.Input[str]], tls: tuple[pulumi.Input[str], pulumi.Input[str]] | None,
                 provider: k8s.Provider, tags: dict[str, str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("mldeploy:endpoints:KubernetesCompute", name, None, opts)
        protected = None
        if tls is not None:
            protected = pulumi.Output.secret(pulumi.Output.all(tls[0], tls[1]).apply(
                lambda pem: protected_tls_settings(pem[0], pem[1])))
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
        # The extension installs the InstanceType CRD: the custom resources follow it, on the
        # cluster's own provider (the deployer's Entra ID credentials).
        declared = []
        for plan in instance_types:
            manifest = render_instance_type(plan)
            declared.append(k8s.apiextensions.CustomResource(
                f"{name}-instance-type-{plan.name}",
                api_version=manifest["apiVersion"], kind=manifest["kind"],
                metadata=manifest["metadata"], spec=manifest["spec"],
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[extension])))
        namespaces = []
        if namespace not in EXISTING_NAMESPACES:
            # Applied server-side (the cluster provider): a namespace someone created already is adopted.
            namespaces.append(k8s.core.v1.Namespace(
                f"{name}-namespace-{namespace}",
                metadata={"name": namespace, "labels": {"app.kubernetes.io/managed-by": "mldeploy"}},
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[extension])))
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
                properties=ml.KubernetesPropertiesArgs(namespace=namespace),
            ),
            # The extension must run in the cluster before the workspace can attach it, the
            # instance types exist before the attach lists them and any deployment asks for one,
            # and the compute's namespace before the attach names it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[extension, *declared, *namespaces]),
        )
        self.compute_id = compute.id
        self.register_outputs({"computeId": self.compute_id})
