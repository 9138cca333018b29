"""The VM SKUs managed online endpoints accept, their quota family and cores, and Microsoft's
v1 -> v2 size mapping. Pure data and lookups: no Pulumi.

Sources (read 2026-11-25; these lists change - re-check them when Azure adds SKUs):
- SKU_FAMILIES: "Managed online endpoints SKU list" (MicrosoftDocs azure-docs,
  articles/machine-learning/reference-managed-online-endpoints-vm-sku-list.md, ms.date
  10/18/2025): family name, cores, GPUs, and the "Skip 20% Reservation" column.
- V1_SIZE_TO_SKU: "Upgrade steps for Azure Container Instances web services to managed online
  endpoints" (MicrosoftDocs/azure-ai-docs@12579eb3 articles/machine-learning/
  migrate-to-v2-managed-online-endpoints.md, ms.date 2026-03-26, "Resource requirements"): "The upgrade
  tool maps the CPU/Memory requirement to corresponding SKU. If you choose to redeploy manually through
  CLI/SDK V2, we also suggest the corresponding SKU", seven rows of (CPU, memory GB] ranges. Re-checked
  2026-12-06: the same seven rows as first read. The tool itself (Azure/azureml-examples
  cli/endpoints/online/managed/migration/export-service-util.py, for AKS and ACI services alike) asks
  the service's export API and holds no table of its own, so this page is the only published mapping.
  The table leaves sizes out (2 cores with 1 GB, 1 core with 1.5 GB, 0.5 core with 5 GB); for those
  mldeploy's rule (below: the first row whose upper bounds hold) picks a SKU Microsoft did not write down.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ManagedSku:
    name: str
    family: str  # the quota family (`az ml compute list-usage`)
    cores: int
    gpus: float = 0
    skips_reservation: bool = False  # exempt from the 20 % upgrade reservation


def _family(family: str, sizes: dict[str, int], gpus: dict[str, float] | None = None,
            skips: bool = False) -> dict[str, ManagedSku]:
    return {name.lower(): ManagedSku(name, family, cores, (gpus or {}).get(name, 0), skips)
            for name, cores in sizes.items()}


SKU_FAMILIES: dict[str, ManagedSku] = {
    **_family("standardDASv4Family", {f"Standard_D{n}as_v4": n for n in (2, 4, 8, 16, 32, 48, 64, 96)}),
    **_family("standardDAv4Family", {f"Standard_D{n}a_v4": n for n in (2, 4, 8, 16, 32, 48, 64, 96)}),
    **_family("standardDSv2Family", {"Standard_DS1_v2": 1, "Standard_DS2_v2": 2, "Standard_DS3_v2": 4,
                                     "Standard_DS4_v2": 8, "Standard_DS5_v2": 16}),
    **_family("standardESv3Family", {f"Standard_E{n}s_v3": n for n in (2, 4, 8, 16, 32, 48, 64)}),
    **_family("standardFSv2Family", {f"Standard_F{n}s_v2": n for n in (2, 4, 8, 16, 32, 48, 64, 72)}),
    **_family("standardFXMDVSFamily", {f"Standard_FX{n}mds": n for n in (4, 12, 24, 36, 48)}),
    **_family("standardLASv3Family", {f"Standard_L{n}as_v3": n for n in (8, 16, 32, 48, 64, 80)}),
    **_family("standardLSv2Family", {f"Standard_L{n}s_v2": n for n in (8, 16, 32, 48, 64, 80)}),
    **_family("standardLSv3Family", {f"Standard_L{n}s_v3": n for n in (8, 16, 32, 48, 64, 80)}),
    **_family("standardNCADSA100v4Family",
              {"Standard_NC24ads_A100_v4": 24, "Standard_NC48ads_A100_v4": 48, "Standard_NC96ads_A100_v4": 96},
              {"Standard_NC24ads_A100_v4": 1, "Standard_NC48ads_A100_v4": 2, "Standard_NC96ads_A100_v4": 4},
              skips=True),
    **_family("standard NCASv3_T4 Family",
              {"Standard_NC4as_T4_v3": 4, "Standard_NC8as_T4_v3": 8, "Standard_NC16as_T4_v3": 16,
               "Standard_NC64as_T4_v3": 64},
              {"Standard_NC4as_T4_v3": 1, "Standard_NC8as_T4_v3": 1, "Standard_NC16as_T4_v3": 1,
               "Standard_NC64as_T4_v3": 4}),
    **_family("standardNCSv2Family", {"Standard_NC6s_v2": 6, "Standard_NC12s_v2": 12, "Standard_NC24s_v2": 24},
              {"Standard_NC6s_v2": 1, "Standard_NC12s_v2": 2, "Standard_NC24s_v2": 4}),
    **_family("standardNCSv3Family", {"Standard_NC6s_v3": 6, "Standard_NC12s_v3": 12, "Standard_NC24s_v3": 24},
              {"Standard_NC6s_v3": 1, "Standard_NC12s_v3": 2, "Standard_NC24s_v3": 4}),
    **_family("standardNCADSH100v5Family", {"Standard_NC40ads_H100_v5": 40, "Standard_NC80adis_H100_v5": 80},
              {"Standard_NC40ads_H100_v5": 1, "Standard_NC80adis_H100_v5": 2}, skips=True),
    **_family("standard NDAMSv4_A100Family", {"Standard_ND96amsr_A100_v4": 96},
              {"Standard_ND96amsr_A100_v4": 8}, skips=True),
    **_family("standard NDASv4_A100 Family", {"Standard_ND96asr_v4": 96}, {"Standard_ND96asr_v4": 8}, skips=True),
    **_family("standardNDSv2Family", {"Standard_ND40rs_v2": 40}, {"Standard_ND40rs_v2": 8}, skips=True),
    **_family("standardNDv5H100Family", {"Standard_ND96is_H100_v5": 96, "Standard_ND96isr_H100_v5": 96},
              {"Standard_ND96is_H100_v5": 8, "Standard_ND96isr_H100_v5": 8}, skips=True),
    **_family("standardNVADSA10v5Family",
              {"Standard_NV6ads_A10_v5": 6, "Standard_NV12ads_A10_v5": 12, "Standard_NV18ads_A10_v5": 18,
               "Standard_NV36ads_A10_v5": 36, "Standard_NV36adms_A10_v5": 36, "Standard_NV72ads_A10_v5": 72},
              {"Standard_NV6ads_A10_v5": 1 / 6, "Standard_NV12ads_A10_v5": 1 / 3, "Standard_NV18ads_A10_v5": 0.5,
               "Standard_NV36ads_A10_v5": 1, "Standard_NV36adms_A10_v5": 1, "Standard_NV72ads_A10_v5": 2}),
}

# (most CPU cores, most memory GB, SKU), in the migration table's order: the first row whose
# limits hold is the suggestion. Microsoft's rows are ranges ("(1, 2]" means > 1 and <= 2); wherever a
# request falls inside one, the first row whose upper bounds hold is that row (checked over a 0.1 grid
# of 0.1-4.4 cores x 0.1-16.9 GB: no difference). A request the table leaves out (below a row's lower
# bound) fits that row's SKU too, so "first row that fits" gives it the smallest SKU of the table that
# holds it: mldeploy's rule, not Microsoft's (tests/targets/online_endpoint/test_plan.py).
V1_SIZE_TO_SKU: tuple[tuple[float, float, str], ...] = (
    (1, 1.2, "Standard_DS1_v2"),
    (2, 1.7, "Standard_F2s_v2"),
    (2, 4.7, "Standard_DS2_v2"),
    (2, 13.7, "Standard_E2s_v3"),
    (4, 5.7, "Standard_F4s_v2"),
    (4, 11.7, "Standard_DS3_v2"),
    (4, 16, "Standard_E4s_v3"),
)
# ManagedOnlineDeployment.instanceType's default (API spec mfe.json 2025-12-01:
# "Compute instance type. Default: Standard_F4s_v2").
DEFAULT_SKU = "Standard_F4s_v2"
# "Azure Machine Learning reserves 20% of your compute resources for performing upgrades"
# (the SKU list above; how-to-manage-quotas.md "Virtual machine quota allocation for deployment").
UPGRADE_RESERVE_PERCENT = 20


def find_sku(name: str) -> ManagedSku | None:
    """The listed SKU (names compare case-insensitively, as Azure does), else None."""
    return SKU_FAMILIES.get(name.strip().lower())


def sku_for_v1_size(cpu_cores: float, memory_gb: float) -> str | None:
    """Microsoft's suggested SKU for a v1 (ACI) cpu/memory request; None beyond the table."""
    for max_cpu, max_memory, sku in V1_SIZE_TO_SKU:
        if cpu_cores <= max_cpu and memory_gb <= max_memory:
            return sku
    return None


def reserved_instances(instances: int, sku: ManagedSku) -> int:
    """Instances' worth of quota a deployment holds: ceil(1.2 x instances), unless exempt."""
    if sku.skips_reservation:
        return instances
    # Integer arithmetic: ceil(1.2 * n) without float rounding surprises.
    return -(-instances * (100 + UPGRADE_RESERVE_PERCENT) // 100)
