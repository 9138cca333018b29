"""mldeploy/targets/fpga/plan.py: the FPGA pool and the placement of the service's pods on it (pure, no mocks)."""
from __future__ import annotations

from mldeploy.targets.fpga.plan import AGENT_POOL_LABEL, plan_fpga
from mldeploy.targets.fpga.settings import FpgaServiceSettings


def _plan(**service):
    s = FpgaServiceSettings.model_validate({"target": "fpga", "cluster": "c", "image": "diabetes", **service})
    return plan_fpga(s)


def test_the_pool_takes_the_configured_size_count_and_name():
    pool = _plan(fpgaVmSize="Standard_PB12s", fpgaNodeCount=2, fpgaPoolName="pb").pool
    assert (pool.vm_size, pool.node_count, pool.name) == ("Standard_PB12s", 2, "pb"), \
        "services.x.fpgaVmSize, fpgaNodeCount and fpgaPoolName reach the pool"


def test_the_pool_is_tainted_no_schedule():
    assert _plan().pool.node_taints == ("mldeploy.io/accelerator=fpga:NoSchedule",), \
        "the FPGA pool must repel every pod that does not tolerate it"


def test_the_pods_tolerate_exactly_the_pools_taint():
    plan = _plan()
    tolerated = {f"{t.key}={t.value}:{t.effect}" for t in plan.placement.tolerations if t.operator == "Equal"}
    assert tolerated == set(plan.pool.node_taints), "the service's pods must tolerate the pool's taint"


def test_the_pods_select_the_pools_own_labels():
    plan = _plan()
    assert set(plan.pool.node_labels) <= set(plan.placement.node_selector), \
        "the pods' nodeSelector must hold the labels the pool gives its nodes"


def test_the_pods_select_the_pool_by_name():
    assert (AGENT_POOL_LABEL, "pb") in _plan(fpgaPoolName="pb").placement.node_selector, \
        "services.x.fpgaPoolName: the pods select that pool, not just any FPGA node"


def test_the_built_in_fpga_regions_are_azure_regions_of_the_dated_table():
    from mldeploy.plan.versions import region_problem
    from mldeploy.targets.fpga.regions import FPGA_REGIONS

    unknown = {r for regions in FPGA_REGIONS.values() for r in regions if region_problem(r) is not None}
    assert not unknown, f"targets/fpga/regions.py FPGA_REGIONS: {unknown} missing from plan/versions.py REGIONS"
