"""LocalService under mocks: the local stack as Docker containers (scorer + nginx gateway)."""
from __future__ import annotations

import pytest

from tests.harness import synth

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/image:Image"


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    return synth("local", tmp_path_factory.mktemp("local"))


def _container(result, name):
    return next(c["inputs"] for c in result.of_type(CONTAINER) if c["name"] == f"local-diabetes-{name}")


def test_scorer_image_is_built_locally_and_not_pushed(local):
    images = [i["inputs"] for i in local.of_type(IMAGE) if i["inputs"]["imageName"].startswith("mldeploy-local/")]
    assert len(images) == 1 and images[0]["skipPush"] is True
    assert images[0]["imageName"] == f"mldeploy-local/diabetes:{local.outputs['images']['diabetes']['tag']}"


def test_gateway_is_published_on_loopback_only(local):
    gateway = _container(local, "gateway")
    assert gateway["ports"] == [{"internal": 8890, "external": 8890, "ip": "127.0.0.1"}]
    assert _container(local, "scorer").get("ports") is None, "the scorer is reached only through the gateway"


def test_gateway_reaches_the_scorer_on_the_private_network(local):
    scorer = _container(local, "scorer")
    assert scorer["networksAdvanced"][0]["aliases"] == ["scorer"]
    assert scorer["restart"] == "always", "Docker restarts a scorer that dies"


def test_keys_and_config_are_uploaded_secret(local):
    gateway = _container(local, "gateway")
    uploads = {u["file"].rsplit("/", 1)[1]: u["content"] for u in gateway["uploads"]}
    assert uploads["keys.map"] == "[secret]", "the keys map is secret"
    assert "location = /score" in uploads["nginx.conf"], "nginx.conf is not secret, and shown"
    assert local.outputs["serviceKeys"]["diabetes"] == {"primaryKey": "[secret]", "secondaryKey": "[secret]"}
    assert local.leaks == []


def test_uris_point_at_loopback(local):
    svc = local.outputs["services"]["diabetes"]
    assert svc == {"scoringUri": "http://127.0.0.1:8890/score", "swaggerUri": "http://127.0.0.1:8890/swagger.json"}


def test_gateway_runs_the_one_pinned_gateway_image(local):
    from mldeploy.contract import GATEWAY_IMAGE

    remote = local.one("docker:index/remoteImage:RemoteImage")
    assert remote["inputs"]["name"] == GATEWAY_IMAGE and "@sha256:" in GATEWAY_IMAGE, \
        f"{remote['urn']}: the gateway must be the pinned image, by digest"
    gateway = _container(local, "gateway")
    assert gateway.get("image", "").startswith("sha256:"), \
        f"the gateway container runs the pulled image by its id (RemoteImage.image_id): {gateway.get('image')}"


# -- LocalService unit-tested with a plan: the local target's LocalPlan in, the registered resources out --

from mldeploy.plan.local import CONFIG_FILE  # noqa: E402

NETWORK = "docker:index/network:Network"
REMOTE = "docker:index/remoteImage:RemoteImage"
PASSWORD = "random:index/randomPassword:RandomPassword"


def _unit(given_keys=None, given_tls=None, **settings):
    from components.local import LocalService
    from mldeploy.targets.local.plan import plan_local
    from mldeploy.targets.local.settings import LocalServiceSettings
    from tests.components.unit import declare

    service = LocalServiceSettings.model_validate({"target": "local", "image": "diabetes", **settings})
    plan = plan_local("diabetes", service, stack="unit", tag="1-abc", context_dir="/build/diabetes")
    seen = {}

    def build():
        svc = LocalService(plan.component, plan=plan, keys=given_keys, tls=given_tls)
        return svc.scoring_uri.apply(lambda uri: seen.update(uri=uri))

    declared = declare(build)
    return plan, declared, seen


def _named(declared, token, name):
    found = [r for r in declared.of_type(token) if r["name"] == name]
    assert len(found) == 1, f"expected one {token} named {name}, registered {[r['name'] for r in declared.of_type(token)]}"
    return found[0]


def test_unit_the_scorer_is_the_plans_image_memory_environment_and_health_check():
    plan, declared, _ = _unit(memoryGb=2, workerCount=2, scoringTimeoutMs=9000)
    image = _named(declared, IMAGE, f"{plan.component}-scorer-image")["inputs"]
    assert (image["imageName"], image["skipPush"], image["build"]["context"]) == \
        (plan.scorer_image, True, plan.context_dir), f"scorer image: {image}"
    scorer = _named(declared, CONTAINER, f"{plan.component}-scorer")["inputs"]
    assert scorer["name"] == plan.scorer_container
    assert scorer["memory"] == plan.scorer_memory_mb, "the container's memory limit is the plan's"
    assert scorer["envs"] == [f"{k}={v}" for k, v in plan.scorer_env], "the scorer's environment is the plan's"
    assert scorer["healthcheck"]["tests"] == list(plan.scorer_health.test)
    assert scorer["networksAdvanced"] == [{"name": plan.network, "aliases": ["scorer"]}]
    assert _named(declared, NETWORK, f"{plan.component}-network")["inputs"]["name"] == plan.network


def test_unit_the_gateway_publishes_the_plans_port_on_loopback_with_the_plans_config():
    from mldeploy.render.gateway import render_nginx_conf

    plan, declared, seen = _unit(port=9123)
    gateway = _named(declared, CONTAINER, f"{plan.component}-gateway")
    inputs = gateway["inputs"]
    assert inputs["name"] == plan.gateway_container
    assert inputs["ports"] == [{"internal": plan.gateway.listen_port, "external": 9123, "ip": "127.0.0.1"}]
    assert "uploads" in gateway["secret_inputs"], "with auth on the keys map is uploaded, so the uploads are secret"
    uploads = {u["file"]: u for u in inputs["uploads"]}
    assert uploads[plan.gateway.keys_file]["permissions"] == "0400"
    assert uploads[CONFIG_FILE]["content"] == render_nginx_conf(plan.gateway), "nginx.conf is the plan's gateway"
    assert _named(declared, REMOTE, f"{plan.component}-gateway-image")["inputs"]["name"] == plan.gateway_image
    assert seen["uri"] == plan.scoring_uri == "http://127.0.0.1:9123/score"


def test_unit_keys_are_generated_when_auth_is_on_and_absent_when_off():
    plan, on, _ = _unit()
    assert len(on.of_type(PASSWORD)) == 2, "two generated keys"
    plan, off, _ = _unit(authEnabled=False)
    assert off.of_type(PASSWORD) == [], "no keys without auth"
    gateway = _named(off, CONTAINER, f"{plan.component}-gateway")
    assert [u["file"] for u in gateway["inputs"]["uploads"]] == [CONFIG_FILE], "only the config: no keys map without auth"
    assert gateway["secret_inputs"] == [], "nothing secret to upload without keys"


def test_unit_a_tls_plan_without_certificate_is_refused_and_with_one_uploads_it_secret():
    import pulumi

    from mldeploy.config.base import SecureValue

    tls = {"certificate": SecureValue("secure:x"), "key": SecureValue("secure:y")}
    with pytest.raises(ValueError, match="no certificate and key were given"):
        _unit(tls=tls)
    plan, declared, seen = _unit(tls=tls, given_tls=(pulumi.Output.secret("CERT"), pulumi.Output.secret("KEY")))
    uploads = {u["file"]: u for u in _named(declared, CONTAINER, f"{plan.component}-gateway")["inputs"]["uploads"]}
    assert uploads[plan.gateway.tls_cert_file]["content"] == "CERT"
    assert uploads[plan.gateway.tls_key_file] == {"file": plan.gateway.tls_key_file, "content": "KEY",
                                                  "permissions": "0400"}
    assert seen["uri"] == plan.scoring_uri and plan.scoring_uri.startswith("https://")
