"""FPGA (Project Brainwave): a PB-series node pool on an AKS cluster and the service on it."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from mldeploy.config.aks import AksServiceSettings


class FpgaServiceSettings(AksServiceSettings):
    """An AKS service scheduled onto an FPGA node pool of the named cluster."""

    target: Literal["fpga"]  # type: ignore[assignment]
    fpga_vm_size: str = "Standard_PB6s"
    fpga_node_count: int = Field(1, ge=1, le=100)
