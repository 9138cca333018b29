"""Where Azure offers the PB-series (FPGA) VM sizes: the one list, overridable per service.

Source: the regions the Azure ML (SDK v1) "deploy to FPGA" guide listed for Project Brainwave.
Current Azure ML (v2) documentation no longer offers FPGA deployment (see docs/targets.md), so treat the
list as historical: override it with `fpgaRegions` after `az vm list-skus --size Standard_PB`.
"""
from __future__ import annotations

from mldeploy.config.errors import ConfigError
from mldeploy.plan.versions import region_problem

PB_SIZES = ("Standard_PB6s", "Standard_PB12s", "Standard_PB24s")
FPGA_REGIONS: dict[str, tuple[str, ...]] = {
    size: ("eastus", "southeastasia", "westeurope", "westus2") for size in PB_SIZES
}


def _norm(region: str) -> str:
    return region.replace(" ", "").lower()


def check_region(vm_size: str, location: str, key: str, override: list[str] | None = None) -> None:
    """Raise ConfigError unless `vm_size` is offered in `location` (by the override, if given)."""
    regions = tuple(override) if override else FPGA_REGIONS.get(vm_size)
    if regions is None:
        raise ConfigError(key, f"{vm_size!r} is not a PB-series FPGA size; known: {', '.join(PB_SIZES)}")
    if _norm(location) not in {_norm(r) for r in regions}:
        raise ConfigError(key, f"{vm_size} is not offered in {location}; regions: {', '.join(regions)} "
                               "(set fpgaRegions to override the list)")


def check_service_region(name: str, service, stack) -> None:
    """The region check for one FPGA service, with its key path (run by this target's `check`)."""
    key = f"mldeploy:services.{name}"
    where = f"{key}.fpgaRegions" if service.fpga_regions else f"{key}.fpgaVmSize"
    location = stack.location
    for region in service.fpga_regions or ():
        # a misspelt entry would silently offer the size nowhere; a region newer than the table is
        # the stack's extraRegions'
        problem = region_problem(region, stack.cloud, tuple(stack.extra_regions))
        if problem is not None:
            raise ConfigError(where, problem)
    check_region(service.fpga_vm_size, location, where, service.fpga_regions)
