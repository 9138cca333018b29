"""`target: fpga`'s settings: an AKS service on a Project Brainwave-style FPGA (PB-series) node pool."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from mldeploy.config.base import listed_twice
from mldeploy.targets.aks.settings import AksServiceSettings


class FpgaServiceSettings(AksServiceSettings):
    """An AKS service scheduled onto an FPGA node pool of the named cluster."""

    target: Literal["fpga"] = Field(description="`fpga`: an AKS service on a PB-series node pool")  # type: ignore[assignment]
    fpga_vm_size: str = Field("Standard_PB6s", pattern=r"^Standard_PB\d+s$", description="PB-series (FPGA) VM size of the node pool")
    fpga_node_count: int = Field(1, ge=1, le=100, description="nodes in the FPGA pool")
    fpga_pool_name: str = Field("fpga", pattern=r"^[a-z][a-z0-9]{0,11}$", description="name of the FPGA node pool")
    fpga_regions: list[str] | None = Field(None, min_length=1, description="override of the built-in region list")

    @field_validator("expected_load")
    @classmethod
    def _no_expected_load(cls, value):
        if value is not None:
            raise ValueError("expectedLoad applies to target aks only: synth's replica suggestion is for services on "
                             "general-purpose nodes, not an FPGA pool")
        return value

    def autoscale_load(self) -> None:
        """None: synth's replica suggestion is for AKS services on general-purpose nodes only."""
        return None

    @field_validator("fpga_regions")
    @classmethod
    def _regions(cls, value: list[str] | None) -> list[str] | None:
        for region in value or []:
            # The same shape as azure-native:location (config/load.py): westeurope, "West Europe".
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9 ]{1,39}", region):
                raise ValueError(f"{region!r} is not an Azure region name such as eastus or westeurope")
        twice = listed_twice(value or [], lambda r: r.replace(" ", "").lower())
        if twice is not None:
            # Regions are compared as ARM reads them (case and spaces ignored): "East US" is eastus.
            raise ValueError(f"{twice!r} is listed twice (regions are read without case and spaces)")
        return value
