"""init's managed stack says how to add version 2 of the model, in words that work as written
(hday2's day 2: "register it under models (version 2)" left out registeredName and the file name
score.py opens, and a second entry with another file name fails at the deployment's start)."""
from __future__ import annotations

import re

import yaml

from mldeploy.plan.script_checks import script_warnings
from mldeploy.project import ProjectChoices, render_project
from mldeploy.targets.stack import load_stack


def test_the_managed_stack_s_comment_adds_version_2_as_written(tmp_path):
    files = render_project(ProjectChoices(project="p", name="clf", model_path="models/model.pkl",
                                          model_file="model.pkl", features=4, targets=("managed",)))
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    (tmp_path / "models").mkdir(exist_ok=True)
    for file in ("model.pkl", "clf-v2.pkl"):  # version 2 under a name of its own: score.py loads either
        (tmp_path / "models" / file).write_bytes(file.encode())
    stack = tmp_path / "stacks" / "Pulumi.managed.yaml"
    text = stack.read_text()
    entry = re.search(r"^#\s+(clf-v2: \{registeredName: clf, path: models/clf-v2\.pkl, "
                      r"version: 2, description: clf\})$", text, re.M)
    assert entry, text[:800]
    values = yaml.safe_load(text)
    config = values["config"]
    config["mldeploy:models"].update(yaml.safe_load(entry.group(1)))
    assert "with models: [clf-v2]" in text
    config["mldeploy:images"]["clf-v2"] = {**config["mldeploy:images"]["clf"], "models": ["clf-v2"]}
    green = config["mldeploy:services"]["clf"]["deployments"]["green"]
    green.update(image="clf-v2", instanceCount=3)
    stack.write_text(yaml.safe_dump(values))
    settings = load_stack(tmp_path, "managed")
    assert {(m.registered_name or k, m.version) for k, m in settings.models.items()} == {("clf", 1), ("clf", 2)}
    assert script_warnings(settings, tmp_path) == []
