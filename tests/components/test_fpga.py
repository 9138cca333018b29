"""FpgaService: a PB-series pool (labels, taint, region check) and the AKS service on it."""
from __future__ import annotations

import pytest

from mldeploy.config import ConfigError
from mldeploy.targets.fpga.regions import FPGA_REGIONS, check_region
from tests.harness import stack_values, synth


@pytest.fixture(scope="module")
def fpga(tmp_path_factory):
    return synth("fpga", tmp_path_factory.mktemp("fpga"))


def test_pool_is_pb_series_with_label_and_taint(fpga):
    pool = fpga.one("azure-native:containerservice:AgentPool")["inputs"]
    assert pool["vmSize"] == "Standard_PB6s" and pool["count"] == 1 and pool["mode"] == "User"
    assert pool["nodeLabels"] == {"mldeploy.io/accelerator": "fpga"}
    assert pool["nodeTaints"] == ["mldeploy.io/accelerator=fpga:NoSchedule"]
    cluster = fpga.one("azure-native:containerservice:ManagedCluster")["inputs"]
    assert pool["resourceName"] == cluster["resourceName"], "the pool belongs to the service's cluster"


def test_deployment_tolerates_the_taint_and_selects_the_pool(fpga):
    spec = fpga.one("kubernetes:apps/v1:Deployment")["inputs"]["spec"]["template"]["spec"]
    assert spec["nodeSelector"]["mldeploy.io/accelerator"] == "fpga"
    assert spec["nodeSelector"]["kubernetes.azure.com/agentpool"] == "fpga"
    assert {"key": "mldeploy.io/accelerator", "operator": "Equal", "value": "fpga",
            "effect": "NoSchedule"} in spec["tolerations"]


def test_the_pods_wait_for_the_pool(fpga):
    pool = fpga.one("azure-native:containerservice:AgentPool")["urn"]
    for dep in fpga.of_type("kubernetes:apps/v1:Deployment"):
        assert pool in dep["dependsOn"], f"Deployment {dep['urn']} must wait for the FPGA pool {pool}"


def test_the_aks_service_pieces_are_reused(fpga):
    assert len(fpga.of_type("mldeploy:aks:AksService")) == 1
    assert len(fpga.of_type("kubernetes:core/v1:Service")) == 1
    out = fpga.outputs["services"]["diabetes-fpga"]
    assert out["fpgaVmSize"] == "Standard_PB6s" and out["fpgaPool"] == "fpga"


def test_only_the_fpga_service_is_steered_to_the_pool(tmp_path):
    values, keys = stack_values("fpga")
    values["mldeploy:services"]["plain"] = {"target": "aks", "cluster": "fpga", "image": "diabetes",
                                            "tlsEnabled": False}
    result = synth("fpga", tmp_path, values, keys)
    by_name = {d["name"]: d["inputs"]["spec"]["template"]["spec"] for d in result.of_type("kubernetes:apps/v1:Deployment")}
    assert "nodeSelector" in by_name["diabetes-fpga-stable"]
    assert "nodeSelector" not in by_name["plain-stable"] and "tolerations" not in by_name["plain-stable"]


def test_a_region_without_the_size_is_refused_with_the_key_path():
    with pytest.raises(ConfigError) as err:
        check_region("Standard_PB6s", "northeurope", "mldeploy:services.x.fpgaVmSize")
    assert err.value.key == "mldeploy:services.x.fpgaVmSize"
    assert "not offered in northeurope" in err.value.message and "eastus" in err.value.message


def test_synth_in_a_region_without_the_size_fails_naming_the_key(tmp_path):
    values, keys = stack_values("fpga")
    values["azure-native:location"] = "northeurope"
    with pytest.raises(Exception, match=r"mldeploy:services\.diabetes-fpga\.fpgaVmSize: Standard_PB6s is not offered"):
        synth("fpga", tmp_path, values, keys)


def test_the_region_list_can_be_overridden(tmp_path):
    check_region("Standard_PB6s", "North Europe", "k", ["northeurope"])
    values, keys = stack_values("fpga")
    values["azure-native:location"] = "northeurope"
    values["mldeploy:services"]["diabetes-fpga"]["fpgaRegions"] = ["northeurope"]
    assert synth("fpga", tmp_path, values, keys).one("azure-native:containerservice:AgentPool")


def test_every_listed_size_is_pb_series():
    assert all(size.startswith("Standard_PB") for size in FPGA_REGIONS)


def test_a_non_pb_size_is_a_config_error(tmp_path):
    values, keys = stack_values("fpga")
    values["mldeploy:services"]["diabetes-fpga"]["fpgaVmSize"] = "Standard_D4s_v5"
    with pytest.raises(ConfigError) as err:
        synth("fpga", tmp_path, values, keys)
    assert err.value.key == "mldeploy:services.diabetes-fpga.fpgaVmSize"


# -- FpgaNodePool unit-tested with a plan: plan_fpga's NodePoolPlan in, the AgentPool out ------------

AGENT_POOL = "azure-native:containerservice:AgentPool"


def _unit(**service):

    from mldeploy.components.fpga import FpgaNodePool
    from mldeploy.targets.fpga.plan import plan_fpga
    from mldeploy.targets.fpga.settings import FpgaServiceSettings
    from tests.components.unit import declare

    settings = FpgaServiceSettings.model_validate({"target": "fpga", "cluster": "c1", "image": "diabetes", **service})
    plan = plan_fpga(settings).pool
    seen = {}

    def build():
        pool = FpgaNodePool("fpga-svc", plan=plan, cluster_name="aks-unit-c1", resource_group_name="rg-unit",
                            tags={"environment": "unit"})
        return pool.pool_name.apply(lambda v: seen.update(pool_name=v))

    declared = declare(build)
    assert declared.types == [AGENT_POOL, "mldeploy:fpga:FpgaNodePool"], declared.types
    return plan, declared.one(AGENT_POOL), seen["pool_name"]


def test_unit_the_pool_is_the_plans_size_count_and_name_on_the_given_cluster():
    plan, pool, pool_name = _unit(fpgaVmSize="Standard_PB12s", fpgaNodeCount=3, fpgaPoolName="pb")
    i = pool["inputs"]
    assert (i["agentPoolName"], i["vmSize"], i["count"]) == (plan.name, plan.vm_size, plan.node_count) == \
        ("pb", "Standard_PB12s", 3), f"AgentPool {pool['name']}: {i}"
    assert (i["resourceName"], i["resourceGroupName"]) == ("aks-unit-c1", "rg-unit"), \
        "the pool must join the cluster it was given, in that cluster's resource group"
    assert pool_name == "pb", "pool_name (the service's fpgaPool output) is the declared pool's name"


def test_unit_the_pool_is_a_linux_user_pool_with_the_plans_labels_and_taints():
    plan, pool, _ = _unit()
    i = pool["inputs"]
    assert i["mode"] == "User", "an FPGA pool must never be a System pool (system pods would land on PB nodes)"
    assert (i["osType"], i["type"]) == ("Linux", "VirtualMachineScaleSets"), i
    assert i["nodeLabels"] == dict(plan.node_labels) == {"mldeploy.io/accelerator": "fpga"}, i["nodeLabels"]
    assert i["nodeTaints"] == list(plan.node_taints) == ["mldeploy.io/accelerator=fpga:NoSchedule"], \
        "without the plan's NoSchedule taint any pod could land on the FPGA nodes"
    assert i["tags"] == {"environment": "unit"}
