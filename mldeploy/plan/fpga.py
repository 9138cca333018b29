"""An FPGA service's plan types: the node pool to declare (components/fpga.py takes it) and where
the service's pods run. Decided by the fpga target (mldeploy/targets/fpga/plan.py); the service
itself is planned as an AKS one."""
from __future__ import annotations

from dataclasses import dataclass

from mldeploy.plan.workload import Placement


@dataclass(frozen=True)
class NodePoolPlan:
    """A user node pool of the service's cluster: its size, the labels and taints of its nodes."""

    name: str
    vm_size: str
    node_count: int
    node_labels: tuple[tuple[str, str], ...]
    node_taints: tuple[str, ...]  # `key=value:effect`, as AKS takes them


@dataclass(frozen=True)
class FpgaPlan:
    """The FPGA pool to declare, and the placement of the service's pods onto it."""

    pool: NodePoolPlan
    placement: Placement
