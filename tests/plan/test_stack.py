"""targets/stack.py (with plan/stack.py's rules): the one load entry point runs config's parse and then the plan layer's rules,
before anything is declared; errors name the stack file and the key."""
from __future__ import annotations

import copy

import pytest

from mldeploy.config import ConfigError
from mldeploy.config import parse_settings as parse_shape
from mldeploy.targets.stack import SECTION_MODELS, SERVICE_MODELS, load_stack, parse_settings
from tests.harness import ROOT, stack_values


def refused(stack: str, change) -> ConfigError:
    values, keys = stack_values(stack)
    values = copy.deepcopy(values)
    change(values)
    with pytest.raises(ConfigError) as info:
        parse_settings(stack, values, keys, ROOT, f"stacks/Pulumi.{stack}.yaml")
    return info.value


def test_every_example_stack_loads():
    for stack in ("local", "dev", "prod", "prod-attach", "fpga", "managed", "kubernetes-endpoint", "batch", "edge"):
        assert load_stack(ROOT, stack).stack == stack, f"stacks/Pulumi.{stack}.yaml must load"


def test_a_plan_rule_is_refused_naming_the_stack_file():
    err = refused("prod", lambda v: v["mldeploy:clusters"]["prod"].update(agentCount=1))
    assert (err.source, err.key) == ("stacks/Pulumi.prod.yaml", "mldeploy:clusters.prod"), err


def test_config_alone_checks_shape_not_the_plan_rules():
    values, keys = stack_values("prod")
    values["mldeploy:clusters"]["prod"]["agentCount"] = 1
    settings = parse_shape("prod", values, keys, ROOT, "stacks/Pulumi.prod.yaml", SERVICE_MODELS, SECTION_MODELS)
    assert settings.clusters["prod"].agent_count == 1, "mldeploy:clusters.prod.agentCount: config keeps the value"


def test_a_body_larger_than_the_memory_holds_is_refused_at_load():
    err = refused("local", lambda v: v["mldeploy:services"]["diabetes"].update(maxRequestBodyMb=500))
    assert err.key == "mldeploy:services.diabetes" and err.message.startswith("maxRequestBodyMb 500 MB needs"), err


def test_an_fpga_size_outside_its_regions_is_refused_at_load():
    err = refused("fpga", lambda v: v.update({"azure-native:location": "northeurope"}))
    assert err.key == "mldeploy:services.diabetes-fpga.fpgaVmSize" and "not offered in northeurope" in err.message, err


def test_production_tls_without_a_certificate_is_refused_at_load():
    err = refused("prod", lambda v: [v["mldeploy:services"]["diabetes"].pop(k, None) for k in ("certManager", "tls")])
    assert err.key == "mldeploy:services.diabetes.tls" and "no certificate is configured" in err.message, err


def test_an_online_deployment_of_an_image_with_two_models_is_refused_at_load():
    def two_models(values):
        values["mldeploy:models"]["second"] = copy.deepcopy(values["mldeploy:models"]["diabetes"])
        values["mldeploy:images"]["diabetes"]["models"] = ["diabetes", "second"]

    err = refused("managed", two_models)
    assert err.key == "mldeploy:services.diabetes.deployments.blue.image", err
    assert err.message == ("image 'diabetes' bakes 2 models; an online deployment serves exactly one "
                           "registered model"), err


def test_kubernetes_endpoints_sharing_a_cluster_must_agree_on_its_extension():
    def second_endpoint(values):
        services = values["mldeploy:services"]
        services["other"] = {**copy.deepcopy(services["diabetes"]), "namespace": "elsewhere"}

    err = refused("kubernetes-endpoint", second_endpoint)
    assert err.key == "mldeploy:services" and "must agree on namespace" in err.message, err


def test_an_attach_naming_the_cluster_this_stack_creates_is_refused_at_load():
    # The created cluster is `aks-<stack>-<entry>` in the stack's group (plan/cluster.py cluster_name):
    # an attach of that name would look it up before this very stack creates it.
    values, _ = stack_values("prod")
    group = values["mldeploy:resourceGroup"]
    for name in ("aks-prod-prod", "AKS-Prod-Prod"):  # Azure resource names compare case-insensitively
        err = refused("prod", lambda v, n=name: v["mldeploy:clusters"].update(
            shared={"attach": {"resourceGroup": group.upper(), "name": n}}))
        assert err.key == "mldeploy:clusters.shared.attach" and "clusters.prod creates in this stack" in err.message, err


def test_a_location_must_be_an_azure_region_display_names_included():
    err = refused("dev", lambda v: v.update({"azure-native:location": "westeurop"}))
    assert err.key == "azure-native:location" and "did you mean westeurope" in err.message, err
    values, keys = stack_values("dev")
    values = {**copy.deepcopy(values), "azure-native:location": "West Europe"}
    assert parse_settings("dev", values, keys, ROOT, "stacks/Pulumi.dev.yaml").location == "westeurope", \
        "azure-native:location: a region's display name (West Europe) must load, as ARM reads it (westeurope)"


@pytest.mark.parametrize("group", [None, "rg-mldeploy-managed", "RG-MLDEPLOY-MANAGED"])
def test_an_existing_workspace_in_the_group_the_stack_creates_is_refused_at_load(group):
    """azure-native refuses to create a resource group that exists ("cannot create already existing
    resource"): a stack creating the group its existing workspace is in never gets past it."""
    def existing(values):
        values.pop("mldeploy:resourceGroup", None)
        values["mldeploy:workspace"] = {"name": "mlw-shared", "create": False,
                                        **({"resourceGroup": group} if group else {})}
    err = refused("managed", existing)
    assert err.key == "mldeploy:workspace.resourceGroup", err
    assert "cannot create already existing resource" in err.message and "'mlw-shared'" in err.message, err


def test_an_existing_workspace_in_a_group_of_its_own_loads():
    values, keys = stack_values("managed")
    values = copy.deepcopy(values)
    values["mldeploy:workspace"] = {"name": "mlw-shared", "create": False, "resourceGroup": "rg-ml-shared"}
    parse_settings("managed", values, keys, ROOT, "stacks/Pulumi.managed.yaml")


def test_an_existing_workspace_gets_a_note_naming_the_model_versions_the_stack_registers():
    """azure-native does not create a ModelVersion that exists: an explicit version SDK v1 already numbered in the
    kept workspace stops `pulumi up`, which synth cannot see offline - it says so, once; a version derived from the
    content cannot collide with v1's numbers, so a stack of those gets no note."""
    from mldeploy.plan.stack import existing_workspace_notes
    values, keys = stack_values("managed")
    values = copy.deepcopy(values)
    values["mldeploy:workspace"] = {"name": "mlw-shared", "create": False, "resourceGroup": "rg-ml-shared"}
    [note] = existing_workspace_notes(parse_settings("managed", values, keys, ROOT, "stacks/Pulumi.managed.yaml"))
    assert note.startswith("mldeploy:workspace: the stack registers model version(s) diabetes:1, diabetes:2 in the "
                           "existing workspace 'mlw-shared'") and "ModelVersion" in note, note
    assert existing_workspace_notes(load_stack(ROOT, "managed")) == [], "a created workspace holds no model yet"
    for model in values["mldeploy:models"].values():
        model.pop("version", None)
    assert existing_workspace_notes(parse_settings("managed", values, keys, ROOT, "stacks/Pulumi.managed.yaml")) == []


def test_an_image_nothing_uses_gets_a_note_and_every_used_one_none():
    """An image no service, deployment or entry names is still built and pushed (the guide's Image.create): a
    stack whose deployments all moved to another image builds the old one on, which synth says once. Every
    example stack's images are used - a revision's, a canary's and an endpoint deployment's included."""
    from pathlib import Path

    from mldeploy.plan.stack import unused_image_notes
    for stack in sorted(p.name[len("Pulumi."):-len(".yaml")] for p in Path(ROOT, "stacks").glob("Pulumi.*.yaml")):
        assert unused_image_notes(load_stack(ROOT, stack)) == [], stack
    values, keys = stack_values("managed")
    values = copy.deepcopy(values)
    for deployment in values["mldeploy:services"]["diabetes"]["deployments"].values():
        deployment["image"] = "diabetes-v2"
    [note] = unused_image_notes(parse_settings("managed", values, keys, ROOT, "stacks/Pulumi.managed.yaml"))
    assert note.startswith("mldeploy:images.diabetes: no service or entry uses it"), note
