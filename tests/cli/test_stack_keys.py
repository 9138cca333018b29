"""mldeploy/cli/stack_keys.py: every resource of every stack's snapshot is named by the stack file's
key it comes from, and `mldeploy diff`'s resource list and JSON say it."""
from __future__ import annotations

import json

import pytest
import yaml

from mldeploy.cli.diff_render import render_markdown, to_json
from mldeploy.cli.diffing import Side, compare
from mldeploy.cli.stack_keys import stack_keys
from tests.stacks.snapshot import EXTRA_STACKS, ROOT, SNAPSHOTS, stack_names

MIRROR = "mldeploy:image:MirroredImage"  # the gateway's and log shipper's images: mldeploy's own


def _snapshot(stack: str) -> tuple[list[dict], dict]:
    stack_file = ROOT / ("tests/stacks" if stack in EXTRA_STACKS else "stacks") / f"Pulumi.{stack}.yaml"
    config = yaml.safe_load(stack_file.read_text())["config"]
    resources = json.loads((SNAPSHOTS / stack / "resources.json").read_text())
    return resources, {k.removeprefix("mldeploy:"): v for k, v in config.items()}


def _entry_exists(key: str, config: dict) -> bool:
    section, _, rest = key.partition(".")
    if not rest:
        return section in ("workspace", "resourceGroup")  # the stack's own (the workspace may be implicit)
    name = rest.split(".")[0]
    return name in (config.get(section) or {})


@pytest.mark.parametrize("stack", [*stack_names(), *EXTRA_STACKS])
def test_every_resource_of_a_stack_is_named_by_its_stack_key(stack):
    resources, config = _snapshot(stack)
    keys = stack_keys(resources, config)
    by_urn = {r["urn"]: r for r in resources}
    for r in resources:
        key = keys[r["urn"]]
        if key is None:
            parent = by_urn.get(r.get("parent") or "", r)
            assert MIRROR in (r["type"], parent["type"]), f"{stack}: {r['type']} {r['name']} has no stack key"
        else:
            assert _entry_exists(key, config), f"{stack}: {r['type']} {r['name']} named {key}, not in the stack file"


@pytest.mark.parametrize("stack, name, key", [
    ("managed", "endpoint-diabetes-blue", "services.diabetes.deployments.blue"),
    ("managed", "endpoint-diabetes-identity", "services.diabetes"),
    ("managed", "endpoint-diabetes-blue-autoscale", "services.diabetes.deployments.blue"),  # its targetResourceUri
    ("managed", "model-diabetes-v2", "models.diabetes-v2"),  # registeredName diabetes, version 2
    ("managed", "model-diabetes-2-sklearn_regression_model.pkl", "models.diabetes-v2"),  # its blob
    ("containerapp", "diabetes-v2", "images.diabetes-v2"),  # the docker image
    ("dev", "aci-diabetes-aci-primary-key", "services.diabetes-aci"),
    ("prod-attach", "diabetes-canary", "services.diabetes.canary"),
    ("prod-attach", "aks-shared-k8s", "clusters.shared"),  # an attached cluster: nothing tagged
    ("kubernetes-endpoint", "k8s-compute-inference-attach", "clusters.inference"),
    ("batch", "batch-nightly-deployment", "batch.nightly"),
    ("edge", "edge-clinics-deployment", "edge.clinics"),
    ("forest", "local-forest-scorer", "services.forest"),
    ("dev", "registry", "workspace"),
])
def test_a_resource_is_named_as_the_stack_file_says_it(stack, name, key):
    resources, config = _snapshot(stack)
    keys = stack_keys(resources, config)
    assert {keys[r["urn"]] for r in resources if r["name"] == name} == {key}, name


def _changed(stack: str, *names: str):
    """A diff of the stack's snapshot against itself with the resources `names` given a new description."""
    resources, config = _snapshot(stack)
    after = json.loads(json.dumps(resources))
    for r in after:
        if r["name"] in names and r["type"] != MIRROR:
            r["inputs"]["description"] = "changed"
    return compare(stack, Side("`main`", resources, {}, config=config), Side("working tree", after, {}, config=config))


def test_the_resource_list_and_json_give_each_resource_its_stack_key():
    """The list said only Pulumi's names (`endpoint-diabetes-blue`) while the warnings said
    `services.diabetes.deployments.blue`."""
    d = _changed("managed", "endpoint-diabetes-blue")
    md = render_markdown(d)
    assert "| | stack file | resource | type | properties |" in md, md
    assert "| ✏️ update | `services.diabetes.deployments.blue` | `endpoint-diabetes-blue` |" in md, md
    assert "<code>services.diabetes.deployments.blue</code>: <code>endpoint-diabetes-blue</code>" in md, md
    assert [(r["name"], r["stackKey"]) for r in to_json(d)["resources"]] == [
        ("endpoint-diabetes-blue", "services.diabetes.deployments.blue")]
    # A resource of no stack key says so.
    d = _changed("dev", "mirror-nginx-1-27-4-alpine", "aci-diabetes-aci-group")
    assert "| ✏️ update | — (mldeploy's own: no stack key) | `mirror-nginx-1-27-4-alpine` |" in render_markdown(d)
    assert {r["name"]: r["stackKey"] for r in to_json(d)["resources"]} == {
        "aci-diabetes-aci-group": "services.diabetes-aci", "mirror-nginx-1-27-4-alpine": None}


def test_warnings_about_one_resource_name_its_stack_key():
    """A production key vault destroyed, a generated key replaced, a model version's file changed: the
    warnings named only `keyvault`, `diabetes-primary-key`, `model-diabetes-v1`."""
    from mldeploy.cli.review import MODEL_DIGEST_PATH, warnings

    resources, config = _snapshot("prod")
    after = [r for r in json.loads(json.dumps(resources)) if r["name"] != "keyvault"]
    for r in after:
        if r["name"] == "diabetes-primary-key":
            r["inputs"]["length"] = 48  # pulumi-random replaces on any input
        if r["name"] == "model-diabetes-v1":
            r["inputs"]["properties"]["properties"][MODEL_DIGEST_PATH.removeprefix("properties.properties.")] = "f" * 64
    d = compare("prod", Side("`main`", resources, {}, config=config), Side("working tree", after, {}, config=config))
    said = {a.kind: a.message for a in warnings(d)}
    assert said["production-destroy"].startswith("`workspace`: the production key vault `keyvault` is destroyed"), said
    assert said["key-rotation"].startswith("`services.diabetes`: generated key `diabetes-primary-key` is replaced"), said
    assert said["model-content"].startswith("`models.diabetes` (`diabetes:1`, `model-diabetes-v1`): its file changed"), said
