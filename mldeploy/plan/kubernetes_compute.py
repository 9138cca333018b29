"""Decisions for the Azure ML side of a cluster that serves Kubernetes online endpoints: the
Azure ML extension's configuration settings, the InstanceType custom resources' plan, the compute
attach, and which clusters are attached. Pure: cluster ids and names arrive as opaque values
(Pulumi outputs in the program), nothing here touches them. What reads the endpoints' settings
(router options, instance types, the load-time rules) is the target's: mldeploy/targets/kubernetes_endpoint/.

Sources (read 2026-12-04):
- Extension settings: what `az k8s-extension create --extension-type Microsoft.AzureML.Kubernetes
  --cluster-type managedClusters` sends (Azure/azure-cli-extensions,
  src/k8s-extension/azext_k8s_extension/partner_extensions/AzureMLKubernetes.py, commit 3f6c0dae,
  `Create`, `__validate_scoring_fe_settings`, `__set_up_inference_ssl`, `_dereference`), for the
  options of how-to-deploy-kubernetes-extension.md ("Review Azure Machine Learning extension
  configuration settings"). Azure's own ARM template for the extension
  (Azure/AML-Kubernetes files/deployextension.json) sends the same keys and values.
- Instance types: how-to-manage-kubernetes-instance-types.md ("Create a custom instance type": an
  `InstanceType` custom resource, amlarc.azureml.com/v1alpha1, of the CRD the extension installs;
  name unique in the cluster; cpu/memory requests and limits required, not zero) and
  reference-yaml-deployment-kubernetes-online.md (`instance_type`: "configured via the Kubernetes
  cluster custom resource definition (CRD), hence they aren't part of the Azure Machine Learning
  YAML schema for attaching Kubernetes compute").
- A cluster SDK v1 attached (AksCompute, v1's azureml-fe in `default`): not supported for the extension
  until "the legacy azureml-fe related resources" are cleaned up (MicrosoftDocs/azure-ai-docs@07dbc3a0
  articles/machine-learning/how-to-deploy-kubernetes-extension.md, Limitations; the install's health check
  fails E45004 AZUREML_FE_ROLE_CONFLICT / E45005 AZUREML_FE_DEPLOYMENT_CONFLICT, @2e56a28e
  how-to-troubleshoot-kubernetes-extension.md; the kubectl deletions: v1/how-to-create-attach-kubernetes.md,
  "Delete azureml-fe related resources"). The coexistence preview (`scoringFe.enableUpgrade=true` plus an
  annotation on v1's azureml-fe, Azure/AML-Kubernetes@b533ee43 docs/attach-compute-on-aks-v1-cluster.md) is
  not sent; its namespace rule is kept (targets/kubernetes_endpoint/plan.py, _check_v1_namespace).
- allowInsecureConnections: "default False. Can be set to True to use inference HTTP endpoints for
  development or test purposes"; sslCname "Required if allowInsecureConnections=False"; no
  Microsoft-made certificate as v1's enable_ssl(leaf_domain_label) had (how-to-deploy-kubernetes-extension.md,
  configuration settings table).
- Local accounts: how-to-deploy-kubernetes-extension.md, Limitations: "Disabling local accounts for
  AKS is not supported by Azure Machine Learning".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mldeploy.plan.clouds import cloudapp_zone

if TYPE_CHECKING:
    from mldeploy.config.stack import StackSettings

# The extension's release namespace (what `az k8s-extension create` sends; its components - relayserver,
# azureml-fe, the inference operator - run there: "check that all pods under "azureml" namespace are in
# 'Running' state: kubectl get pods -n azureml", MicrosoftDocs/azure-docs, how-to-attach-arc-kubernetes.md).
EXTENSION_NAMESPACE = "azureml"
INSTANCE_TYPE_API_VERSION = "amlarc.azureml.com/v1alpha1"
INSTANCE_TYPE_KIND = "InstanceType"
# Kubernetes' well-known node label (kubernetes.io/docs/reference/labels-annotations-taints,
# "kubernetes.io/os"): the scoring images are Linux images, so their pods go to Linux nodes only.
INSTANCE_TYPE_NODE_SELECTOR = (("kubernetes.io/os", "linux"),)
# The extension deploys three inference routers for HA, "which requires at least three worker
# nodes"; fewer nodes: inferenceRouterHA=False (how-to-deploy-kubernetes-extension.md), and the
# CLI then also sets clusterPurpose=DevTest (AzureMLKubernetes.py, Create: isSmallScale).
ROUTER_HA_MIN_NODES = 3
# Protected settings the CLI derives from --config-protected sslCertPemFile/sslKeyPemFile: the
# files' PEM text, base64-encoded (`__set_up_inference_ssl`).
SSL_CERT_SETTING = "scoringFe.sslCert"
SSL_KEY_SETTING = "scoringFe.sslKey"


@dataclass(frozen=True)
class InstanceTypePlan:
    """One InstanceType custom resource: requests = limits (a Guaranteed pod). mldeploy's choice: v1's
    AksWebservice.deploy_configuration took separate cpu_cores_limit / memory_gb_limit ("The max number of
    CPU cores this Webservice is allowed to use", azureml-core AksServiceDeploymentConfiguration), which
    the stack has no key for, and what v1 set as the limit without them is not published."""

    name: str
    cpu: str  # Kubernetes quantity, millicores ("1500m")
    memory: str  # Kubernetes quantity, MiB ("1536Mi")
    node_selector: tuple[tuple[str, str], ...] = INSTANCE_TYPE_NODE_SELECTOR


@dataclass(frozen=True)
class RouterOptions:
    """What `az k8s-extension create --config ...` would be given for the cluster's endpoints."""

    service_type: str  # inferenceRouterServiceType: loadBalancer | nodePort | clusterIP
    internal_load_balancer: bool
    ssl_cname: str | None
    tls: bool  # a certificate is sent (sslCertPemFile/sslKeyPemFile); else allowInsecureConnections


def extension_settings(options: RouterOptions, *, cluster_id: Any, cluster_name: Any, location: str,
                       node_count: int | None, cloud: str = "public") -> dict[str, Any]:
    """The extension's configurationSettings, as `az k8s-extension create` sends them for AKS
    (managedClusters) given `options`. `node_count` None: not known (the router HA default stays).

    The CLI's additions, in its order: scoringFe.serviceType.nodePort (nodePort) or
    .internalLoadBalancer (internalLoadBalancerProvider=azure) as the Python bool True, which
    its SDK serializes into the string map as "True"; for clusters under three nodes
    clusterPurpose=DevTest; cluster_name = the cluster's ARM id; domain =
    "<location>.cloudapp.azure.com" (the CLI reads a misspelt 'doamin' key, so never an override);
    location and jobSchedulerLocation = the cluster's location, lowercase; cluster_name_friendly =
    its name; servicebus.enabled=false; on AKS relayserver.enabled=false and
    nginxIngress.enabled=true; then `_dereference` copies cluster_name to clusterId and
    prometheus.prometheusSpec.externalLabels.cluster_name."""
    location = location.lower().replace(" ", "")
    settings: dict[str, Any] = {
        "enableTraining": "False",
        "enableInference": "True",
        "inferenceRouterServiceType": options.service_type,
        "allowInsecureConnections": "False" if options.tls else "True",
    }
    if node_count is not None:
        settings["inferenceRouterHA"] = "True" if node_count >= ROUTER_HA_MIN_NODES else "False"
    if options.ssl_cname:
        settings["sslCname"] = options.ssl_cname
    if options.internal_load_balancer:
        settings["internalLoadBalancerProvider"] = "azure"
    if options.service_type.lower() == "nodeport":
        settings["scoringFe.serviceType.nodePort"] = "True"
    elif options.internal_load_balancer:
        settings["scoringFe.serviceType.internalLoadBalancer"] = "True"
    if node_count is not None and node_count < ROUTER_HA_MIN_NODES:
        settings["clusterPurpose"] = "DevTest"
    settings.update({
        "cluster_name": cluster_id,
        # The cloud's zone (plan/clouds.py). The CLI (azure-cli-extensions k8s-extension AzureMLKubernetes.py,
        # commit 0076dcff)
        # writes cloudapp.azure.com whatever the cloud; off the public cloud this is never reached
        # (plan/stack.py check_cloud refuses kubernetes-endpoint there), so the two agree where it runs.
        "domain": f"{location}.{cloudapp_zone(cloud)}",
        "location": location,
        "jobSchedulerLocation": location,
        "cluster_name_friendly": cluster_name,
        "servicebus.enabled": "false",
        "relayserver.enabled": "false",
        "nginxIngress.enabled": "true",
        "clusterId": cluster_id,
        "prometheus.prometheusSpec.externalLabels.cluster_name": cluster_id,
    })
    return settings


def kubernetes_endpoint_clusters(settings: "StackSettings") -> set[str]:
    """Clusters an Azure ML Kubernetes compute attaches: they keep local accounts (Azure ML does
    not support AKS with local accounts disabled); every other cluster disables them."""
    return {attached[0] for s in settings.services.values() if (attached := s.attached_compute()) is not None}
