"""AciService under mocks: one container group (scorer + gateway), pulled by managed identity,
keys secret, refused in production."""
from __future__ import annotations

import re

import pytest

from mldeploy.config import ConfigError
from mldeploy.config.base import SecureValue
from mldeploy.contract import ACR_PULL_ROLE_ID as ACR_PULL_ROLE, KEYS_MAP_NAME as KEYS_MAP, TLS_CERT_NAME, TLS_KEY_NAME
from mldeploy.plan.timeouts import probe_window_s
from tests.harness import stack_values, synth

GROUP = "azure-native:containerinstance:ContainerGroup"
ROLE = "azure-native:authorization:RoleAssignment"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
PASSWORD = "random:index/randomPassword:RandomPassword"
PROPAGATION = "pulumi-python:dynamic/azure:RolePropagation"


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    return synth("dev", tmp_path_factory.mktemp("dev"))


def _containers(result):
    return {c["name"]: c for c in result.one(GROUP)["inputs"]["containers"]}


def test_group_runs_scorer_and_gateway_with_the_guide_sizes(dev):
    c = _containers(dev)
    assert set(c) == {"scorer", "gateway"}
    total_cpu = sum(x["resources"]["requests"]["cpu"] for x in c.values())
    total_mem = sum(x["resources"]["requests"]["memoryInGB"] for x in c.values())
    assert total_cpu == pytest.approx(1.0) and total_mem == pytest.approx(1.0), "cpuCores/memoryGb default 1/1"
    assert c["scorer"]["image"] == dev.outputs["images"]["diabetes"]["repoDigest"], "pulled by digest"


def test_only_the_gateway_port_is_public_and_probes_are_set(dev):
    group = dev.one(GROUP)["inputs"]
    assert [p["port"] for p in group["ipAddress"]["ports"]] == [80]
    assert group["ipAddress"]["dnsNameLabel"].startswith("diabetes-aci-dev-")
    c = _containers(dev)
    assert c["gateway"]["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["gateway"]["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["scorer"]["readinessProbe"]["httpGet"] == {"path": "/", "port": 5001, "scheme": "http"}


def test_every_probe_scheme_is_a_value_of_the_api_enum(dev):
    """ContainerHttpGet.scheme is the lower-case enum "http" | "https" (issue 9 item 24)."""
    from pulumi_azure_native.containerinstance import Scheme

    allowed = {s.value for s in Scheme}
    for name, container in _containers(dev).items():
        for kind in ("livenessProbe", "readinessProbe"):
            scheme = container[kind]["httpGet"]["scheme"]
            assert scheme in allowed, f"container {name} {kind}: scheme {scheme!r} not in {sorted(allowed)}"


def test_image_is_pulled_with_a_managed_identity_holding_acr_pull(dev):
    group = dev.one(GROUP)["inputs"]
    role = dev.one(ROLE)["inputs"]
    creds = group["imageRegistryCredentials"]
    assert len(creds) == 1 and "password" not in creds[0] and "username" not in creds[0]
    assert creds[0]["server"] == dev.outputs["registryLoginServer"]
    # The identity's ARM id; its name is azure-native's auto-name (Pulumi name + 8 hex, mldeploy/synth/arm_ids.py).
    assert re.search(r"/providers/Microsoft\.ManagedIdentity/userAssignedIdentities/aci-diabetes-aci-identity[0-9a-f]{8}$",
                     creds[0]["identity"]), creds[0]["identity"]
    assert group["identity"]["type"] == "UserAssigned"
    assert role["roleDefinitionId"].endswith("/7f951dda-4ed3-4680-a7ca-43fe172d538d"), "AcrPull"
    registry = dev.outputs["registryLoginServer"].split(".")[0]
    assert role["scope"].endswith(f"/Microsoft.ContainerRegistry/registries/{registry}"), "scoped to the registry"
    assert role["principalId"], "granted to the identity the group pulls with"


def test_keys_are_generated_secret_and_exported_secret(dev):
    assert len(dev.of_type(PASSWORD)) == 2
    assert all(p["inputs"]["special"] is False for p in dev.of_type(PASSWORD))
    gateway = {v["name"]: v["secret"] for v in dev.one(GROUP)["inputs"]["volumes"]}["gateway"]
    assert gateway["keys.map"] == "[secret]", "the keys map travels in a secret volume, secret"
    assert dev.outputs["serviceKeys"] == {"diabetes-aci": {"primaryKey": "[secret]", "secondaryKey": "[secret]"}}
    assert dev.leaks == []


def test_outputs_are_the_scoring_and_swagger_uris(dev):
    svc = dev.outputs["services"]["diabetes-aci"]
    assert svc["scoringUri"].endswith(".westeurope.azurecontainer.io/score")
    assert svc["swaggerUri"] == svc["scoringUri"][: -len("/score")] + "/swagger.json"


def test_keys_from_secure_config_replace_generated_ones(tmp_path):
    values, keys = stack_values("dev")
    values["mldeploy:services"]["diabetes-aci"]["keys"] = {
        "primary": SecureValue("AAABBBCCC1"), "secondary": SecureValue("AAABBBCCC2")}
    result = synth("dev", tmp_path, values, keys | {"mldeploy:services"})
    assert result.of_type(PASSWORD) == []
    assert result.leaks == []


def test_auth_off_has_no_keys(tmp_path):
    values, keys = stack_values("dev")
    values["mldeploy:services"]["diabetes-aci"]["authEnabled"] = False
    result = synth("dev", tmp_path, values, keys)
    assert result.of_type(PASSWORD) == [] and "serviceKeys" not in result.outputs


def test_aci_in_a_production_stack_is_refused(tmp_path):
    values, keys = stack_values("dev")
    values["mldeploy:production"] = True
    with pytest.raises(ConfigError) as err:
        synth("dev", tmp_path, values, keys)
    assert "services.diabetes-aci.target" in str(err.value) and "dev/test only" in str(err.value)


def test_too_small_for_scorer_and_gateway_is_refused(tmp_path):
    values, keys = stack_values("dev")
    values["mldeploy:services"]["diabetes-aci"]["cpuCores"] = 0.2
    with pytest.raises(ConfigError, match="cpuCores"):
        synth("dev", tmp_path, values, keys)


def test_gateway_config_is_written_without_secrets(dev, tmp_path):
    from mldeploy.synth.write import write_result

    write_result(dev, tmp_path)
    conf = (tmp_path / "gateway" / "diabetes-aci" / "nginx.conf").read_text()
    assert "include /etc/mldeploy/gateway/keys.map;" in conf and "listen 0.0.0.0:80" in conf
    assert not any(secret in conf for secret in dev.secrets)
    assert not (tmp_path / "gateway" / "diabetes-aci" / "keys.map").exists()


def test_probes_through_the_scorer_outlast_the_longest_request(dev):
    # ACI restarts a container whose liveness fails: a long request must not count as a failure.
    c = _containers(dev)
    env = {e["name"]: e.get("value") for e in c["scorer"]["environmentVariables"]}
    scorer_limit_s = int(env["SCORING_TIMEOUT_MS"]) / 1000
    for container, kind in (("scorer", "livenessProbe"), ("scorer", "readinessProbe"), ("gateway", "readinessProbe")):
        window = probe_window_s(c[container][kind])
        assert window > scorer_limit_s, (f"ContainerGroup group: {container} {kind} fails after {window} s, "
                                         f"inside the scorer's limit of {scorer_limit_s} s")


def test_the_gateway_gives_up_before_the_scorer(dev):
    # The group's volumes are masked (they hold the keys): the gateway config the program declared.
    conf = dev.gateway_confs["diabetes-aci"]
    gateway_ms = int(re.search(r"proxy_read_timeout (\d+)ms;", conf).group(1))
    env = {e["name"]: e.get("value") for e in _containers(dev)["scorer"]["environmentVariables"]}
    assert int(env["SCORING_TIMEOUT_MS"]) == gateway_ms + 1000, \
        f"ContainerGroup group: SCORING_TIMEOUT_MS must be the gateway's {gateway_ms} ms + 1000 (plan/timeouts.py)"


def test_gateway_is_the_pinned_image_mirrored_into_the_registry_by_digest(dev):
    # Not Docker Hub's floating tag: the one pinned gateway image, copied into the workspace registry.
    gateway = _containers(dev)["gateway"]["image"]
    login = dev.outputs["registryLoginServer"]
    assert gateway.startswith(f"{login}/mirror/nginx@sha256:"), \
        f"ContainerGroup group: gateway image {gateway} must be the registry's mirror, by digest"
    mirror = dev.one("docker:index/image:Image", "mirror-nginx-1-27-4-alpine")["inputs"]
    assert mirror["imageName"] == f"{login}/mirror/nginx:1.27.4-alpine"


# -- the registry ACI pulls from (issue 9 item 21) ---------------------------------------------

def test_a_stack_with_aci_gets_a_premium_registry_that_trusts_azure_services(dev):
    """Microsoft's prerequisite for ACI managed-identity pulls: a Premium registry, trusted services on."""
    registry = dev.one("azure-native:containerregistry:Registry")["inputs"]
    assert registry["sku"]["name"] == "Premium", registry["sku"]
    assert registry["networkRuleBypassOptions"] == "AzureServices"


def test_a_stack_without_aci_keeps_a_standard_registry(tmp_path):
    registry = synth("prod", tmp_path).one("azure-native:containerregistry:Registry")["inputs"]
    assert registry["sku"]["name"] == "Standard"


def test_aci_on_an_existing_workspace_with_a_standard_registry_is_refused(tmp_path):
    from mldeploy.config import ConfigError

    values, keys = stack_values("dev")
    values["mldeploy:workspace"] = {"name": "shared-ws", "create": False, "resourceGroup": "rg-shared"}
    with pytest.raises(ConfigError) as err:
        synth("dev", tmp_path, values, keys)  # the mock's existing registry is Standard
    assert "mldeploy:services.diabetes-aci.target" in str(err.value) and "Premium" in str(err.value)


# -- AciService unit-tested with a plan: plan_aci's AciPlan in, the registered resources out ------

def _unit(given_keys=None, given_tls=None, **settings):
    from mldeploy.components.aci import AciService
    from mldeploy.targets.aci.plan import plan_aci
    from mldeploy.targets.aci.settings import AciServiceSettings
    from tests.components.unit import declare

    service = AciServiceSettings.model_validate({"target": "aci", "image": "diabetes", **settings})
    plan = plan_aci("diabetes-aci", service, stack="unit", resource_group="rg-unit")

    def build():
        svc = AciService(plan.component, plan=plan, resource_group_name="rg-unit", location="westeurope",
                         image="cr.azurecr.io/diabetes@sha256:" + "a" * 64, registry_login_server="cr.azurecr.io",
                         registry_id=REGISTRY_ID, tags={"managed-by": "mldeploy"},
                         gateway_image="cr.azurecr.io/nginx@sha256:" + "b" * 64, keys=given_keys, tls=given_tls)
        return svc.scoring_uri

    return plan, declare(build)


REGISTRY_ID = "/subscriptions/s/resourceGroups/rg-unit/providers/Microsoft.ContainerRegistry/registries/cr"


def test_unit_the_group_takes_the_plans_sizes_probes_and_port():
    plan, declared = _unit(cpuCores=2, memoryGb=3)
    group = declared.one(GROUP)["inputs"]
    c = {x["name"]: x for x in group["containers"]}
    assert c["scorer"]["resources"]["requests"] == {"cpu": plan.scorer.cpu, "memoryInGB": plan.scorer.memory_gb}
    assert c["gateway"]["resources"]["requests"] == {"cpu": plan.gateway_resources.cpu,
                                                     "memoryInGB": plan.gateway_resources.memory_gb}
    assert group["ipAddress"] == {"type": "Public", "dnsNameLabel": plan.dns_name_label,
                                  "ports": [{"port": plan.gateway_port, "protocol": "TCP"}]}
    probe = c["scorer"]["livenessProbe"]
    assert (probe["httpGet"]["path"], probe["failureThreshold"], probe["periodSeconds"]) == (
        plan.scorer_liveness.path, plan.scorer_liveness.failure_threshold, plan.scorer_liveness.period_s)
    assert {e["name"]: e["value"] for e in c["scorer"]["environmentVariables"]} == dict(plan.scorer_env)


def test_unit_the_image_is_pulled_by_an_identity_holding_acr_pull_on_the_registry():
    _, declared = _unit()
    identity = declared.one(IDENTITY)
    role = declared.one(ROLE)["inputs"]
    assert role["scope"] == REGISTRY_ID and role["roleDefinitionId"].endswith(ACR_PULL_ROLE)
    assert role["principalType"] == "ServicePrincipal"
    group = declared.one(GROUP)["inputs"]
    assert group["identity"]["type"] == "UserAssigned"
    [credential] = group["imageRegistryCredentials"]
    assert credential["server"] == "cr.azurecr.io" and identity["name"] in credential["identity"], credential
    assert len(declared.of_type(PROPAGATION)) == 1, "the group must wait for the assignment to take effect"


def test_unit_keys_are_generated_secret_when_auth_is_on_and_absent_when_off():
    _, on = _unit()
    assert len(on.of_type(PASSWORD)) == 2, "two generated keys"
    volume = next(v for v in on.one(GROUP)["inputs"]["volumes"] if v["name"] == "gateway")
    assert "volumes" in on.one(GROUP)["secret_inputs"], "the keys map travels as a secret"
    assert set(volume["secret"]) == {"nginx.conf", KEYS_MAP}
    _, off = _unit(authEnabled=False)
    assert off.of_type(PASSWORD) == [], "no keys without auth"
    volume = next(v for v in off.one(GROUP)["inputs"]["volumes"] if v["name"] == "gateway")
    assert set(volume["secret"]) == {"nginx.conf"}


def test_unit_given_keys_are_used_not_generated():
    import pulumi

    _, declared = _unit(given_keys=(pulumi.Output.secret("k" * 32), pulumi.Output.secret("l" * 32)))
    assert declared.of_type(PASSWORD) == []


TLS = {"certificate": SecureValue("secure:x"), "key": SecureValue("secure:y")}


def test_unit_a_tls_plan_without_certificate_is_refused():
    with pytest.raises(ValueError, match="no certificate and key were given"):
        _unit(tls=TLS)


def test_unit_a_tls_plan_mounts_the_certificate_as_a_secret_and_serves_https():
    import pulumi

    plan, declared = _unit(given_tls=(pulumi.Output.secret("CERT"), pulumi.Output.secret("KEY")), tls=TLS)
    group = declared.one(GROUP)
    tls = next(v for v in group["inputs"]["volumes"] if v["name"] == "tls")
    assert set(tls["secret"]) == {TLS_CERT_NAME, TLS_KEY_NAME} and "volumes" in group["secret_inputs"]
    gateway = next(c for c in group["inputs"]["containers"] if c["name"] == "gateway")
    assert {m["name"] for m in gateway["volumeMounts"]} == {"gateway", "tls"}
    assert plan.gateway_port == 443 and gateway["livenessProbe"]["httpGet"]["scheme"] == "https"
