"""VM size names by Microsoft's grammar (mldeploy/config/cluster.py VM_SIZE_RE, VmSize): every size the
project's tables and docs name and every real size sourced below is accepted; junk is refused with the
size it starts with."""
from __future__ import annotations

import re

import pytest

from mldeploy.config.cluster import vm_size_problem
from mldeploy.plan.managed_skus import SKU_FAMILIES
from mldeploy.plan.vm_sizes import MEMORY_GIB, VCPUS
from tests.harness import ROOT

# Real sizes beyond the ARM enum (which stops at 2018's sizes), each as Microsoft writes it:
# the naming page's examples (vm-naming-conventions.md: M416ms_v2, NV16as_v4, NC4as_T4_v3, M8-2ms_v2) and
# sizes from ARM's own list of available sizes, which AKS returns on a refused vmSize ("The VM size of
# Standard_D2_v2 is not allowed in your subscription in location 'eastus'. The available VM sizes are
# 'standard_b16pls_v2,...'", January 2026: lower case, as ARM compares), plus the accelerator families of
# learn.microsoft.com/azure/virtual-machines/sizes/gpu-accelerated (ND H100 v5, NC A100 v4, NG V620, ND MI300X
# v5, ND GB200 v6).
SOURCED = (
    "Standard_M416ms_v2", "Standard_NV16as_v4", "Standard_NC4as_T4_v3", "Standard_M8-2ms_v2",
    "standard_b16pls_v2", "standard_d2plds_v5", "standard_dc4as_cc_v5", "standard_dc2ads_v5", "standard_e16-4ds_v4",
    "standard_e64i_v3", "standard_e80ids_v4", "standard_ec96iads_v5", "standard_fx12-6mds_v2", "standard_fx36mds",
    "standard_hb120-16rs_v3", "standard_hb176-144rs_v4", "standard_hc44rs", "standard_hx176-24rs",
    "standard_l8aos_v4", "standard_m128", "standard_m128-64bds_3_v3", "standard_m128m", "standard_m32ts",
    "standard_m416s_8_v2", "standard_m832ids_16_v3", "standard_nc80adis_h100_v5", "standard_nv12ads_v710_v5",
    "standard_nv36adms_a10_v5", "Standard_ND96isr_H100_v5", "Standard_NC24ads_A100_v4", "Standard_NG8ads_V620_v1",
    "Standard_ND96isr_MI300X_v5", "Standard_ND128isr_NDR_GB200_v6", "Standard_DC2es_v5", "Standard_D2nds_v6",
    "Standard_ND96isrf_H100_v5", "Standard_NCC40ads_H100_v5", "STANDARD_D2_V2",
)


def _documented() -> set[str]:
    """Every size the project's docs (but bad-input.md's refused examples), stacks, examples and init templates name."""
    names = set()
    for folder in ("docs", "stacks", "examples", "mldeploy/project/templates"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {".md", ".yaml", ".tmpl", ".yml"} and path.name != "bad-input.md":
                names |= set(re.findall(r"\bStandard_[A-Za-z]+[0-9][A-Za-z0-9_-]*[A-Za-z0-9]", path.read_text()))
    return names | set(re.findall(r"\bStandard_[A-Za-z]+[0-9][A-Za-z0-9_-]*[A-Za-z0-9]",
                                  (ROOT / "README.md").read_text()))


def test_every_size_of_the_arm_enum_and_the_project_s_tables_and_docs_is_a_size():
    import pulumi_azure_native.compute as compute
    arm = {m.value for m in compute.VirtualMachineSizeTypes} - {f"Basic_A{n}" for n in range(5)}  # retired
    managed = {sku.name for sku in SKU_FAMILIES.values()}
    documented = _documented()
    assert len(arm) > 150 and managed and len(documented) >= 5
    for source, names in (("ARM VirtualMachineSizeTypes", arm), ("plan/vm_sizes.py", set(VCPUS) | set(MEMORY_GIB)),
                          ("plan/managed_skus.py", managed), ("docs and stacks", documented),
                          ("sourced sizes", set(SOURCED))):
        refused = {n: vm_size_problem(n) for n in sorted(names) if vm_size_problem(n)}
        assert not refused, f"{source}: {refused}"


@pytest.mark.parametrize("value, start", [
    ("Standard_DS3_v2xxxx", "Standard_DS3_v2"), ("Standard_D4s_v5_", "Standard_D4s_v5"),
    ("Standard_D4s_v5-2", "Standard_D4s_v5"), ("Standard_NC4as_T4_v3x", "Standard_NC4as_T4_v3"),
    ("Standard_DS3_v2 ", "Standard_DS3_v2"), ("Standard_DS3xxxx_v2", "Standard_DS3"),
])
def test_a_junk_suffix_is_refused_naming_the_size_it_starts_with(value, start):
    problem = vm_size_problem(value)
    assert problem and f"{start!r} is, then" in problem and "vm-naming-conventions" in problem, problem


@pytest.mark.parametrize("value", ["Foo", "DS3_v2", "Standard_", "Standard_D", "Basic_A0", "Standard_DS3_v", "Standard_D4s_v5_Promo"])
def test_names_outside_the_grammar_are_refused(value):
    assert vm_size_problem(value) is not None
