"""AciService (guide: "deploy to Azure Container Instances"): the scorer and the gateway as one
container group - dev/test only, refused in production stacks by the config checks.

The image is pulled from the workspace registry with a user-assigned managed identity that
holds AcrPull on it (no registry admin user, no password). Keys and the gateway's config reach
the gateway through a secret volume.
"""
from __future__ import annotations

import base64

import pulumi
from pulumi_azure_native import authorization, containerinstance, managedidentity

from components.children import child_name, child_opts
from components.keys import service_keys
from components.propagation import RolePropagation
from mldeploy.config.service import ACI_GATEWAY_CPU, ACI_GATEWAY_MEMORY_GB, AciServiceSettings
from mldeploy.contract import (CONTAINER_CONFIG_DIR, CONTAINER_TLS_DIR, KEYS_MAP_NAME, LIVENESS_PATH, READINESS_PATH,
                               SCORER_PORT, SCORE_PATH, SWAGGER_PATH, TLS_CERT_NAME, TLS_KEY_NAME)
from mldeploy.render.gateway import container_command, container_spec, render_keys_map, render_nginx_conf
from mldeploy.plan.timeouts import probe_failure_threshold, scorer_timeouts
from mldeploy.contract import ACR_PULL_ROLE_ID

GATEWAY_CPU = ACI_GATEWAY_CPU
GATEWAY_MEMORY_GB = ACI_GATEWAY_MEMORY_GB


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def gateway_port(service: AciServiceSettings) -> int:
    return 443 if service.tls else 80


def aci_gateway_spec(service: AciServiceSettings):
    """The gateway of an ACI group: public port 80 (443 with TLS), scorer on localhost."""
    return container_spec(service, listen_port=gateway_port(service))


class AciService(pulumi.ComponentResource):
    """One scoring service on ACI: container group (scorer + gateway), identity, role, keys."""

    scoring_uri: pulumi.Output[str]
    swagger_uri: pulumi.Output[str]
    primary_key: pulumi.Output[str] | None
    secondary_key: pulumi.Output[str] | None

    def __init__(self, name: str, *, service: AciServiceSettings, dns_name_label: str,
                 resource_group_name: pulumi.Input[str], location: str, image: pulumi.Input[str],
                 registry_login_server: pulumi.Input[str], registry_id: pulumi.Input[str],
                 tags: dict[str, str], gateway_image: pulumi.Input[str],
                 app_insights_key: pulumi.Input[str] | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mldeploy:aci:AciService", name, None, opts)
        identity = managedidentity.UserAssignedIdentity(
            child_name(name, "identity"), resource_group_name=resource_group_name, location=location, tags=tags,
            opts=child_opts(self, "identity"))
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        pull = authorization.RoleAssignment(
            child_name(name, "acr-pull"),
            scope=registry_id,
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=client.subscription_id.apply(
                lambda sub: f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL_ROLE_ID}"),
            opts=child_opts(self, "acr-pull"),
        )

        pulled = RolePropagation(child_name(name, "acr-pull-propagation"), [pull],
                                 opts=pulumi.ResourceOptions(parent=self))

        keys = service_keys(service, self, name)
        port = gateway_port(service)
        spec = aci_gateway_spec(service)
        files: dict[str, pulumi.Input[str]] = {"nginx.conf": _b64(render_nginx_conf(spec))}
        if keys is not None:
            files[KEYS_MAP_NAME] = pulumi.Output.secret(
                pulumi.Output.all(*keys).apply(lambda k: _b64(render_keys_map(k[0], k[1]))))
        volumes = [{"name": "gateway", "secret": files}]
        mounts = [{"name": "gateway", "mountPath": CONTAINER_CONFIG_DIR, "readOnly": True}]
        if service.tls is not None:
            volumes.append({"name": "tls", "secret": {
                TLS_CERT_NAME: pulumi.Output.secret(_b64(service.tls.certificate.reveal())),
                TLS_KEY_NAME: pulumi.Output.secret(_b64(service.tls.key.reveal())),
            }})
            mounts.append({"name": "tls", "mountPath": CONTAINER_TLS_DIR, "readOnly": True})

        scorer_workers = service.scorer_workers
        scorer_env = [{"name": k, "value": v} for k, v in {
            "WORKER_COUNT": str(scorer_workers), **scorer_timeouts(service.scoring_timeout_ms)}.items()]
        if service.app_insights_enabled and app_insights_key is not None:
            scorer_env += [{"name": "AML_APP_INSIGHTS_ENABLED", "value": "true"},
                           {"name": "AML_APP_INSIGHTS_KEY", "secureValue": app_insights_key}]
        # The API's enum is lower case: ContainerHttpGet.scheme is "http" | "https" in
        # azure-rest-api-specs specification/containerinstance/.../containerInstance.json (the SDK's
        # containerinstance.Scheme is generated from it); "Http" is not one of its values.
        scheme = containerinstance.Scheme.HTTPS.value if service.tls else containerinstance.Scheme.HTTP.value

        def probe(path: str, probe_port: int, probe_scheme: str, delay: int, via_scorer: bool = True) -> dict:
            # A probe that reaches the scorer's GET / waits behind busy sync workers: its window
            # outlasts the scorer's limit (runtime/timeouts.py), or ACI restarts the group's
            # scorer in the middle of a long request.
            failures = probe_failure_threshold(service.scoring_timeout_ms, 10) if via_scorer else 3
            return {"httpGet": {"path": path, "port": probe_port, "scheme": probe_scheme},
                    "initialDelaySeconds": delay, "periodSeconds": 10, "failureThreshold": failures,
                    "timeoutSeconds": 3}

        group = containerinstance.ContainerGroup(
            child_name(name, "group"),
            resource_group_name=resource_group_name,
            location=location,
            os_type="Linux",
            sku="Standard",
            restart_policy="Always",
            identity={"type": "UserAssigned", "userAssignedIdentities": [identity.id]},
            image_registry_credentials=[{"server": registry_login_server, "identity": identity.id}],
            ip_address={"type": "Public", "dnsNameLabel": dns_name_label,
                        "ports": [{"port": port, "protocol": "TCP"}]},
            containers=[
                {
                    "name": "scorer",
                    "image": image,
                    "ports": [{"port": SCORER_PORT, "protocol": "TCP"}],
                    "environmentVariables": scorer_env,
                    "resources": {"requests": {"cpu": round(service.cpu_cores - GATEWAY_CPU, 2),
                                               "memoryInGB": round(service.memory_gb - GATEWAY_MEMORY_GB, 1)}},
                    # The scorer's only health route: 200 once init() has finished.
                    "livenessProbe": probe("/", SCORER_PORT, containerinstance.Scheme.HTTP.value, 30),
                    "readinessProbe": probe("/", SCORER_PORT, containerinstance.Scheme.HTTP.value, 5),
                },
                {
                    "name": "gateway",
                    "image": gateway_image,  # GATEWAY_IMAGE mirrored into the registry, by digest
                    "command": container_command(spec),
                    "ports": [{"port": port, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": GATEWAY_CPU, "memoryInGB": GATEWAY_MEMORY_GB}},
                    "volumeMounts": mounts,
                    "livenessProbe": probe(LIVENESS_PATH, port, scheme, 5, via_scorer=False),  # nginx itself
                    "readinessProbe": probe(READINESS_PATH, port, scheme, 5),
                },
            ],
            volumes=volumes,
            tags=tags,
            # The identity must hold AcrPull before ACI pulls the image.
            # The identity must hold AcrPull, and the assignment have taken effect, before ACI pulls.
            opts=child_opts(self, "group", depends_on=[pulled]),
        )
        base = group.ip_address.apply(lambda ip: f"{'https' if service.tls else 'http'}://{ip.fqdn}")
        self.scoring_uri = base.apply(lambda b: b + SCORE_PATH)
        self.swagger_uri = base.apply(lambda b: b + SWAGGER_PATH)
        self.primary_key = keys[0] if keys else None
        self.secondary_key = keys[1] if keys else None
        self.register_outputs({"scoringUri": self.scoring_uri, "swaggerUri": self.swagger_uri,
                               "primaryKey": self.primary_key, "secondaryKey": self.secondary_key})
