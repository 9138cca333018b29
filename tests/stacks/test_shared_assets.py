"""One Azure ML environment and code asset for one content (day 2 of a new user, helper hwalk):
blue (`diabetes`, model version 1) and green (`diabetes-v2`, version 2) run the same score.py and
myenv.yml, so the managed stack declares one EnvironmentVersion and one CodeVersion for both, and
the day-2 steps - add green, shift the traffic, retire blue - never rename, replace or delete what
the surviving deployment uses (compared as `mldeploy diff` compares two synths)."""
from __future__ import annotations

from mldeploy.cli.diffing import Side, compare
from tests.harness import stack_values, synth

ML = "azure-native:machinelearningservices"
ASSET_TYPES = (f"{ML}:EnvironmentContainer", f"{ML}:EnvironmentVersion", f"{ML}:CodeContainer",
               f"{ML}:CodeVersion", "azure-native:storage:Blob")


def _day2(tmp_path, step: str):
    """The managed stack at one step of docs/rollout.md: `blue` alone, `green` added at 0 %, green at
    100 %, blue retired with its image entry."""
    values, secret_keys = stack_values("managed")
    deployments = values["mldeploy:services"]["diabetes"]["deployments"]
    deployments.pop("shadow")
    deployments["green"]["instanceCount"] = 3
    if step == "blue":
        deployments.pop("green")
        values["mldeploy:images"].pop("diabetes-v2")
        deployments["blue"]["trafficPercent"] = 100
    elif step == "green-added":
        deployments["blue"]["trafficPercent"], deployments["green"]["trafficPercent"] = 100, 0
    elif step == "green-100":
        deployments["blue"]["trafficPercent"], deployments["green"]["trafficPercent"] = 0, 100
    else:
        assert step == "blue-retired"
        deployments.pop("blue")
        values["mldeploy:images"].pop("diabetes")
        deployments["green"]["trafficPercent"] = 100
    return synth("managed", tmp_path / step, values, secret_keys)


def _assets(result) -> list[tuple[str, str, str | None]]:
    return sorted((r["type"].rsplit(":", 1)[-1], r["name"], (r["inputs"] or {}).get("version"))
                  for r in result.resources if r["type"] in ASSET_TYPES)


def test_two_images_of_one_content_share_one_environment_and_code_version(tmp_path):
    both = _day2(tmp_path, "green-added")
    assert [(t, v) for t, _, v in _assets(both) if t.endswith("Version")] == [
        ("CodeVersion", "f82475e05e71"), ("EnvironmentVersion", "0c8b8a521a3e")], _assets(both)
    ids = {d["inputs"]["deploymentName"]: (d["inputs"]["properties"]["environmentId"],
                                           d["inputs"]["properties"]["codeConfiguration"]["codeId"])
           for d in both.of_type(f"{ML}:OnlineDeployment")}
    assert ids["blue"] == ids["green"], ids


def test_day2_steps_never_touch_what_the_surviving_deployment_uses(tmp_path):
    steps = ["blue", "green-added", "green-100", "blue-retired"]
    results = {s: _day2(tmp_path, s) for s in steps}
    assert _assets(results["blue"]) == _assets(results["blue-retired"]), \
        "blue's assets are green's: the same names and versions before green and after blue"
    for before, after in zip(steps, steps[1:]):
        d = compare("managed", Side(before, results[before].resources, {}), Side(after, results[after].resources, {}))
        changes = {c.name: c.kind for c in d.changes}
        assets = {c.name for c in d.changes if c.type in ASSET_TYPES}
        assert not assets, f"{before} -> {after}: an asset changed: {changes}"
        survivors = {"green-added": ["blue"], "green-100": ["blue", "green"], "blue-retired": ["green"]}[after]
        for dep in survivors:
            assert f"endpoint-diabetes-{dep}" not in changes, f"{before} -> {after}: {dep} changed: {changes}"
        assert all(kind in ("create", "update", "delete") for kind in changes.values()), changes
        assert "replace" not in changes.values(), changes
