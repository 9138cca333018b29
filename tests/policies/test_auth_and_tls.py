"""production-auth-and-tls (policies/rules.py, serving.py, gateway.py) over real synthesized
resources: the markers declare auth and TLS on, and the gateway's nginx.conf, the Secrets its
container mounts and the Services in front of it must actually do it. Each failing case is the
prod stack's own resources with one program bug or hand edit applied."""
from __future__ import annotations

import base64
import copy
import re

import pytest

from mldeploy.config.base import SecureValue
from mldeploy.pulumi_internals import UNKNOWN_AT_PREVIEW, as_preview_props, stack_validation_args
from mldeploy.targets.aci.plan import plan_aci
from mldeploy.render.gateway import render_keys_map, render_nginx_conf
from mldeploy.synth.policy import policy_resources
from tests.harness import stack_values, synth
from tests.policies.helpers import ACI, DEPLOYMENT, policy

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SERVICE = "kubernetes:core/v1:Service"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
KEY_CHECK = "      if ($mldeploy_authorized = 0) { return 401; }\n"
SSL_LISTEN = "    listen 0.0.0.0:8890 ssl default_server;\n"
DEV_AS_PRODUCTION = {"productionStacks": ["dev"]}


def violations(resources, config=None) -> list[tuple[str, str]]:
    """(message, urn) of every violation the policy reports over `resources`."""
    found: list[tuple[str, str]] = []
    policy("production-auth-and-tls").validate(stack_validation_args(resources, config),
                                               lambda message, urn=None: found.append((message, urn or "")))
    return found


def messages(resources, config=None) -> list[str]:
    return [m for m, _ in violations(resources, config)]


@pytest.fixture(scope="module")
def prod_synth(tmp_path_factory):
    return policy_resources(synth("prod", tmp_path_factory.mktemp("prod")))


@pytest.fixture
def prod(prod_synth):
    return copy.deepcopy(prod_synth)  # each test mutates its own copy


def one(resources, type_, name=None):
    found = [r for r in resources if r.resource_type == type_ and (name is None or r.name == name)]
    assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
    return found[0]


def edit_conf(resources, old: str, new: str):
    conf = one(resources, CONFIG_MAP, "diabetes-gateway-stable")
    text = conf.props["data"]["nginx.conf"]
    assert old in text, f"the rendered nginx.conf changed shape; {old!r} is not in it"
    conf.props["data"]["nginx.conf"] = text.replace(old, new)
    return conf


def gateway_container(resources):
    pod = one(resources, DEPLOYMENT).props["spec"]["template"]["spec"]
    return pod, next(c for c in pod["containers"] if c["name"] == "gateway")


# -- passing ------------------------------------------------------------------------------------

def test_prod_as_synthesized_passes(prod):
    assert violations(prod) == []


def test_prod_passes_when_names_are_unknown_at_preview(prod):
    # `pulumi preview` of a replaced ConfigMap: the Deployment cannot know its new name yet.
    pod, _ = gateway_container(prod)
    next(v for v in pod["volumes"] if v["name"] == "gateway-conf")["configMap"]["name"] = UNKNOWN_AT_PREVIEW
    dep = one(prod, DEPLOYMENT)
    dep.props = as_preview_props(dep.props)
    assert violations(prod) == []


# -- auth dropped from the gateway while the marker says enabled ---------------------------------

def test_key_check_removed_from_score_location_fails(prod):
    conf = edit_conf(prod, KEY_CHECK, "")
    found = violations(prod)
    assert len(found) == 1, found
    message, urn = found[0]
    assert urn == conf.urn, "reported on the ConfigMap that lacks the check"
    assert message.startswith("service 'diabetes': mldeploy-auth says authentication is on, but the gateway "
                              "config of Deployment diabetes-stable (ConfigMap diabetes-gateway-stable, "
                              "nginx.conf): `location = /score` (which serves /score) passes requests to the "
                              "scorer without the key check"), message


def test_key_check_found_missing_even_when_the_config_name_is_unknown(prod):
    pod, _ = gateway_container(prod)
    next(v for v in pod["volumes"] if v["name"] == "gateway-conf")["configMap"]["name"] = UNKNOWN_AT_PREVIEW
    dep = one(prod, DEPLOYMENT)
    dep.props = as_preview_props(dep.props)
    edit_conf(prod, KEY_CHECK, "")
    assert any("without the key check" in m for m in messages(prod))


def test_key_map_that_lets_everyone_through_fails(prod):
    edit_conf(prod, "    default 0;\n    include", "    default 1;\n    include")
    found = messages(prod)
    assert len(found) == 1 and "lets requests without a valid key through: its default is '1'" in found[0], found


def test_key_written_into_the_map_is_reported_without_quoting_it(prod):
    edit_conf(prod, "    include /etc/mldeploy/keys/keys.map;\n",
              "    include /etc/mldeploy/keys/keys.map;\n    \"~^Bearer\\x{20}letmein\" 1;\n")
    found = messages(prod)
    assert len(found) == 1 and "authorizes a value written in the config itself" in found[0], found
    assert "letmein" not in found[0]


def test_catch_all_location_proxying_to_the_scorer_fails(prod):
    # /score renamed away, and `location /` now proxies everything: /score is served unchecked.
    edit_conf(prod, "location = /score {", "location = /score-v0 {")
    edit_conf(prod, "location / { return 404; }", "location / { proxy_pass http://mldeploy_scorer; }")
    found = messages(prod)
    assert len(found) == 1 and "`location /` (which serves /score) passes requests to the scorer without the " \
                                "key check" in found[0], found


def test_keys_secret_not_mounted_fails(prod):
    pod, gw = gateway_container(prod)
    gw["volumeMounts"] = [m for m in gw["volumeMounts"] if m["name"] != "gateway-keys"]
    pod["volumes"] = [v for v in pod["volumes"] if v["name"] != "gateway-keys"]
    found = violations(prod)
    assert [m for m, _ in found] == [
        "service 'diabetes': mldeploy-auth says authentication is on, but Deployment diabetes-stable does not "
        "provide the keys map it includes from a Secret: /etc/mldeploy/keys/keys.map is on no volume mounted in "
        "its container gateway"], found
    assert found[0][1] == one(prod, DEPLOYMENT).urn


def test_keys_map_from_a_volume_that_is_not_a_secret_fails(prod):
    pod, _ = gateway_container(prod)
    keys = next(v for v in pod["volumes"] if v["name"] == "gateway-keys")
    del keys["secret"]
    keys["emptyDir"] = {}
    found = messages(prod)
    assert len(found) == 1 and found[0].endswith(
        "does not provide the keys map it includes from a Secret: /etc/mldeploy/keys/keys.map comes from the "
        "emptyDir volume 'gateway-keys', not a Secret"), found


def test_scorer_exposed_by_a_load_balancer_fails(prod):
    svc = one(prod, SERVICE, "diabetes")
    svc.props["spec"]["ports"][0]["targetPort"] = "scorer"
    found = violations(prod)
    assert len(found) == 1 and found[0][1] == svc.urn, found
    assert "mldeploy-auth and mldeploy-tls say authentication and TLS are on, but Service diabetes " \
           "(LoadBalancer) sends port 443 straight to container scorer of Deployment diabetes-stable" in found[0][0]


def test_marker_saying_disabled_is_reported_once_not_again_per_resource(prod):
    one(prod, DEPLOYMENT).props["metadata"]["annotations"]["mldeploy-auth"] = "disabled"
    edit_conf(prod, KEY_CHECK, "")
    assert messages(prod) == ["service 'diabetes' has authentication disabled in production stack 'prod': "
                              "set authEnabled: true with keys in secret config"]


# -- TLS listener missing while the marker says enabled -----------------------------------------

def test_listener_without_ssl_fails(prod):
    edit_conf(prod, SSL_LISTEN, "    listen 0.0.0.0:8890 default_server;\n")
    found = messages(prod)
    assert found == ["service 'diabetes': mldeploy-tls says TLS is on, but the gateway config of Deployment "
                     "diabetes-stable (ConfigMap diabetes-gateway-stable, nginx.conf): `listen 0.0.0.0:8890 "
                     "default_server` has no `ssl`: that port serves plain HTTP"], found


def test_extra_plain_listener_fails(prod):
    edit_conf(prod, SSL_LISTEN, SSL_LISTEN + "    listen 0.0.0.0:8080;\n")
    found = messages(prod)
    assert len(found) == 1 and "`listen 0.0.0.0:8080` has no `ssl`" in found[0], found


def test_tls_secret_neither_declared_nor_issued_fails(prod):
    prod.remove(one(prod, CERTIFICATE))
    found = messages(prod)
    assert len(found) == 2, found  # the certificate and its key, both from that Secret
    assert all("mldeploy-tls says TLS is on, but Deployment diabetes-stable does not provide its TLS certificate "
               "and key from a Secret: it mounts Secret 'diabetes-tls' for /etc/mldeploy/tls/tls." in m
               and "which this stack does not declare and no cert-manager Certificate issues" in m for m in found)


def test_gateway_probing_itself_over_plain_http_fails(prod):
    _, gw = gateway_container(prod)
    gw["readinessProbe"]["httpGet"]["scheme"] = "HTTP"
    found = messages(prod)
    assert len(found) == 1 and "the gateway's readinessProbe use plain HTTP" in found[0], found


# -- missing properties -------------------------------------------------------------------------

def test_config_map_without_nginx_conf_is_reported(prod):
    conf = one(prod, CONFIG_MAP, "diabetes-gateway-stable")
    conf.props["data"] = {"other.conf": "events {}"}
    found = violations(prod)
    assert len(found) == 1 and found[0][1] == conf.urn, found
    assert "ConfigMap diabetes-gateway-stable has no nginx.conf" in found[0][0]


def test_config_map_the_stack_does_not_declare_is_reported(prod):
    prod.remove(one(prod, CONFIG_MAP, "diabetes-gateway-stable"))
    found = messages(prod)
    # The Deployment names the ConfigMap as the provider named it (`<Pulumi name>-<8 hex>`, synth/provider_ids.py).
    assert len(found) == 1 and re.search(r"mounts ConfigMap 'diabetes-gateway-stable-[0-9a-f]{8}' as its gateway "
                                         "config, which this stack does not declare", found[0]), found


def test_deployment_without_volumes_is_reported(prod):
    pod, _ = gateway_container(prod)
    del pod["volumes"]
    found = messages(prod)
    assert len(found) == 1 and "mounts volume 'gateway-conf' for /etc/mldeploy/gateway/nginx.conf, which is not " \
                                "declared" in found[0], found


def test_deployment_without_a_gateway_is_reported(prod):
    _, gw = gateway_container(prod)
    del gw["command"]
    found = messages(prod)
    assert len(found) == 1 and "has no gateway: no container runs nginx with a config file" in found[0], found


def test_config_that_does_not_parse_is_reported(prod):
    edit_conf(prod, "  server {\n", "  server {{\n")
    found = messages(prod)
    assert len(found) == 1 and "does not parse" in found[0], found


def test_values_unknown_at_preview_are_skipped_not_guessed(prod):
    conf = one(prod, CONFIG_MAP, "diabetes-gateway-stable")
    conf.props["data"]["nginx.conf"] = UNKNOWN_AT_PREVIEW
    conf.props = as_preview_props(conf.props)
    assert violations(prod) == []


# -- ACI: what a container group shows --------------------------------------------------------

@pytest.fixture(scope="module")
def aci_result(tmp_path_factory):
    values, secret_keys = stack_values("dev")
    values["mldeploy:services"]["diabetes-aci"]["tls"] = {"certificate": SecureValue("c"), "key": SecureValue("k")}
    return synth("dev", tmp_path_factory.mktemp("aci"), values, secret_keys | {"mldeploy:services"})


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def aci(result, *, conf: str | None = None, keys: bool = True):
    """The group as synth masks it, or (conf given) as `pulumi preview` hands it: secret
    volumes readable, in the shape components/aci.py declares."""
    resources = copy.deepcopy(policy_resources(result))  # the result's inputs stay as synthesized
    group = one(resources, ACI)
    if conf is not None:
        files = {"nginx.conf": _b64(conf)}
        if keys:
            files["keys.map"] = _b64(render_keys_map("A" * 20, "B" * 20))
        group.props["volumes"] = [{"name": "gateway", "secret": files},
                                  {"name": "tls", "secret": {"tls.crt": _b64("c"), "tls.key": _b64("k")}}]
    return resources, group


def _rendered(result, **changes) -> str:
    service = result.settings.services["diabetes-aci"].model_copy(update=changes)
    return render_nginx_conf(plan_aci("diabetes-aci", service, stack="dev", resource_group="rg").gateway)


def test_aci_masked_by_synth_passes_on_what_it_shows(aci_result):
    """Synth masks the secret files of the group's volumes (keys map, certificate, key); the
    nginx.conf beside them, not secret, is shown and read by the policies."""
    resources, group = aci(aci_result)
    volumes = {v["name"]: v["secret"] for v in group.props["volumes"]}
    assert volumes == {"gateway": {"keys.map": "[secret]", "nginx.conf": volumes["gateway"]["nginx.conf"]},
                       "tls": {"tls.crt": "[secret]", "tls.key": "[secret]"}}
    assert "location = /score" in base64.b64decode(volumes["gateway"]["nginx.conf"]).decode()
    assert violations(resources, DEV_AS_PRODUCTION) == []


def test_aci_as_preview_sees_it_passes(aci_result):
    resources, _ = aci(aci_result, conf=_rendered(aci_result))
    assert violations(resources, DEV_AS_PRODUCTION) == []


def test_aci_gateway_without_auth_fails(aci_result):
    resources, group = aci(aci_result, conf=_rendered(aci_result, auth_enabled=False))
    found = violations(resources, DEV_AS_PRODUCTION)
    assert len(found) == 1 and found[0][1] == group.urn, found
    assert "mldeploy-auth says authentication is on, but the gateway config of container group aci-diabetes-aci-group (secret " \
           "volume 'gateway', nginx.conf): `location = /score`" in found[0][0]


def test_aci_secret_volume_without_keys_map_fails(aci_result):
    resources, _ = aci(aci_result, conf=_rendered(aci_result), keys=False)
    found = messages(resources, DEV_AS_PRODUCTION)
    assert len(found) == 1 and "its secret volume 'gateway' has no keys.map" in found[0], found


def test_aci_scorer_port_on_the_public_ip_fails(aci_result):
    resources, group = aci(aci_result)
    group.props["ipAddress"]["ports"].append({"port": 5001, "protocol": "TCP"})
    found = messages(resources, DEV_AS_PRODUCTION)
    assert len(found) == 1 and "container group aci-diabetes-aci-group exposes port 5001 of its container scorer on its IP " \
                                "address, around the gateway" in found[0], found


def test_aci_plain_http_probes_with_tls_declared_fail(aci_result):
    resources, group = aci(aci_result)
    for probe in ("livenessProbe", "readinessProbe"):
        group.props["containers"][1][probe]["httpGet"]["scheme"] = "Http"
    found = messages(resources, DEV_AS_PRODUCTION)
    assert len(found) == 1 and "readinessProbe, livenessProbe use plain HTTP" in found[0], found


def test_not_production_is_not_checked(aci_result):
    resources, _ = aci(aci_result, conf=_rendered(aci_result, auth_enabled=False))
    assert violations(resources) == []
