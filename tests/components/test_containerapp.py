"""ContainerAppService unit-tested with a plan (Pulumi mocks, a plan in, resources out, as
pulumi/examples testing-unit-py does): environment with logs, identity pull, the app's ingress,
revisions, traffic, scale, probes and secrets."""
from __future__ import annotations

import re

import pulumi
import pytest

from mldeploy.components.containerapp import ContainerAppService
from mldeploy.contract import ACR_PULL_ROLE_ID, GATEWAY_PORT
from mldeploy.targets.containerapp.config import ContainerAppServiceSettings
from mldeploy.targets.containerapp.plan import plan_containerapp
from tests.targets.containerapp.unit import declare

APP = "azure-native:app:ContainerApp"
ENV = "azure-native:app:ManagedEnvironment"
CERT = "azure-native:app:ManagedCertificate"
ROLE = "azure-native:authorization:RoleAssignment"
PASSWORD = "random:index/randomPassword:RandomPassword"
TAGS = {"diabetes": "1-aaaaaaaaaaaa", "diabetes-v2": "1-bbbbbbbbbbbb"}


def _declare(**settings):
    service = ContainerAppServiceSettings.model_validate({"target": "containerapp", "image": "diabetes", **settings})
    plan = plan_containerapp("diabetes-aca", service, image_tags=TAGS)
    out = {}

    def build():
        svc = ContainerAppService(
            plan.component, plan=plan, resource_group_name="rg", location="westeurope",
            image="cr.azurecr.io/diabetes@sha256:" + "a" * 64, registry_login_server="cr.azurecr.io",
            registry_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/cr",
            tags={"managed-by": "mldeploy"}, gateway_image="cr.azurecr.io/nginx@sha256:" + "b" * 64,
            app_insights_key=pulumi.Output.secret("ikey") if service.app_insights_enabled else None,
            app_insights_connection_string=pulumi.Output.secret("InstrumentationKey=ikey;IngestionEndpoint=https://x/")
            if service.app_insights_enabled else None)
        out["component"] = svc
        return pulumi.Output.all(svc.scoring_uri, svc.swagger_uri).apply(lambda u: out.update(uris=u))

    return plan, declare(build), out


@pytest.fixture(scope="module")
def default():
    return _declare()


def _app(declared) -> dict:
    return declared.one(APP)["inputs"]


def _containers(declared) -> dict:
    return {c["name"]: c for c in _app(declared)["template"]["containers"]}


def test_multiple_revision_mode_and_the_plans_revision_suffix(default):
    plan, declared, _ = default
    app = _app(declared)
    assert app["configuration"]["activeRevisionsMode"] == "Multiple", "traffic weights need Multiple"
    assert app["template"]["revisionSuffix"] == plan.revision_suffix
    assert app["containerAppName"] == "diabetes-aca"


def test_ingress_is_external_https_only_to_the_gateway(default):
    _, declared, out = default
    ingress = _app(declared)["configuration"]["ingress"]
    assert ingress["external"] is True and ingress["allowInsecure"] is False, "HTTP is redirected to HTTPS"
    assert ingress["targetPort"] == GATEWAY_PORT, "ingress reaches the gateway, never the scorer"
    assert out["uris"][0].startswith("https://diabetes-aca.") and out["uris"][0].endswith("/score")


def test_scale_to_zero_with_an_http_concurrency_rule(default):
    plan, declared, _ = default
    scale = _app(declared)["template"]["scale"]
    assert scale["minReplicas"] == 0 and scale["maxReplicas"] == 10
    assert scale["rules"] == [{"name": "http-concurrency",
                               "http": {"metadata": {"concurrentRequests": str(plan.concurrent_requests)}}}]


def test_the_image_is_pulled_with_the_identity_holding_acr_pull_awaited(default):
    _, declared, _ = default
    app = _app(declared)
    registry = app["configuration"]["registries"]
    assert len(registry) == 1 and set(registry[0]) == {"server", "identity"}, "no password, no admin user"
    assert re.search(r"/userAssignedIdentities/containerapp-diabetes-aca-identity[0-9a-f]{8}$", registry[0]["identity"]), \
        registry[0]["identity"]
    assert app["identity"]["userAssignedIdentities"] == [registry[0]["identity"]], "the app carries that identity"
    assert app["identity"]["type"] == "UserAssigned"
    assert declared.one(ROLE)["inputs"]["roleDefinitionId"].endswith(ACR_PULL_ROLE_ID)
    waits = [r for r in declared.resources if r["name"] == "containerapp-diabetes-aca-acr-pull-propagation"]
    assert len(waits) == 1, "the pull waits for the assignment to propagate"


def test_the_environment_wires_log_analytics_and_the_consumption_profile(default):
    _, declared, _ = default
    env = declared.one(ENV)["inputs"]
    logs = env["appLogsConfiguration"]
    assert logs["destination"] == "log-analytics"
    workspace = declared.one("azure-native:operationalinsights:Workspace")
    assert logs["logAnalyticsConfiguration"]["customerId"] == workspace["outputs"]["customerId"]
    assert env["workloadProfiles"] == [{"name": "Consumption", "workloadProfileType": "Consumption"}]
    assert _app(declared)["workloadProfileName"] == "Consumption"


def test_keys_and_gateway_conf_are_container_apps_secrets_mounted_into_the_gateway(default):
    _, declared, out = default
    app = _app(declared)
    assert len(declared.of_type(PASSWORD)) == 2, "keys generated when none are given"
    gateway = _containers(declared)["gateway"]
    assert gateway["volumeMounts"] == [{"volumeName": "gateway", "mountPath": "/etc/mldeploy/gateway"}]
    volume = app["template"]["volumes"][0]
    assert volume["storageType"] == "Secret"
    assert {s["secretRef"]: s["path"] for s in volume["secrets"]} == {"gateway-conf": "nginx.conf",
                                                                       "gateway-keys": "keys.map"}
    assert out["component"].primary_key is not None


def test_secrets_travel_as_pulumi_secrets(default):
    """The keys map rides in configuration.secrets and the Log Analytics key in the environment's
    appLogsConfiguration: both whole inputs must arrive marked secret."""
    _, declared, _ = default
    assert "configuration" in declared.one(APP)["secret_inputs"], "the keys map is a Pulumi secret"
    assert "appLogsConfiguration" in declared.one(ENV)["secret_inputs"], "the shared key is a Pulumi secret"
    secrets = {s["name"]: s["value"] for s in _app(declared)["configuration"]["secrets"]}
    assert secrets["gateway-keys"].startswith("# mldeploy gateway keys"), "the rendered keys map"


def test_probes_are_liveness_and_readiness_on_each_container(default):
    _, declared, _ = default
    for name, container in _containers(declared).items():
        kinds = sorted(p["type"] for p in container["probes"])
        assert kinds == ["Liveness", "Readiness"], f"{name}: {kinds}"
        for p in container["probes"]:
            assert p["httpGet"]["scheme"] == "HTTP", f"{name}: ingress terminates TLS, the probe speaks HTTP"
            assert p["failureThreshold"] <= 10, f"{name}: ContainerAppProbe.failureThreshold max 10"


def test_blue_green_traffic_by_revision_label():
    plan, declared, _ = _declare(revisions={"blue": {"image": "diabetes", "trafficPercent": 90},
                                            "green": {"image": "diabetes-v2", "trafficPercent": 10}})
    traffic = _app(declared)["configuration"]["ingress"]["traffic"]
    assert {t["label"]: t["weight"] for t in traffic} == {"blue": 90, "green": 10}
    assert {t["label"]: t["revisionName"] for t in traffic}["blue"] == plan.revision_name


def test_a_custom_domain_gets_a_managed_certificate_bound_auto():
    _, declared, out = _declare(customDomain="score.example.com")
    cert = declared.one(CERT)["inputs"]["properties"]
    assert cert == {"subjectName": "score.example.com", "domainControlValidation": "CNAME"}
    domains = _app(declared)["configuration"]["ingress"]["customDomains"]
    # Auto: the platform binds the managed certificate once issued (components/containerapp.py _certificate).
    assert domains == [{"name": "score.example.com", "bindingType": "Auto"}], domains
    assert out["uris"][0] == "https://score.example.com/score"


def test_the_managed_certificate_is_created_after_the_app_that_carries_its_host_name(tmp_path):
    """Azure issues a managed certificate only for a host name already on an app of the environment
    (RequireCustomHostnameInEnvironment): the app must not wait for the certificate, the certificate for the app."""
    from tests.harness import stack_values, synth

    values, keys = stack_values("containerapp")
    values["mldeploy:services"]["diabetes-aca"]["customDomain"] = "score.example.com"
    result = synth("containerapp", tmp_path, values, keys)
    cert, container_app = result.one(CERT), result.one(APP)
    assert container_app["urn"] in cert["dependsOn"], f"the certificate must wait for the app: {cert['dependsOn']}"
    assert cert["urn"] not in container_app["dependsOn"], "the app must not wait for its certificate"


def test_a_gpu_profile_joins_the_environment_and_the_app_runs_on_it():
    _, declared, _ = _declare(workloadProfile="Consumption-GPU-NC8as-T4", cpuCores=8, memoryGb=56)
    profiles = declared.one(ENV)["inputs"]["workloadProfiles"]
    assert {"name": "gpu", "workloadProfileType": "Consumption-GPU-NC8as-T4"} in profiles
    assert _app(declared)["workloadProfileName"] == "gpu"


def test_app_insights_key_reaches_the_scorer_as_a_secret_reference():
    _, declared, _ = _declare(appInsightsEnabled=True)
    env = {e["name"]: e for e in _containers(declared)["scorer"]["env"]}
    assert env["AML_APP_INSIGHTS_KEY"] == {"name": "AML_APP_INSIGHTS_KEY", "secretRef": "appinsights-key"}
    # The regional endpoint (key-only ingestion is past its end of support, components/aci.py).
    assert env["APPLICATIONINSIGHTS_CONNECTION_STRING"] == {"name": "APPLICATIONINSIGHTS_CONNECTION_STRING",
                                                           "secretRef": "appinsights-connection-string"}
    assert env["AML_APP_INSIGHTS_ENABLED"]["value"] == "true"
