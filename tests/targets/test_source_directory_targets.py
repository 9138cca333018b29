"""Each target that ships an image's sourceDirectory through the shared build context (ACI, AKS,
IoT Edge, Container Apps) or its v2 code asset (managed and Kubernetes online endpoints), synthesized
with the stack's images on examples/diabetes-src/src (score.py imports bands.py and features/):
the modules are in what that target deploys, a change to one is a new image tag / code version
in that target's own resource (so `pulumi preview` shows an update), and a change to a file the
folder's .amlignore leaves out (notebooks/) is none."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mldeploy.synth.run import synthesize
from tests.harness import copy_project

pytestmark = pytest.mark.slow
SOURCE = "examples/diabetes-src/src"
SHIPPED = {".amlignore", "bands.py", "features/__init__.py", "features/rows.py", "score.py"}
# What each target deploys, as the string its own resource holds: an image by digest (the mock
# registry's digest follows the tag), or a v2 deployment's code version.
DEPLOYED = re.compile(r"azurecr\.io/[a-z0-9-]+@sha256:[0-9a-f]+|/codes/[A-Za-z0-9-]+/versions/[A-Za-z0-9-]+")
TARGETS = {  # stack: (the target's resource type that names the image or code it runs, image or code)
    "dev": ("azure-native:containerinstance:ContainerGroup", "image"),
    "prod": ("kubernetes:apps/v1:Deployment", "image"),
    "edge": ("pulumi-python:dynamic/iotedge:Deployment", "image"),
    "containerapp": ("azure-native:app:ContainerApp", "image"),
    "managed": ("azure-native:machinelearningservices:OnlineDeployment", "code"),
    "kubernetes-endpoint": ("azure-native:machinelearningservices:OnlineDeployment", "code"),
}


def _strings(value: Any):
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _project(tmp_path: Path, stack: str) -> Path:
    """A user's project whose stack's every image ships examples/diabetes-src/src (entryScript score.py)."""
    root = copy_project(tmp_path / "project", stack)
    path = root / "stacks" / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    for image in document["config"]["mldeploy:images"].values():
        image.update(sourceDirectory=SOURCE, entryScript="score.py")
    path.write_text(yaml.safe_dump(document))
    (root / SOURCE / "notebooks").mkdir()
    (root / SOURCE / "notebooks" / "explore.ipynb").write_text("{}")
    return root


def _synth(root: Path, stack: str, out: Path) -> tuple[list[str], dict[str, set[str]]]:
    """What the target's resources deploy, and the files each image's context / code asset ships."""
    result = synthesize(root, stack, out)
    kind, what = TARGETS[stack]
    deployed = sorted({m for r in result.of_type(kind) for s in _strings(r["inputs"]) for m in DEPLOYED.findall(s)})
    assert deployed and all(("@sha256:" in d) == (what == "image") for d in deployed), deployed
    shipped: dict[str, set[str]] = {}
    if what == "image":
        for image in result.of_type("docker:index/image:Image"):
            app = out / image["name"] / "app"
            if app.is_dir():  # mldeploy's own images (the gateway's mirror has no app/)
                shipped[image["name"]] = {p.relative_to(app).as_posix() for p in app.rglob("*") if p.is_file()}
    else:
        for blob in result.of_type("azure-native:storage:Blob"):
            # mldeploy/endpoint-code/<service>/<code version>/<file>: one code per content, not per image
            found = re.match(r"mldeploy/endpoint-code/([^/]+)/[0-9a-f]+/(.+)", blob["inputs"]["blobName"])
            if found:
                shipped.setdefault(found[1], set()).add(found[2])
                assert (root / blob["inputs"]["source"]["path"]).is_file(), blob
    return deployed, shipped


@pytest.mark.parametrize("stack", sorted(TARGETS))
def test_the_source_directory_is_in_what_the_target_deploys_and_a_helper_change_rolls_out(tmp_path, stack):
    root = _project(tmp_path, stack)
    first, shipped = _synth(root, stack, tmp_path / "first")
    assert shipped and all(files == SHIPPED for files in shipped.values()), shipped
    # A file the folder's .amlignore leaves out (notebooks/): no new tag or version, no update.
    (root / SOURCE / "notebooks" / "explore.ipynb").write_text('{"cells": []}')
    (root / SOURCE / "notebooks" / "more.ipynb").write_text("{}")
    assert _synth(root, stack, tmp_path / "ignored")[0] == first, f"{stack}: an ignored file changed what deploys"
    # A helper score.py imports: every reference the target deploys is new.
    bands = root / SOURCE / "bands.py"
    bands.write_text(bands.read_text() + "\nHIGH = 200\n")
    changed, _ = _synth(root, stack, tmp_path / "changed")
    assert len(changed) == len(first) and not set(changed) & set(first), (stack, first, changed)
