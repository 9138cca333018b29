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
    assert gateway["uploads"] == "[secret]", "the keys map is secret, so the uploads are"
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
