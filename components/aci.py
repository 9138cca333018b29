"""AciService (guide: "deploy to Azure Container Instances"): the scorer and the gateway as one
container group - dev/test only, refused in production stacks by the config checks.

The image is pulled from the workspace registry with a user-assigned managed identity that
holds AcrPull on it (no registry admin user, no password). Keys and the gateway's config reach
the gateway through a secret volume.
"""
from __future__ import annotations

import base64

import pulumi
from pulumi_azure_native import containerinstance

from mldeploy.components.children import child_name, child_opts
from mldeploy.components.keys import service_keys
from mldeploy.components.propagation import TIMEOUT_SECONDS
from mldeploy.components.pull_identity import acr_pull_identity
from mldeploy.contract import (CONTAINER_CONFIG_DIR, CONTAINER_TLS_DIR, KEYS_MAP_NAME, SCORE_PATH,
                               SCORER_PORT, SWAGGER_PATH, TLS_CERT_NAME, TLS_KEY_NAME)
from mldeploy.plan.aci import AciPlan, Probe, Resources
from mldeploy.plan.secret_env import is_secret
from mldeploy.render.gateway import container_command, render_keys_map, render_nginx_conf


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _probe(p: Probe) -> dict:
    # The API's enum is lower case: ContainerHttpGet.scheme is "http" | "https" in
    # azure-rest-api-specs specification/containerinstance/.../containerInstance.json (the SDK's
    # containerinstance.Scheme is generated from it); "Http" is not one of its values.
    return {"httpGet": {"path": p.path, "port": p.port, "scheme": containerinstance.Scheme(p.scheme).value},
            "initialDelaySeconds": p.initial_delay_s, "periodSeconds": p.period_s,
            "failureThreshold": p.failure_threshold, "timeoutSeconds": p.timeout_s}


def _resources(r: Resources) -> dict:
    return {"requests": {"cpu": r.cpu, "memoryInGB": r.memory_gb}}


def _scorer_env(plan: AciPlan, app_insights_key: pulumi.Input[str] | None,
                app_insights_connection_string: pulumi.Input[str] | None = None) -> list[dict]:
    """The plan's scorer env, plus the App Insights key and connection string as secure values
    when the plan turns it on (as an AKS pod gets them, render/k8s_pod.py): azmlinfsrv's exporter
    builds "InstrumentationKey=<key>" from the key alone and sends to the global endpoint; the
    connection string's regional IngestionEndpoint takes priority when the variable is set
    (azure-monitor-opentelemetry-exporter _connection_string_parser.py). Ingestion by key alone
    is past its end of support (31 March 2025, learn.microsoft.com/azure/azure-monitor/app/
    connection-strings)."""
    scorer_env = [{"name": k, "value": v} for k, v in plan.scorer_env]
    if plan.app_insights and app_insights_key is not None:
        scorer_env += [{"name": "AML_APP_INSIGHTS_ENABLED", "value": "true"},
                       {"name": "AML_APP_INSIGHTS_KEY", "secureValue": app_insights_key}]
        if app_insights_connection_string is not None:
            scorer_env.append({"name": "APPLICATIONINSIGHTS_CONNECTION_STRING",
                               "secureValue": app_insights_connection_string})
    # A `secure:` variable is a secureValue: "Environment variables with secure values aren't visible in your
    # container's properties. Their values can be accessed only from within the container"
    # (learn.microsoft.com/azure/container-instances/container-instances-environment-variables, "Secure values").
    return scorer_env + [{"name": k, "secureValue": pulumi.Output.secret(v.reveal())} if is_secret(v)
                         else {"name": k, "value": v} for k, v in plan.user_env]


def _containers(plan: AciPlan, image: pulumi.Input[str], gateway_image: pulumi.Input[str], scorer_env: list[dict],
                mounts: list[dict]) -> list[dict]:
    """The group's two containers: the scorer, and the gateway in front of it on the plan's port."""
    return [
        {
            "name": "scorer",
            "image": image,
            "ports": [{"port": SCORER_PORT, "protocol": "TCP"}],
            "environmentVariables": scorer_env,
            "resources": _resources(plan.scorer),
            "livenessProbe": _probe(plan.scorer_liveness),
            "readinessProbe": _probe(plan.scorer_readiness),
        },
        {
            "name": "gateway",
            "image": gateway_image,  # GATEWAY_IMAGE mirrored into the registry, by digest
            "command": container_command(plan.gateway),
            "ports": [{"port": plan.gateway_port, "protocol": "TCP"}],
            "resources": _resources(plan.gateway_resources),
            "volumeMounts": mounts,
            "livenessProbe": _probe(plan.gateway_liveness),
            "readinessProbe": _probe(plan.gateway_readiness),
        },
    ]


class AciService(pulumi.ComponentResource):
    """One scoring service on ACI: container group (scorer + gateway), identity, role, keys."""

    scoring_uri: pulumi.Output[str]
    swagger_uri: pulumi.Output[str]
    primary_key: pulumi.Output[str] | None
    secondary_key: pulumi.Output[str] | None
    gateway_conf: str  # the nginx.conf declared (no secret in it): what synth writes

    def __init__(self, name: str, *, plan: AciPlan, resource_group_name: pulumi.Input[str], location: str,
                 image: pulumi.Input[str], registry_login_server: pulumi.Input[str], registry_id: pulumi.Input[str],
                 tags: dict[str, str], gateway_image: pulumi.Input[str],
                 keys: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None,
                 tls: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None,
                 app_insights_key: pulumi.Input[str] | None = None,
                 app_insights_connection_string: pulumi.Input[str] | None = None, role_propagation_timeout: int = TIMEOUT_SECONDS,
                 opts: pulumi.ResourceOptions | None = None):
        """`keys`: the given keys (else generated when the plan has auth on); `tls`: the PEM
        certificate and key, required when the plan serves HTTPS; both secret."""
        if plan.tls and tls is None:
            raise ValueError(f"{name}: the plan serves HTTPS but no certificate and key were given")
        super().__init__("mldeploy:aci:AciService", name, None, opts)
        identity, pulled = acr_pull_identity(self, name, resource_group_name=resource_group_name, location=location,
                                             registry_id=registry_id, tags=tags,
                                             role_propagation_timeout=role_propagation_timeout, alias_fixed_names=True)
        keys = service_keys(self, name, keys) if plan.auth_enabled else None
        self.gateway_conf = render_nginx_conf(plan.gateway)
        volumes, mounts = self._gateway_volumes(plan, keys, tls)
        group = containerinstance.ContainerGroup(
            child_name(name, "group"),
            resource_group_name=resource_group_name,
            location=location,
            os_type="Linux",
            sku="Standard",
            restart_policy="Always",
            identity={"type": "UserAssigned", "userAssignedIdentities": [identity.id]},
            image_registry_credentials=[{"server": registry_login_server, "identity": identity.id}],
            ip_address={"type": "Public", "dnsNameLabel": plan.dns_name_label,
                        "ports": [{"port": plan.gateway_port, "protocol": "TCP"}]},
            containers=_containers(plan, image, gateway_image, _scorer_env(plan, app_insights_key, app_insights_connection_string), mounts),
            volumes=volumes,
            tags=tags,
            # The identity must hold AcrPull, and the assignment have taken effect, before ACI pulls.
            opts=child_opts(self, "group", depends_on=[pulled]),
        )
        base = group.ip_address.apply(lambda ip: f"{plan.scheme}://{ip.fqdn}")
        self.scoring_uri = base.apply(lambda b: b + SCORE_PATH)
        self.container_group_name = group.name  # auto-named: `mldeploy logs` reads it from the stack output
        self.swagger_uri = base.apply(lambda b: b + SWAGGER_PATH)
        self.primary_key = keys[0] if keys else None
        self.secondary_key = keys[1] if keys else None
        self.register_outputs({"scoringUri": self.scoring_uri, "swaggerUri": self.swagger_uri,
                               "containerGroup": self.container_group_name,
                               "primaryKey": self.primary_key, "secondaryKey": self.secondary_key})

    def _gateway_volumes(self, plan: AciPlan, keys: tuple[pulumi.Input[str], pulumi.Input[str]] | None,
                         tls: tuple[pulumi.Input[str], pulumi.Input[str]] | None) -> tuple[list[dict], list[dict]]:
        """The gateway's secret volumes (nginx.conf + keys map; the TLS pair when the plan serves HTTPS)
        and their mounts."""
        files: dict[str, pulumi.Input[str]] = {"nginx.conf": _b64(self.gateway_conf)}
        if keys is not None:
            files[KEYS_MAP_NAME] = pulumi.Output.secret(
                pulumi.Output.all(*keys).apply(lambda k: _b64(render_keys_map(k[0], k[1]))))
        volumes = [{"name": "gateway", "secret": files}]
        mounts = [{"name": "gateway", "mountPath": CONTAINER_CONFIG_DIR, "readOnly": True}]
        if plan.tls:
            volumes.append({"name": "tls", "secret": {
                TLS_CERT_NAME: pulumi.Output.secret(tls[0]).apply(_b64),
                TLS_KEY_NAME: pulumi.Output.secret(tls[1]).apply(_b64),
            }})
            mounts.append({"name": "tls", "mountPath": CONTAINER_TLS_DIR, "readOnly": True})
        return volumes, mounts
