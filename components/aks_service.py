"""AksService (guide: `AksWebservice.deploy_configuration`): the Kubernetes objects of one
scoring service, declared on its cluster's provider from the pure builders in `render/k8s.py`.

ConfigMaps and Secrets are auto-named and replaced on change (Secrets by the provider's
default; ConfigMaps because they are marked `immutable`, which the cluster's provider - mutable
ConfigMaps enabled - still replaces), so a new gateway config, key or certificate gives the
Deployment a new name to mount and rolls its pods - with `maxUnavailable: 0`, without downtime.
The one exception is a canary's traffic ConfigMap: fixed name, updated in place, read live by
the gateways, so moving a weight rolls nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from mldeploy.components.keys import service_keys
from mldeploy.contract import KEYS_MAP_NAME, SCORE_PATH, SWAGGER_PATH
from mldeploy.plan.gateway import GatewaySpec
from mldeploy.plan.secret_env import is_secret, secret_env_key
from mldeploy.plan.workload import WorkloadPlan
from mldeploy.render import k8s as manifests
from mldeploy.render.gateway import render_keys_map, render_nginx_conf
from mldeploy.render.k8s_pod import SECRET_KEYS_ANNOTATION


@dataclass(frozen=True)
class Telemetry:
    """The workspace's Application Insights, both values secret."""

    instrumentation_key: pulumi.Input[str]
    connection_string: pulumi.Input[str]


@dataclass(frozen=True)
class ModelDataSink:
    """Where collected model data goes: a blob container, reached with a secret connection string."""

    connection_string: pulumi.Input[str]
    container: pulumi.Input[str]


class AksService(pulumi.ComponentResource):
    """Gateway + scorer pods for one service (and its canary), with Service, HPA, PDB, policy."""

    scoring_uri: pulumi.Output[str]
    swagger_uri: pulumi.Output[str]
    primary_key: pulumi.Output[str] | None
    secondary_key: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        *,
        plan: WorkloadPlan,
        provider: k8s.Provider,
        gateways: Mapping[str, GatewaySpec],
        host: str | None,
        keys: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None,
        tls: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None,
        telemetry: Telemetry | None = None,
        model_data: ModelDataSink | None = None,
        pods_wait_for: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mldeploy:aks:AksService", name, None, opts)
        ns = k8s.core.v1.Namespace(f"{name}-namespace", **_args(manifests.namespace(plan)),
                                   opts=pulumi.ResourceOptions(parent=self, provider=provider))
        on_cluster = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[ns])
        meta = {"namespace": plan.namespace, "labels": manifests.labels(plan)}
        # What the Deployments wait for: the caller's (a node pool to run on), then a certificate.
        pods_wait_for = list(pods_wait_for)
        names = self._pod_secrets(name, plan, meta, keys, tls, telemetry, model_data, on_cluster, pods_wait_for)
        self._workloads(name, plan, gateways, meta, names, on_cluster, pods_wait_for)
        svc = k8s.core.v1.Service(f"{name}", **_args(manifests.service(plan)), opts=on_cluster)

        # The Service listens on the scheme's default port (443 or 80): no port in the URI.
        scheme = "https" if plan.tls else "http"
        address = pulumi.Output.from_input(host) if host else svc.status.apply(_ingress_address)
        base = address.apply(lambda a: f"{scheme}://{a}")
        self.scoring_uri = base.apply(lambda b: b + SCORE_PATH)
        self.swagger_uri = base.apply(lambda b: b + SWAGGER_PATH)
        self.register_outputs({"scoringUri": self.scoring_uri, "swaggerUri": self.swagger_uri})

    def _pod_secrets(self, name: str, plan: WorkloadPlan, meta: dict,
                     keys: tuple[pulumi.Input[str], pulumi.Input[str]] | None,
                     tls: tuple[pulumi.Input[str], pulumi.Input[str]] | None, telemetry: Telemetry | None,
                     model_data: ModelDataSink | None, on_cluster: pulumi.ResourceOptions,
                     pods_wait_for: list[pulumi.Resource]) -> dict[str, pulumi.Input[str]]:
        """The Secrets and ConfigMaps the pods mount (keys, TLS, App Insights, model data collector), by
        role: their names. Sets the keys; a cert-manager Certificate joins `pods_wait_for`."""
        names: dict[str, pulumi.Input[str]] = {}
        self.primary_key = self.secondary_key = None
        if plan.auth:
            self.primary_key, self.secondary_key = service_keys(self, name, keys, aliased=False)
            keys_map = pulumi.Output.secret(pulumi.Output.all(self.primary_key, self.secondary_key)
                                            .apply(lambda k: render_keys_map(k[0], k[1])))
            names["keys"] = self._secret(f"{name}-keys", meta, {KEYS_MAP_NAME: keys_map}, "Opaque", on_cluster)
        if tls is not None:
            names["tls"] = self._secret(f"{name}-tls", meta, {"tls.crt": pulumi.Output.secret(tls[0]),
                                                              "tls.key": pulumi.Output.secret(tls[1])},
                                        "kubernetes.io/tls", on_cluster)
        elif plan.certificate is not None:
            names["tls"] = plan.certificate.secret_name
            obj = manifests.certificate(plan)
            # The pods mount the Secret it creates: they start once it is issued.
            pods_wait_for.append(k8s.apiextensions.CustomResource(
                f"{name}-certificate", api_version=obj["apiVersion"], kind=obj["kind"],
                metadata=obj["metadata"], spec=obj["spec"], opts=on_cluster))
        if telemetry is not None:
            names["insights"] = self._secret(f"{name}-appinsights", meta, {
                "instrumentation-key": pulumi.Output.secret(telemetry.instrumentation_key),
                "connection-string": pulumi.Output.secret(telemetry.connection_string)}, "Opaque", on_cluster)
        env_secrets = {secret_env_key(variant.name, k): pulumi.Output.secret(v.reveal())
                       for variant in plan.variants for k, v in variant.env if is_secret(v)}
        if env_secrets:
            names["env"] = self._secret(f"{name}-env", meta, env_secrets, "Opaque", on_cluster)
        if model_data is not None:
            names["collector"] = self._secret(f"{name}-model-data", meta, {
                "connection_string": pulumi.Output.secret(model_data.connection_string)}, "Opaque", on_cluster)
            conf = pulumi.Output.from_input(model_data.container).apply(
                lambda container: manifests.collector_config(plan, container))
            names["collector-conf"] = k8s.core.v1.ConfigMap(
                f"{name}-model-data", metadata=meta, data={"vector.yaml": conf}, immutable=True,
                opts=on_cluster).metadata.name
        return names

    def _workloads(self, name: str, plan: WorkloadPlan, gateways: Mapping[str, GatewaySpec], meta: dict,
                   names: dict[str, pulumi.Input[str]], on_cluster: pulumi.ResourceOptions,
                   pods_wait_for: list[pulumi.Resource]) -> None:
        """Per variant: gateway ConfigMap, Deployment, HPA, PDB (a canary's scorer Services and traffic
        ConfigMap first); then the NetworkPolicy."""
        # A canary pod's gateway resolves the other variant's scorer Service when nginx starts
        # ("host not found in upstream" is fatal): the Services exist before any Deployment.
        scorer_services = [
            k8s.core.v1.Service(f"{name}-{variant.name}-scorer",
                                **_args(manifests.scorer_service(plan, variant)), opts=on_cluster)
            for variant in plan.variants] if plan.canary else []
        # The canary's weights: one fixed-name ConfigMap every gateway reads (render/k8s.py).
        traffic = [k8s.core.v1.ConfigMap(f"{name}-traffic", **_args(manifests.traffic_config(plan, gateways)),
                                         opts=on_cluster)] if plan.canary else []
        pods_after = pulumi.ResourceOptions.merge(
            on_cluster, pulumi.ResourceOptions(depends_on=[*scorer_services, *traffic, *pods_wait_for]))
        for variant in plan.variants:
            conf = k8s.core.v1.ConfigMap(f"{name}-gateway-{variant.name}", metadata=meta,
                                         data={"nginx.conf": render_nginx_conf(gateways[variant.name])},
                                         immutable=True, opts=on_cluster)
            refs = {**names, "gateway-conf": conf.metadata.name}
            dep = manifests.deployment(plan, variant, refs)
            k8s.apps.v1.Deployment(f"{name}-{variant.name}", **_args(dep), opts=pods_after)
            if plan.scaling.autoscale:
                k8s.autoscaling.v2.HorizontalPodAutoscaler(
                    f"{name}-{variant.name}", **_args(manifests.autoscaler(plan, variant)), opts=on_cluster)
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-{variant.name}", **_args(manifests.disruption_budget(plan, variant)), opts=on_cluster)
        k8s.networking.v1.NetworkPolicy(f"{name}", **_args(manifests.network_policy(plan)), opts=on_cluster)

    def _secret(self, name: str, meta: dict, data: dict, kind: str, opts) -> pulumi.Output[str]:
        # The key names are not secret; listing them keeps a masked Secret reviewable in synth.
        meta = {**meta, "annotations": {SECRET_KEYS_ANNOTATION: ",".join(sorted(data))}}
        return k8s.core.v1.Secret(name, metadata=meta, type=kind, string_data=data, opts=opts).metadata.name


def _args(obj: dict) -> dict:
    """A builder's object as SDK keyword arguments (apiVersion/kind are set by the SDK class)."""
    return {k: v for k, v in obj.items() if k in ("metadata", "spec", "data")}


def _ingress_address(status) -> str:
    ingress = (status.load_balancer.ingress or []) if status and status.load_balancer else []
    if not ingress:
        return "pending"
    return ingress[0].hostname or ingress[0].ip
