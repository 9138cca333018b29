"""mldeploy/cli/replacement.py: which changed input replaces a resource, and the table of
azure-native path parameters checked against the installed SDK."""
from __future__ import annotations

import importlib
import inspect
import json
import re

import pytest

from mldeploy.cli.replacement import AZURE_PATH_PARAMETERS, DYNAMIC_PROVIDERS, dynamic_replaces, property_effect
from tests.harness import ROOT

DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
QUERY_PARAMETERS = {"tenantId", "expand"}  # arguments of get_* that are not in the URL path


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p.title() for p in rest)


@pytest.mark.parametrize("token", sorted(t for t in AZURE_PATH_PARAMETERS if t != "storage:Blob"))
def test_path_parameters_match_the_installed_sdk(token):
    module, cls = token.split(":")
    sdk = importlib.import_module(f"pulumi_azure_native.{module}")
    getter = getattr(sdk, "get_" + re.sub(r"(?<!^)(?=[A-Z])", "_", cls).lower())
    params = {_camel(p) for p in inspect.signature(getter).parameters if p != "opts"} - QUERY_PARAMETERS
    assert set(AZURE_PATH_PARAMETERS[token]) == params, f"{token}: table {AZURE_PATH_PARAMETERS[token]} vs SDK {params}"


@pytest.fixture(scope="module")
def synthesized_types() -> set[str]:
    """Every resource type of the example stacks (their byte snapshots)."""
    files = sorted((ROOT / "tests" / "stacks" / "snapshots").glob("*/resources.json"))
    assert files, "no stack snapshots found"
    return {r["type"] for f in files for r in json.loads(f.read_text())}


def test_every_azure_type_the_stacks_declare_has_path_parameters(synthesized_types):
    missing = sorted(t for t in synthesized_types
                     if t.startswith("azure-native:") and t.partition(":")[2] not in AZURE_PATH_PARAMETERS)
    assert not missing, f"add the path parameters of {missing} to AZURE_PATH_PARAMETERS"


@pytest.mark.parametrize("path, kind", [
    ("deploymentName", "replace"),            # URL path
    ("endpointName", "replace"),
    ("location", "replace"),                  # TrackedResource.location is create-only
    ("properties.instanceType", "refused"),   # create-only, nested: azure-native PUTs, Azure refuses
    ("properties.model", "update"),
    ("sku.capacity", "update"),
    ("tags.model-version", "update"),
])
def test_online_deployment_effects(path, kind):
    assert property_effect(DEPLOYMENT, path).kind == kind, path


def test_replace_on_changes_option_wins():
    options = {"replaceOnChanges": ["properties.instanceType"]}
    effect = property_effect(DEPLOYMENT, "properties.instanceType", options)
    assert effect.kind == "replace" and "replaceOnChanges" in effect.reason
    assert property_effect("kubernetes:core/v1:Service", "spec.ports[0].port", {"replaceOnChanges": ["*"]}).kind == "replace"


@pytest.mark.parametrize("token, path, kind", [
    ("kubernetes:apps/v1:Deployment", "spec.selector.matchLabels.app", "replace"),
    ("kubernetes:apps/v1:Deployment", "spec.template.spec.containers[0].image", "update"),
    ("kubernetes:apps/v1:Deployment", "metadata.name", "replace"),
    ("kubernetes:core/v1:Service", "spec.clusterIP", "replace"),
    ("kubernetes:core/v1:Service", "spec.ports[0].port", "update"),
    ("kubernetes:batch/v1:Job", "spec.template.spec.containers[0].image", "replace"),
    ("kubernetes:core/v1:ConfigMap", "data.nginx.conf", "replace"),
    ("random:index/randomPassword:RandomPassword", "length", "replace"),
    ("azure-native:storage:Blob", "source.sha256", "replace"),
    ("azure-native:authorization:RoleAssignment", "principalId", "replace"),
    ("azure-native:containerservice:AgentPool", "vmSize", "replace"),
    ("azure-native:containerservice:AgentPool", "count", "update"),
    # The local stack's `port` 8890 -> 8891 read `update` on the gateway container: docker replaces it.
    ("docker:index/container:Container", "ports[0].external", "replace"),
    ("docker:index/container:Container", "envs[2]", "replace"),
    ("docker:index/container:Container", "image", "replace"),
    ("docker:index/container:Container", "memory", "update"),
    ("docker:index/container:Container", "restart", "update"),
    ("docker:index/network:Network", "name", "replace"),
])
def test_provider_rules(token, path, kind):
    assert property_effect(token, path).kind == kind, f"{token} {path}"


def test_config_map_data_updates_in_place_only_when_mutable_and_not_immutable():
    from mldeploy.cli.diffing import Side, compare

    def side(data: str, immutable: bool | None, mutable_provider: bool) -> Side:
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "svc-traffic"}, "data": {"a": data}}
        if immutable is not None:
            cm["immutable"] = immutable
        provider = {"enableServerSideApply": "true"}
        if mutable_provider:
            provider["enableConfigMapMutable"] = "true"
        return Side("s", [{"urn": "urn:p", "type": "pulumi:providers:kubernetes", "name": "k8s", "inputs": provider},
                          {"urn": "urn:c", "type": "kubernetes:core/v1:ConfigMap", "name": "c", "inputs": cm}], {})

    def kind(immutable, mutable_provider):
        (change,) = compare("s", side("1", immutable, mutable_provider), side("2", immutable, mutable_provider)).changes
        return change.kind
    assert kind(None, True) == "update", "enableConfigMapMutable, not immutable: pulumi-kubernetes updates in place"
    assert kind(True, True) == "replace", "immutable: replaced even with enableConfigMapMutable"
    assert kind(None, False) == "replace", "the provider's default: ConfigMaps are replaced"


def test_dynamic_providers_decide_for_themselves():
    traffic = "pulumi-python:dynamic/mldeploy:EndpointTraffic"
    old = {"endpointId": "/e/1", "traffic": {"blue": 90}, "mirrorTraffic": {}, "endpointRevision": "a"}
    assert dynamic_replaces(traffic, old, {**old, "traffic": {"blue": 100}}) == ()
    assert dynamic_replaces(traffic, old, {**old, "endpointId": "/e/2"}) == ("endpointId",)
    assert property_effect(traffic, "endpointId", replaces=("endpointId",)).kind == "replace"
    assert property_effect(traffic, "traffic.blue").kind == "update"


def test_every_dynamic_type_of_the_stacks_has_its_provider(synthesized_types):
    dynamic = sorted(t for t in synthesized_types if t.startswith("pulumi-python:dynamic/"))
    assert dynamic and set(dynamic) <= set(DYNAMIC_PROVIDERS), dynamic
    for token in dynamic:
        module, cls = DYNAMIC_PROVIDERS[token]
        assert callable(getattr(importlib.import_module(module), cls)().diff), token


def test_a_new_role_assignment_updates_the_wait():
    wait = "pulumi-python:dynamic/azure:RolePropagation"
    assert dynamic_replaces(wait, {"assignments": ["a"], "timeoutSeconds": 600},
                            {"assignments": ["a", "b"], "timeoutSeconds": 600}) == ()
