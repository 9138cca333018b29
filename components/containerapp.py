"""ContainerAppService (`target: containerapp`): the scorer and the gateway as the two containers
of one Azure Container Apps revision, in a Container Apps environment of its own.

What it declares, each input as the Container Apps API names it (azure-rest-api-specs,
specification/app/resource-manager/Microsoft.App/stable/2025-07-01; the installed azure-native
`app` module speaks 2025-02-02-preview, whose shapes are the same for every input used here):
- a Log Analytics workspace and the environment's `appLogsConfiguration` (ManagedEnvironments.json:
  destination `log-analytics`, `logAnalyticsConfiguration.customerId` + `sharedKey`) and its
  `workloadProfiles` (WorkloadProfile: `name`, `workloadProfileType`; Consumption, or a serverless
  GPU profile by type name);
- a user-assigned identity holding AcrPull on the workspace registry, awaited (RolePropagation)
  before the app pulls (RegistryCredentials.identity: "the full user-assigned identity Resource ID");
- the app: `activeRevisionsMode: Multiple` (ContainerApps.json Configuration: "Multiple: multiple
  revisions can be active"), external ingress to the gateway's port, `allowInsecure: false`
  (Ingress: "If set to false HTTP connections are automatically redirected to HTTPS"), traffic by
  revision name and label (TrafficWeight: revisionName, weight, label), keys and nginx.conf as
  Container Apps secrets (Configuration.secrets; Secret.value is x-ms-secret) mounted into the
  gateway by a Secret volume (Volume.storageType Secret, SecretVolumeItem secretRef + path);
  `template.revisionSuffix` from the plan (Template: "Any changes to this section will result in
  a new revision"); scale with an HTTP rule (ScaleRule.http.metadata `concurrentRequests`,
  MicrosoftDocs articles/container-apps/scale-app.md); Liveness/Readiness probes (ContainerAppProbe);
- with a custom domain: the host name on the app's ingress with `bindingType: Auto` (CustomDomain,
  CommonDefinitions.json of preview/2025-02-02-preview, the version azure-native's `app` module speaks:
  enum Disabled | SniEnabled | Auto, certificateId optional), and a managed certificate (ManagedCertificate:
  subjectName, domainControlValidation CNAME) created after the app; see `_certificate`.

Container Apps has no key auth of its own: the gateway checks the keys, as on ACI and AKS.
The plan type is mldeploy.targets.containerapp.plan.ContainerAppPlan; it is not imported here:
components never import a target package (the target table imports components through its
program steps, and import-linter forbids the cycle).
"""
from __future__ import annotations

import pulumi
from pulumi_azure_native import app, operationalinsights

from mldeploy.components.children import child_name
from mldeploy.components.keys import service_keys
from mldeploy.components.propagation import TIMEOUT_SECONDS
from mldeploy.components.pull_identity import acr_pull_identity
from mldeploy.contract import CONTAINER_CONFIG_DIR, KEYS_MAP_NAME, SCORE_PATH, SWAGGER_PATH
from mldeploy.plan.secret_env import is_secret
from mldeploy.render.gateway import container_command, render_keys_map, render_nginx_conf

# Container Apps secret names: lower-case letters, digits and '-' (what `az containerapp secret set` accepts).
CONF_SECRET = "gateway-conf"
KEYS_SECRET = "gateway-keys"
INSIGHTS_SECRET = "appinsights-key"
INSIGHTS_CONNECTION_SECRET = "appinsights-connection-string"
HTTP_RULE = "http-concurrency"


def _probe(p) -> dict:
    # ContainerAppProbe: type, httpGet {path, port, scheme HTTP|HTTPS}; the gateway and the scorer
    # listen plain HTTP inside the replica (ingress terminates TLS).
    return {"type": p.kind, "httpGet": {"path": p.path, "port": p.port, "scheme": "HTTP"},
            "initialDelaySeconds": p.initial_delay_s, "periodSeconds": p.period_s,
            "failureThreshold": p.failure_threshold, "timeoutSeconds": p.timeout_s}


def _resources(r) -> dict:
    # ContainerResources: cpu (double, cores), memory ("250Mb", "1.5Gi").
    return {"cpu": r.cpu, "memory": r.memory}


def _template(plan, image: pulumi.Input[str], gateway_image: pulumi.Input[str], scorer_env: list[dict],
              mounted: list[dict]) -> dict:
    """The revision template: scorer + gateway containers, the HTTP concurrency scale rule, the secret volume."""
    return {
        "revisionSuffix": plan.revision_suffix,
        "containers": [
            {
                "name": "scorer",
                "image": image,
                "env": scorer_env,
                "resources": _resources(plan.scorer),
                "probes": [_probe(p) for p in plan.probes_scorer],
            },
            {
                "name": "gateway",
                "image": gateway_image,  # GATEWAY_IMAGE mirrored into the registry, by digest
                "command": container_command(plan.gateway),
                "resources": _resources(plan.gateway_resources),
                "volumeMounts": [{"volumeName": "gateway", "mountPath": CONTAINER_CONFIG_DIR}],
                "probes": [_probe(p) for p in plan.probes_gateway],
            },
        ],
        "scale": {
            "minReplicas": plan.min_replicas,
            "maxReplicas": plan.max_replicas,
            "rules": [{"name": HTTP_RULE,
                       "http": {"metadata": {"concurrentRequests": str(plan.concurrent_requests)}}}],
        },
        "volumes": [{"name": "gateway", "storageType": "Secret", "secrets": mounted}],
    }


class ContainerAppService(pulumi.ComponentResource):
    """One scoring service on Azure Container Apps: environment (+ logs), identity and AcrPull, app
    with scorer + gateway, keys, and a managed certificate for a custom domain."""

    scoring_uri: pulumi.Output[str]
    swagger_uri: pulumi.Output[str]
    primary_key: pulumi.Output[str] | None
    secondary_key: pulumi.Output[str] | None
    gateway_conf: str  # the nginx.conf declared (no secret in it): what synth writes

    def __init__(self, name: str, *, plan: "ContainerAppPlan", resource_group_name: pulumi.Input[str],  # noqa: F821
                 location: str, image: pulumi.Input[str], registry_login_server: pulumi.Input[str],
                 registry_id: pulumi.Input[str], tags: dict[str, str], gateway_image: pulumi.Input[str],
                 keys: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None,
                 app_insights_key: pulumi.Input[str] | None = None,
                 app_insights_connection_string: pulumi.Input[str] | None = None, role_propagation_timeout: int = TIMEOUT_SECONDS,
                 opts: pulumi.ResourceOptions | None = None):
        """`image`: the image of the plan's template revision (by digest); `keys`: the given keys
        (else generated when the plan has auth on), secret."""
        super().__init__("mldeploy:containerapp:ContainerAppService", name, None, opts)
        environment = self._environment(name, plan, resource_group_name, location, tags)
        identity, pulled = acr_pull_identity(self, name, resource_group_name=resource_group_name, location=location,
                                             registry_id=registry_id, tags=tags,
                                             role_propagation_timeout=role_propagation_timeout)
        keys = service_keys(self, name, keys) if plan.auth_enabled else None
        self.gateway_conf = render_nginx_conf(plan.gateway)
        secrets, mounted, scorer_env = self._secrets(plan, keys, app_insights_key, app_insights_connection_string)
        ingress = self._ingress(plan)
        container_app = app.ContainerApp(
            child_name(name, "app"),
            container_app_name=plan.app_name,
            resource_group_name=resource_group_name,
            location=location,
            environment_id=environment.id,
            workload_profile_name=plan.workload_profile_name,
            identity={"type": "UserAssigned", "userAssignedIdentities": [identity.id]},
            configuration={
                "activeRevisionsMode": "Multiple",
                "ingress": ingress,
                "registries": [{"server": registry_login_server, "identity": identity.id}],
                "secrets": secrets,
            },
            template=_template(plan, image, gateway_image, scorer_env, mounted),
            tags=tags,
            # The identity must hold AcrPull, and the assignment have taken effect, before the pull.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pulled]),
        )
        if plan.custom_domain is not None:
            self._certificate(name, plan.custom_domain, container_app, environment, resource_group_name, location, tags)
        # The app's host name is `<app>.<environment default domain>` (MicrosoftDocs blue-green-deployment.md:
        # `https://$APP_NAME.$APP_DOMAIN`, APP_DOMAIN = the environment's `properties.defaultDomain`);
        # read from the environment, not the app: its `configuration` holds the secrets' values, and
        # Pulumi's Python SDK hands a resource's outputs to the program through rpc.deserialize_properties
        # (resolve_outputs), which lifts a secret leaf to its enclosing map - the program gets all of
        # `configuration`, host name included, as one secret. (mldeploy/pulumi_internals.py keeps each
        # secret at its leaf only where synth's mock monitor decodes the inputs the program sends.)
        base = (pulumi.Output.from_input(f"https://{plan.custom_domain}") if plan.custom_domain else
                environment.default_domain.apply(lambda domain: f"https://{plan.app_name}.{domain}"))
        self.scoring_uri = base.apply(lambda b: b + SCORE_PATH)
        self.swagger_uri = base.apply(lambda b: b + SWAGGER_PATH)
        self.app_name = container_app.name
        self.revision = pulumi.Output.from_input(plan.revision_name)
        self.primary_key = keys[0] if keys else None
        self.secondary_key = keys[1] if keys else None
        self.register_outputs({"scoringUri": self.scoring_uri, "swaggerUri": self.swagger_uri,
                               "containerApp": self.app_name, "revision": self.revision,
                               "primaryKey": self.primary_key, "secondaryKey": self.secondary_key})

    def _secrets(self, plan, keys: tuple[pulumi.Input[str], pulumi.Input[str]] | None,
                 app_insights_key: pulumi.Input[str] | None,
                 app_insights_connection_string: pulumi.Input[str] | None = None
                 ) -> tuple[list[dict], list[dict], list[dict]]:
        """The app's secrets (nginx.conf, keys map, App Insights key and connection string), the
        gateway's secret volume items and the scorer's env (App Insights by secretRef; the
        connection string's regional endpoint as components/aci.py _scorer_env says)."""
        secrets: list[dict] = [{"name": CONF_SECRET, "value": pulumi.Output.secret(self.gateway_conf)}]
        mounted = [{"secretRef": CONF_SECRET, "path": "nginx.conf"}]
        if keys is not None:
            secrets.append({"name": KEYS_SECRET, "value": pulumi.Output.secret(
                pulumi.Output.all(*keys).apply(lambda k: render_keys_map(k[0], k[1])))})
            mounted.append({"secretRef": KEYS_SECRET, "path": KEYS_MAP_NAME})
        scorer_env: list[dict] = [{"name": k, "value": v} for k, v in plan.scorer_env]
        if plan.app_insights and app_insights_key is not None:
            secrets.append({"name": INSIGHTS_SECRET, "value": pulumi.Output.secret(app_insights_key)})
            scorer_env += [{"name": "AML_APP_INSIGHTS_ENABLED", "value": "true"},
                           {"name": "AML_APP_INSIGHTS_KEY", "secretRef": INSIGHTS_SECRET}]
            if app_insights_connection_string is not None:
                secrets.append({"name": INSIGHTS_CONNECTION_SECRET,
                                "value": pulumi.Output.secret(app_insights_connection_string)})
                scorer_env.append({"name": "APPLICATIONINSIGHTS_CONNECTION_STRING",
                                   "secretRef": INSIGHTS_CONNECTION_SECRET})
        # The stack's environmentVariables last (plan.user_env: a new one appends, as on ACI).
        # A `secure:` variable is an app secret the container reads by secretRef (Secret.value is x-ms-secret:
        # never returned by a GET of the app, azure-rest-api-specs app/ContainerApps.json); one secret per
        # variable, named by the plan (targets/containerapp/plan.py env_secret_name). A changed value makes no new
        # revision ("An updated or deleted secret doesn't automatically affect existing revisions",
        # learn.microsoft.com/azure/container-apps/manage-secrets): docs/scoring.md says to restart the revision.
        refs = dict(plan.env_secrets)
        for k, v in plan.user_env:
            if is_secret(v):
                ref = refs[k]
                secrets.append({"name": ref, "value": pulumi.Output.secret(v.reveal())})
                scorer_env.append({"name": k, "secretRef": ref})
            else:
                scorer_env.append({"name": k, "value": v})
        # The secrets only the other labels' revisions read: kept while a label keeps that revision, or Azure
        # refuses the update (plan.py kept_env_secrets cites manage-secrets and microsoft/azure-container-apps#395).
        for ref, v in plan.kept_secrets:
            secrets.append({"name": ref, "value": pulumi.Output.secret(v.reveal())})
        return secrets, mounted, scorer_env

    def _ingress(self, plan) -> dict:
        """External TLS-only ingress to the gateway with the plan's traffic by revision; a custom domain
        bound `Auto` (its managed certificate: `_certificate`)."""
        ingress: dict = {
            "external": True,
            "targetPort": plan.gateway_port,
            "transport": "http",
            "allowInsecure": False,
            "traffic": [{"revisionName": t.revision_name, "label": t.label, "weight": t.percent}
                        for t in plan.traffic],
        }
        if plan.custom_domain is not None:
            # `Auto`: the platform binds the environment's managed certificate for this host name once it is
            # issued, so the app names no certificateId (microsoft/azure-container-apps#796, closed 2025-03-06:
            # "bindingType 'auto' ... removing the need for updating the app after the cert is created").
            # Open regression (microsoft/azure-container-apps#1652, opened 2026-02-04; last stored word from
            # Microsoft 2026-02-05, "investigating"): updating an app bound `Auto` fails with a certificate id
            # missing its subscription ("/subscriptions//resourcegroups/..."); docs/containerapp.md says so.
            ingress["customDomains"] = [{"name": plan.custom_domain, "bindingType": "Auto"}]
        return ingress

    def _certificate(self, name: str, domain: str, container_app: app.ContainerApp, environment: app.ManagedEnvironment,
                     resource_group_name: pulumi.Input[str], location: str, tags: dict[str, str]) -> app.ManagedCertificate:
        """The managed certificate of the custom domain, after the app - the order Microsoft documents
        (MicrosoftDocs/azure-docs@092f38ca articles/container-apps/custom-domains-managed-certificates.md, ms.date
        2026-01-28: `az containerapp hostname add`, then `hostname bind --validation-method CNAME` for a
        subdomain, which creates the certificate and binds it). Azure issues one only for a host name
        already on an app of the environment ("(RequireCustomHostnameInEnvironment) Creating managed
        certificate requires hostname ... added as a custom hostname to a container app or route in
        environment", microsoft/azure-container-apps#1570). Declared before the app (the app naming its
        certificateId, bound SniEnabled, as mldeploy did), the first `pulumi up` failed on that error.
        Deleted with its environment (which removes its certificates): a destroy does not delete it
        before the app that binds it."""
        return app.ManagedCertificate(
            child_name(name, "certificate"),
            resource_group_name=resource_group_name,
            environment_name=environment.name,
            location=location,
            properties={"subjectName": domain, "domainControlValidation": "CNAME"},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[container_app], deleted_with=environment),
        )

    def _environment(self, name: str, plan, resource_group_name: pulumi.Input[str], location: str,
                     tags: dict[str, str]) -> app.ManagedEnvironment:
        """The environment, its Log Analytics workspace wired in, and the plan's workload profile."""
        child = pulumi.ResourceOptions(parent=self)
        logs = operationalinsights.Workspace(
            child_name(name, "logs"), resource_group_name=resource_group_name, location=location,
            sku={"name": "PerGB2018"}, retention_in_days=30, tags=tags, opts=child)
        shared = operationalinsights.get_shared_keys_output(
            resource_group_name=resource_group_name, workspace_name=logs.name,
            opts=pulumi.InvokeOutputOptions(parent=self))
        profiles = [{"name": "Consumption", "workloadProfileType": "Consumption"}]
        if plan.workload_profile_type != "Consumption":
            profiles.append({"name": plan.workload_profile_name, "workloadProfileType": plan.workload_profile_type})
        return app.ManagedEnvironment(
            child_name(name, "environment"),
            resource_group_name=resource_group_name,
            location=location,
            app_logs_configuration={"destination": "log-analytics", "logAnalyticsConfiguration": {
                "customerId": logs.customer_id,
                "sharedKey": pulumi.Output.secret(shared.primary_shared_key)}},
            workload_profiles=profiles,
            tags=tags,
            opts=child,
        )
