"""ScoringImage: built from the rendered context, tagged by version and content digest."""
from __future__ import annotations

from tests.harness import stack_values, synth

IMAGE = "docker:index/image:Image"


def test_image_is_pushed_to_the_workspace_registry_with_a_digest_tag(tmp_path):
    result = synth("dev", tmp_path)
    image = result.one(IMAGE, "diabetes")["inputs"]  # beside it: the mirrored gateway image
    login = result.outputs["registryLoginServer"]
    tag = result.outputs["images"]["diabetes"]["tag"]
    assert image["imageName"] == f"{login}/diabetes:{tag}"
    assert tag.startswith("1-") and len(tag) == len("1-") + 12
    assert image["registry"] == {"server": login, "username": "00000000-0000-0000-0000-000000000000",
                                 "password": "[secret]"}, \
        "pushed with the deployer's ACR refresh token (secret), not the admin user nor a prior docker login"
    assert image["build"]["platform"] == "linux/amd64"
    assert (tmp_path / "diabetes" / "Dockerfile").is_file(), "the build context is written where docker reads it"


def test_unchanged_inputs_give_the_same_tag(tmp_path):
    first = synth("dev", tmp_path / "a").outputs["images"]["diabetes"]["tag"]
    second = synth("dev", tmp_path / "b").outputs["images"]["diabetes"]["tag"]
    assert first == second


def test_a_new_model_version_gives_a_new_tag(tmp_path):
    before = synth("dev", tmp_path / "a").outputs["images"]["diabetes"]["tag"]
    values, keys = stack_values("dev")
    values["mldeploy:models"]["diabetes"]["version"] = 2
    after = synth("dev", tmp_path / "b", values, keys).outputs["images"]["diabetes"]["tag"]
    assert before != after


def test_the_image_version_leads_the_tag(tmp_path):
    values, keys = stack_values("dev")
    values["mldeploy:images"]["diabetes"]["version"] = 7
    tag = synth("dev", tmp_path, values, keys).outputs["images"]["diabetes"]["tag"]
    assert tag.startswith("7-")


def test_services_get_the_image_by_digest(tmp_path):
    digest = synth("dev", tmp_path).outputs["images"]["diabetes"]["repoDigest"]
    assert "@sha256:" in digest


def test_the_push_token_comes_from_the_deployers_entra_id_token(tmp_path, monkeypatch):
    """Issue 9 item 8: the first `pulumi up` pushes in the same run, CI without `docker login`:
    the program exchanges the deployer's Entra ID token at the new registry for an ACR token."""
    from mldeploy.synth import mocks

    calls = []
    real = mocks.offline_acr_exchange

    def recording(ledger):
        fake = real(ledger)
        return lambda server, tenant, token: calls.append((server, tenant, token)) or fake(server, tenant, token)

    monkeypatch.setattr("mldeploy.synth.run.offline_acr_exchange", recording)
    result = synth("dev", tmp_path)
    assert calls, "no token exchange: Docker would need a manual login"
    server, tenant, token = calls[0]
    assert server == result.outputs["registryLoginServer"] and tenant == mocks.TENANT_ID
    assert token.startswith("mock-aad-access-token-"), "the deployer's getClientToken token is exchanged"
