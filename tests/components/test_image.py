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
    assert image["registry"] == {"server": login}, "no registry password: credentials come from az acr login"
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
