"""vCPUs per node for the Azure VM sizes AKS clusters commonly use.

An explicit table, not a parser of size names: a size that is not listed is an error that asks
for `vcpusPerNode`, because a guessed vCPU count would make the guide's >= 12 vCPU rule a guess.
"""
from __future__ import annotations

from mldeploy.config.errors import ConfigError


def _series(template: str, sizes: list[int]) -> dict[str, int]:
    return {template.format(n=n): n for n in sizes}


_V2 = {
    # Dv2 / DSv2 (the guide's default, Standard_D3_v2, is 4 vCPUs) and their memory-optimized twins.
    "Standard_D1_v2": 1, "Standard_D2_v2": 2, "Standard_D3_v2": 4, "Standard_D4_v2": 8, "Standard_D5_v2": 16,
    "Standard_DS1_v2": 1, "Standard_DS2_v2": 2, "Standard_DS3_v2": 4, "Standard_DS4_v2": 8, "Standard_DS5_v2": 16,
    "Standard_D11_v2": 2, "Standard_D12_v2": 4, "Standard_D13_v2": 8, "Standard_D14_v2": 16,
    "Standard_DS11_v2": 2, "Standard_DS12_v2": 4, "Standard_DS13_v2": 8, "Standard_DS14_v2": 16,
}
_B = {"Standard_B2s": 2, "Standard_B2ms": 2, "Standard_B4ms": 4, "Standard_B8ms": 8,
      "Standard_B12ms": 12, "Standard_B16ms": 16, "Standard_B20ms": 20}
_GPU_FPGA = {
    "Standard_NC6s_v3": 6, "Standard_NC12s_v3": 12, "Standard_NC24s_v3": 24,
    "Standard_NC4as_T4_v3": 4, "Standard_NC8as_T4_v3": 8, "Standard_NC16as_T4_v3": 16, "Standard_NC64as_T4_v3": 64,
    "Standard_PB6s": 6, "Standard_PB12s": 12, "Standard_PB24s": 24,
}

_D_SIZES = [2, 4, 8, 16, 32, 48, 64]
_E_SIZES = [2, 4, 8, 16, 20, 32, 48, 64]
_F_SIZES = [2, 4, 8, 16, 32, 48, 64, 72]

VCPUS: dict[str, int] = {
    **_V2, **_B, **_GPU_FPGA,
    **{k: v for suffix in ("_v3", "s_v3") for k, v in _series("Standard_D{n}" + suffix, _D_SIZES).items()},
    **{k: v for suffix in ("_v4", "s_v4", "ds_v4", "d_v4", "as_v4")
       for k, v in _series("Standard_D{n}" + suffix, _D_SIZES).items()},
    **{k: v for suffix in ("_v5", "s_v5", "ds_v5", "d_v5", "as_v5", "ads_v5", "lds_v5")
       for k, v in _series("Standard_D{n}" + suffix, _D_SIZES).items()},
    **{k: v for suffix in ("s_v6", "ds_v6", "as_v6", "ads_v6")
       for k, v in _series("Standard_D{n}" + suffix, _D_SIZES).items()},
    **{k: v for suffix in ("_v3", "s_v3", "s_v4", "ds_v4", "s_v5", "ds_v5", "as_v5", "ads_v5")
       for k, v in _series("Standard_E{n}" + suffix, _E_SIZES).items()},
    **_series("Standard_F{n}s_v2", _F_SIZES),
}
_BY_LOWER = {name.lower(): (name, n) for name, n in VCPUS.items()}

# Memory (GiB) per node, only for the sizes whose page was read: MicrosoftDocs/azure-compute-docs,
# articles/virtual-machines/sizes/, the "Basics" tab ("Memory (GB)"/"(GiB)": the same figures) of
# general-purpose/{dv2,dsv2,dv3,dsv3,dv4,dsv4,ddv4,ddsv4,dasv4,dv5,dsv5,ddv5,ddsv5,dasv5,dadsv5,
# dldsv5,dsv6,ddsv6,dasv6,dadsv6,bv1}-series.md, compute-optimized/fsv2-series.md,
# gpu-accelerated/{ncv3,ncast4v3}-series.md, memory-optimized/{dv2-dsv2-series-memory,ev3-esv3,
# esv4,edsv4,esv5,edsv5,easv5,eadsv5}-series.md ("Memory: GiB" there), read 2026-12-05; re-check
# when adding a size. Not read for the FPGA sizes (PB): no memory check for them. This is the
# VM's capacity; a node's allocatable memory is less (AKS reserves memory for the kubelet and an
# eviction threshold, depending on max pods and the node image version), so a pod under this
# figure may still not fit - the check refuses only what can never fit. A listed size missing
# here gets no memory check (never a guessed figure).
def _per_vcpu(template: str, sizes: list[int], gib_per_vcpu: float) -> dict[str, float]:
    return {template.format(n=n): n * gib_per_vcpu for n in sizes}


MEMORY_GIB: dict[str, float] = {
    "Standard_D1_v2": 3.5, "Standard_D2_v2": 7, "Standard_D3_v2": 14, "Standard_D4_v2": 28, "Standard_D5_v2": 56,
    "Standard_DS1_v2": 3.5, "Standard_DS2_v2": 7, "Standard_DS3_v2": 14, "Standard_DS4_v2": 28, "Standard_DS5_v2": 56,
    "Standard_D11_v2": 14, "Standard_D12_v2": 28, "Standard_D13_v2": 56, "Standard_D14_v2": 112,
    "Standard_DS11_v2": 14, "Standard_DS12_v2": 28, "Standard_DS13_v2": 56, "Standard_DS14_v2": 112,
    "Standard_B2s": 4, "Standard_B2ms": 8, "Standard_B4ms": 16, "Standard_B8ms": 32,
    "Standard_B12ms": 48, "Standard_B16ms": 64, "Standard_B20ms": 80,
    "Standard_NC6s_v3": 112, "Standard_NC12s_v3": 224, "Standard_NC24s_v3": 448,
    "Standard_NC4as_T4_v3": 28, "Standard_NC8as_T4_v3": 56, "Standard_NC16as_T4_v3": 110,
    "Standard_NC64as_T4_v3": 440,
    **{k: v for suffix in ("_v3", "s_v3", "_v4", "s_v4", "d_v4", "ds_v4", "as_v4", "_v5", "s_v5", "d_v5", "ds_v5",
                           "as_v5", "ads_v5", "s_v6", "ds_v6", "as_v6", "ads_v6")
       for k, v in _per_vcpu("Standard_D{n}" + suffix, _D_SIZES, 4).items()},
    **_per_vcpu("Standard_D{n}lds_v5", _D_SIZES, 2),
    # 8 GiB per vCPU, but at 64 vCPUs Ev3/Esv3 have 432 GiB and Esv4/Edsv4 504 (the v5s: 512).
    **{k: v for suffix in ("_v3", "s_v3")
       for k, v in _per_vcpu("Standard_E{n}" + suffix, _E_SIZES[:-1], 8).items()},
    "Standard_E64_v3": 432, "Standard_E64s_v3": 432,
    **{k: v for suffix in ("s_v4", "ds_v4")
       for k, v in _per_vcpu("Standard_E{n}" + suffix, _E_SIZES[:-1], 8).items()},
    "Standard_E64s_v4": 504, "Standard_E64ds_v4": 504,
    **{k: v for suffix in ("s_v5", "ds_v5", "as_v5", "ads_v5")
       for k, v in _per_vcpu("Standard_E{n}" + suffix, _E_SIZES, 8).items()},
    **_per_vcpu("Standard_F{n}s_v2", _F_SIZES, 2),
}
_MEMORY_BY_LOWER = {name.lower(): gib for name, gib in MEMORY_GIB.items()}


def known_vcpus(vm_size: str) -> int | None:
    """vCPUs of a listed size (names compare case-insensitively, as Azure does), else None."""
    found = _BY_LOWER.get(vm_size.strip().lower())
    return found[1] if found else None


def known_memory_gib(vm_size: str) -> float | None:
    """Memory (GiB) of a size whose page was read (MEMORY_GIB), else None."""
    return _MEMORY_BY_LOWER.get(vm_size.strip().lower())


def vcpus_per_node(vm_size: str, override: int | None, key: str) -> int:
    """vCPUs of one node: the table for a listed size (an over-claim cannot pass), else
    `vcpusPerNode`; never a guess."""
    found = known_vcpus(vm_size)
    if found is None and override is not None:
        return override
    if found is None:
        raise ConfigError(
            key,
            f"unknown VM size {vm_size!r}: mldeploy does not guess its vCPUs; set vcpusPerNode "
            f"(the size's vCPU count) or use a listed size such as Standard_D4s_v5",
        )
    return found
