"""Pure builders of the Kubernetes objects of one AKS scoring service (plain dicts, camelCase,
as the API server takes them); the pod itself is built in `render/k8s_pod.py`.

One service = one Deployment per variant (stable, and an optional canary), each pod a gateway
(nginx) in front of the scorer (azmlinfsrv); one Service in front of all pods; per variant an
HPA (or fixed replicas) and a PodDisruptionBudget; one NetworkPolicy.
"""
from __future__ import annotations

import json
import posixpath
from typing import Any, Mapping

import yaml

from mldeploy.plan.kubernetes_compute import INSTANCE_TYPE_API_VERSION, INSTANCE_TYPE_KIND, InstanceTypePlan
from mldeploy.plan.gateway import GatewaySpec
from mldeploy.plan.workload import Variant, WorkloadPlan, deployment_name, traffic_config_map_name, traffic_file
from mldeploy.render.gateway import render_upstreams
from mldeploy.render.k8s_pod import (
    COLLECTOR_SECRET_DIR, GATEWAY_PORT, LABEL, MDC_PORT, TRAFFIC_WEIGHTS_ANNOTATION, _meta, collector_container,
    gateway_container, grace_seconds, labels, namespace, placement, scorer_container, selector,
)
from mldeploy.contract import KEYS_MAP_NAME, SCORER_PORT

__all__ = ["namespace", "deployment", "traffic_config", "scorer_service", "service", "autoscaler", "disruption_budget",
           "network_policy", "service_port", "certificate", "collector_config", "deployment_name", "labels",
           "instance_type"]

CHECKOV_SKIP = "checkov.io/skip{n}"


def _skips(plan: WorkloadPlan, variant: Variant) -> dict[str, str]:
    """checkov checks this pod knowingly does not meet, each with its reason."""
    reasons = []
    if plan.app_insights or plan.collect_model_data:
        reasons.append("CKV_K8S_35=azmlinfsrv reads the App Insights key only from the "
                       "AML_APP_INSIGHTS_KEY environment variable, not from a file")
    return {CHECKOV_SKIP.format(n=i + 1): r for i, r in enumerate(reasons)}


def deployment(plan: WorkloadPlan, variant: Variant, secrets: dict[str, Any]) -> dict:
    """The Deployment of one variant. `secrets` maps role -> object name: gateway-conf (ConfigMap),
    keys, tls, insights, collector, collector-conf (ConfigMap). With a canary the gateway also
    mounts the service's traffic ConfigMap (traffic_config) as a whole volume - not subPath,
    which the kubelet never updates - so a weight move reaches running pods without a new pod
    template (kubernetes.io "ConfigMaps", "Mounted ConfigMaps are updated automatically")."""
    volumes: list[dict] = [
        {"name": "gateway-conf", "configMap": {"name": secrets["gateway-conf"]}},
        {"name": "gateway-run", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
        {"name": "gateway-temp", "emptyDir": {"sizeLimit": f"{plan.gateway_temp_mb}Mi"}},  # buffered bodies
        {"name": "scorer-tmp", "emptyDir": {"sizeLimit": "1Gi"}},
    ]
    if plan.auth:
        volumes.append({"name": "gateway-keys", "secret": {
            "secretName": secrets["keys"], "defaultMode": 0o440,
            "items": [{"key": KEYS_MAP_NAME, "path": KEYS_MAP_NAME}]}})
    if plan.tls:
        volumes.append({"name": "gateway-tls", "secret": {"secretName": secrets["tls"], "defaultMode": 0o440}})
    if plan.canary:
        volumes.append({"name": "gateway-traffic", "configMap": {"name": traffic_config_map_name(plan)}})
    containers = [gateway_container(plan, variant), scorer_container(plan, variant, secrets)]
    sidecars = []
    if plan.collect_model_data:
        sidecars.append(collector_container(plan, variant, secrets))
        volumes += [{"name": "collector-conf", "configMap": {"name": secrets["collector-conf"]}},
                    {"name": "collector-secret", "secret": {"secretName": secrets["collector"], "defaultMode": 0o440}},
                    {"name": "collector-data", "emptyDir": {"sizeLimit": "1Gi"}}]
    template_meta = {
        "labels": {**labels(plan, variant), f"{LABEL}/image-tag": variant.image_tag},
        # No weight here: a weight in the pod template would roll the pods on every move.
        "annotations": {f"{LABEL}/models": ",".join(f"{m}:{v}" for m, v in variant.models)},
    }
    spec: dict[str, Any] = {
        "selector": {"matchLabels": selector(plan, variant)},
        "revisionHistoryLimit": 5,
        # A new image or model version rolls one extra pod in at a time; none leaves before
        # its replacement is ready, so an update has no downtime (guide: "update the web service").
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "minReadySeconds": 5,
        "progressDeadlineSeconds": 600,
        "template": {
            "metadata": template_meta,
            "spec": {
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": {"runAsNonRoot": True, "fsGroup": 10001,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                # In-flight requests may take the whole scoring timeout after the gateway's
                # preStop pause; the scorer's pause outlasts that drain (k8s_pod.scorer_prestop_seconds),
                # then its stop and the sidecars' (k8s_pod.grace_seconds).
                "terminationGracePeriodSeconds": grace_seconds(plan),
                "topologySpreadConstraints": [{
                    "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": selector(plan, variant)},
                }],
                **({"initContainers": sidecars} if sidecars else {}),
                "containers": containers,
                "volumes": volumes,
                **placement(plan),
            },
        },
    }
    if not plan.scaling.autoscale:
        spec["replicas"] = plan.scaling.replicas
    # With an HPA the Deployment declares no `replicas`: once the HPA has scaled it,
    # kube-controller-manager owns `.spec.replicas` (scale subresource), and a server-side apply
    # that declares the field fails with a conflict on the next update (pulumi-kubernetes #2491;
    # Kubernetes docs, "Server-Side Apply" > "Transferring ownership": leave replicas to the HPA).
    # A new Deployment starts at 1 pod and the HPA raises it to minReplicas within its first sync.
    meta = _meta(plan, deployment_name(plan, variant), variant,
                 annotations={**dict(plan.markers), **_skips(plan, variant)})
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def traffic_config(plan: WorkloadPlan, gateways: Mapping[str, GatewaySpec]) -> dict:
    """A canary service's traffic ConfigMap: per variant, the upstream servers and weights its
    gateway includes (render_upstreams), at a fixed name, updated in place - never `immutable`,
    unlike the auto-named ConfigMaps whose change must roll the pods. The weights by
    Deployment are repeated in an annotation for reviewers (`mldeploy diff`'s traffic table)."""
    weights = {deployment_name(plan, v): v.weight for v in plan.variants}
    meta = _meta(plan, traffic_config_map_name(plan),
                 annotations={TRAFFIC_WEIGHTS_ANNOTATION: json.dumps(weights, sort_keys=True)})
    data = {posixpath.basename(traffic_file(v)): render_upstreams(gateways[v.name]) for v in plan.variants}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def service_port(plan: WorkloadPlan) -> int:
    return 443 if plan.tls else 80


def service(plan: WorkloadPlan) -> dict:
    """The entry point: all pods of all variants (their gateways split the traffic)."""
    annotations: dict[str, str] = {}
    if plan.service_type == "LoadBalancer":
        if plan.internal_load_balancer:
            annotations["service.beta.kubernetes.io/azure-load-balancer-internal"] = "true"
        if plan.dns_label:
            annotations["service.beta.kubernetes.io/azure-dns-label-name"] = plan.dns_label
    spec = {
        "type": plan.service_type,
        "selector": selector(plan),
        "ports": [{"name": "https" if plan.tls else "http", "port": service_port(plan),
                   "targetPort": "gateway", "protocol": "TCP"}],
    }
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": _meta(plan, plan.service, annotations=annotations), "spec": spec}


def scorer_service(plan: WorkloadPlan, variant: Variant) -> dict:
    """ClusterIP to one variant's scorers, for the other variant's gateways (canary only)."""
    name = f"{deployment_name(plan, variant)}-scorer"
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(plan, name, variant),
            "spec": {"type": "ClusterIP", "selector": selector(plan, variant),
                     "ports": [{"name": "scorer", "port": SCORER_PORT, "targetPort": "scorer", "protocol": "TCP"}]}}


def autoscaler(plan: WorkloadPlan, variant: Variant) -> dict:
    """autoscaling/v2 HPA on the scorer container's CPU: up within seconds, down after a minute."""
    s = plan.scaling
    min_replicas = s.min_replicas if variant.name == "stable" else 1
    spec = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment_name(plan, variant)},
        "minReplicas": min_replicas,
        "maxReplicas": max(s.max_replicas, min_replicas),
        # The scorer's own CPU, not the pod average: the gateway's small request would dilute it.
        "metrics": [{"type": "ContainerResource", "containerResource": {
            "name": "cpu", "container": "scorer",
            "target": {"type": "Utilization", "averageUtilization": s.target_utilization}}}],
        "behavior": {
            # Up: no stabilization, double or +4 pods every 15 s, whichever is more.
            "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
                {"type": "Percent", "value": 100, "periodSeconds": 15},
                {"type": "Pods", "value": 4, "periodSeconds": 15}]},
            # Down: only after 60 s of lower load, and at most half the pods a minute.
            "scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max", "policies": [
                {"type": "Percent", "value": 50, "periodSeconds": 60}]},
        },
    }
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": _meta(plan, deployment_name(plan, variant), variant), "spec": spec}


def disruption_budget(plan: WorkloadPlan, variant: Variant) -> dict:
    """Node drains evict one pod of a variant at a time; a stuck (unready) pod never blocks them."""
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": _meta(plan, deployment_name(plan, variant), variant),
            "spec": {"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow",
                     "selector": {"matchLabels": selector(plan, variant)}}}


def network_policy(plan: WorkloadPlan) -> dict:
    """In: the gateway port from anywhere (the load balancer), the scorer port only from this
    service's own pods (canary split). Out: DNS, HTTPS (App Insights, storage), own scorers.

    The scorer-port rules are there with or without a canary: adding or removing one (a promotion)
    must not change the policy. Its update is applied at once, in parallel with the stable
    Deployment's rolling update, while the old stable pods' gateways still send the canary's share
    to the canary's pods until they are replaced; the cluster then dropped those connections (a
    connect timeout, which `proxy_next_upstream error` does not retry: a 504 for each)."""
    same_service = [{"podSelector": {"matchLabels": selector(plan)}}]
    ingress = [{"ports": [{"port": GATEWAY_PORT, "protocol": "TCP"}]},
               {"from": same_service, "ports": [{"port": SCORER_PORT, "protocol": "TCP"}]}]
    egress = [
        {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
        {"ports": [{"port": 443, "protocol": "TCP"}]},
        {"to": same_service, "ports": [{"port": SCORER_PORT, "protocol": "TCP"}]},
    ]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": _meta(plan, plan.service),
            "spec": {"podSelector": {"matchLabels": selector(plan)}, "policyTypes": ["Ingress", "Egress"],
                     "ingress": ingress, "egress": egress}}


def certificate(plan: WorkloadPlan) -> dict:
    """The plan's cert-manager Certificate (plan.certificate must be set). `pulumi up` waits for it
    to be Ready (pulumi-kubernetes' `pulumi.com/waitFor` annotation): a certificate that cannot be
    issued fails the update with cert-manager's reason, instead of leaving pods waiting for a
    Secret that never comes."""
    cert = plan.certificate
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": _meta(plan, plan.service, annotations={"pulumi.com/waitFor": "condition=Ready"}),
            "spec": {"secretName": cert.secret_name, "dnsNames": [cert.host],
                     "issuerRef": {"name": cert.issuer, "kind": cert.issuer_kind, "group": "cert-manager.io"},
                     "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}}}


def instance_type(plan: InstanceTypePlan) -> dict:
    """An Azure ML InstanceType (how-to-manage-kubernetes-instance-types.md, "Create a custom
    instance type"): cluster-scoped like the documented example (no namespace), cpu/memory
    requests equal to limits, the plan's nodeSelector.

    Scope, from what Microsoft publishes (no CRD manifest is public: neither Azure/AML-Kubernetes@b533ee43
    nor the docs ship `instancetypes.amlarc.azureml.com`'s definition; the extension installs it):
    MicrosoftDocs/azure-ai-docs@198cec07 articles/machine-learning/how-to-manage-kubernetes-instance-types.md
    (ms.date 2025-07-23) gives `name` as "String values that must be unique in a cluster", writes every
    InstanceType and InstanceTypeList with `metadata.name` only, and lists them with `kubectl get
    instancetype` without `-n`; Azure/AML-Kubernetes docs/instance-type.md and .github/amlarc-tool.sh
    (setup_instance_type, `kubectl apply` with no namespace) do the same. So no namespace here, and
    synth's id for it is its bare name (synth/provider_ids.py: pulumi-kubernetes' `FqObjName`). Fields,
    all from that page: apiVersion amlarc.azureml.com/v1alpha1, kind InstanceType, spec.nodeSelector (map,
    optional), spec.resources.requests/limits cpu and memory (strings, required, not zero),
    nvidia.com/gpu (integer, limits only). A deployment names it by that name: `instance_type` in the
    deployment YAML / KubernetesOnlineDeployment, properties.instanceType in the API; none given is
    `defaultinstancetype` (made at attach, not listed by kubectl; the page's YAML requests 100m/2Gi
    and limits 2 CPUs/2Gi, its prose says 8 GB)."""
    resources = {"cpu": plan.cpu, "memory": plan.memory}
    return {"apiVersion": INSTANCE_TYPE_API_VERSION, "kind": INSTANCE_TYPE_KIND,
            "metadata": {"name": plan.name},
            "spec": {"nodeSelector": dict(plan.node_selector),
                     "resources": {"requests": dict(resources), "limits": dict(resources)}}}


def collector_config(plan: WorkloadPlan, container: str) -> str:
    """Vector config: receive azureml-ai-monitoring payloads from the scorer, write them as JSON
    lines to the workspace blob store in Azure ML's data-collector layout."""
    prefix = f"modelDataCollector/{plan.service}/{{{{ variant }}}}/{{{{ collection }}}}/%Y/%m/%d/%H/"
    headers = ["ce-type", "ce-time", "ce-x-request-id", "ce-model-version", "trace-id", "ce-collect-data-type"]
    doc = {
        "data_dir": "/var/lib/vector",
        "secret": {"files": {"type": "directory", "path": COLLECTOR_SECRET_DIR}},
        # All addresses, not loopback: the kubelet's probes connect to the pod IP. Only the
        # scorer sends here (AZUREML_MDC_HOST=127.0.0.1); the NetworkPolicy admits no other
        # pod or client to this port.
        "sources": {"mdc": {"type": "http_server", "address": f"0.0.0.0:{MDC_PORT}",
                            "path": "/modeldata/log", "method": "POST", "strict_path": True,
                            "headers": headers, "decoding": {"codec": "bytes"}}},
        "transforms": {"shape": {"type": "remap", "inputs": ["mdc"], "source": "\n".join([
            '.collection = replace(string(."ce-type") ?? "azureml.inference.unknown", "azureml.inference.", "")',
            '.variant = get_env_var("MDC_VARIANT") ?? "stable"',
            ".data = parse_json(.message) ?? .message",
            "del(.message)",
        ])}},
        "sinks": {"blob": {"type": "azure_blob", "inputs": ["shape"],
                           # Read from the mounted Secret by Vector's directory secret backend.
                           "connection_string": "SECRET[files.connection_string]",
                           "container_name": container, "blob_prefix": prefix,
                           "encoding": {"codec": "json"}, "compression": "gzip",
                           "batch": {"timeout_secs": 60}}},
    }
    return yaml.safe_dump(doc, sort_keys=False)
