"""The code asset of a v2 online endpoint (mldeploy/targets/online_endpoint/program.py: asset_plan)."""
from __future__ import annotations

from mldeploy.targets.online_endpoint.program import asset_plan
from tests.harness import ROOT
from tests.render.test_build_context import _v1_context, context


def test_online_endpoint_code_asset_carries_the_stand_in(tmp_path):
    """v2 endpoints run the script with Azure's own server from the code asset: the stand-in
    goes into the code folder, next to score.py, as in the image."""
    ctx = _v1_context(tmp_path, "azureml-inference-server-http==1.5.1\n")
    ctx.write(tmp_path / "ctx")
    plan = asset_plan("svc", "diabetes", ctx, ROOT / "build/tests/v1/score.py", tmp_path / "ctx")
    names = [rel for rel, _ in plan.code_files]
    assert names[0] == "score.py" and plan.scoring_script == "score.py"
    assert {"azureml/core/model.py", "azureml/core/mldeploy-models.json"} <= set(names)
    assert all(path.is_file() for _, path in plan.code_files)
    v2 = asset_plan("svc", "diabetes", context(), ROOT / "examples/diabetes/score.py", tmp_path / "ctx")
    assert [rel for rel, _ in v2.code_files] == ["score.py"]


def test_two_images_with_one_content_share_one_asset_named_by_the_service(tmp_path):
    """Same score.py and environment, two images: the same names and versions and blob folder
    (docs/endpoints.md, "One content, one asset"): the name depends on no image, so adding or
    removing one renames nothing another uses."""
    script = ROOT / "examples/diabetes/score.py"
    blue, green = (asset_plan("svc", image, context(), script) for image in ("diabetes", "diabetes-v2"))
    assert (blue.environment_version, blue.code_version) == (green.environment_version, green.code_version)
    assert (blue.environment_name, blue.code_name) == (green.environment_name, green.code_name) == ("mldeploy-svc",) * 2
    assert blue.code_blob_prefix == green.code_blob_prefix == f"mldeploy/endpoint-code/svc/{blue.code_version}"


def test_the_code_asset_is_the_source_directory_and_its_version_follows_every_file(tmp_path):
    """v2's CodeConfiguration(code=<folder>, scoring_script=<path in it>): the asset is the whole
    folder; a change to helpers.py is a new code version (a rollout), no change is none."""
    from tests.render.test_build_context import _source_context, _source_project

    root = _source_project(tmp_path / "p")
    (root / "src/online").mkdir()
    (root / "src/score.py").rename(root / "src/online/score.py")
    ctx = _source_context(root, entry="online/score.py")
    ctx.write(tmp_path / "ctx")
    script = root / "src/online/score.py"
    plan = asset_plan("svc", "diabetes", ctx, script, tmp_path / "ctx")
    assert [rel for rel, _ in plan.code_files] == ["online/score.py", "helpers.py"], plan.code_files
    assert plan.scoring_script == "online/score.py"
    assert all(path.is_file() for _, path in plan.code_files)
    again = asset_plan("svc", "diabetes", _source_context(root, entry="online/score.py"), script, tmp_path / "ctx")
    assert again.code_version == plan.code_version, "nothing changed: the same code version"
    (root / "src/helpers.py").write_text("SCALE = 3\n")
    changed = asset_plan("svc", "diabetes", _source_context(root, entry="online/score.py"), script, tmp_path / "ctx")
    assert changed.code_version != plan.code_version, "helpers.py changed: a new code version"
