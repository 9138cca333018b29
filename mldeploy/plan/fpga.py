"""Decide an FPGA service's node pool and where its pods run: a PB-series user pool labelled and
tainted so that only FPGA services land on it, and the placement (node selector + toleration)
that steers the service's pods there. The service itself is planned as an AKS one (plan/aks.py)."""
from __future__ import annotations

from dataclasses import dataclass

from mldeploy.config.fpga import FpgaServiceSettings
from mldeploy.plan.workload import Placement, Toleration

FPGA_LABEL = "mldeploy.io/accelerator"
FPGA_TAINT_VALUE = "fpga"
# AKS labels every node with the name of its pool (learn.microsoft.com/azure/aks/use-labels,
# "Reserved system labels": kubernetes.azure.com/agentpool).
AGENT_POOL_LABEL = "kubernetes.azure.com/agentpool"


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


def plan_fpga(s: FpgaServiceSettings) -> FpgaPlan:
    """The pool is tainted (NoSchedule) so nothing else lands on it; the service's pods tolerate
    the taint and select both the label and the pool, so they land nowhere else."""
    taint = Toleration(key=FPGA_LABEL, value=FPGA_TAINT_VALUE, effect="NoSchedule")
    pool = NodePoolPlan(
        name=s.fpga_pool_name, vm_size=s.fpga_vm_size, node_count=s.fpga_node_count,
        node_labels=((FPGA_LABEL, FPGA_TAINT_VALUE),),
        node_taints=(f"{taint.key}={taint.value}:{taint.effect}",),
    )
    placement = Placement(node_selector=((FPGA_LABEL, FPGA_TAINT_VALUE), (AGENT_POOL_LABEL, s.fpga_pool_name)),
                          tolerations=(taint,))
    return FpgaPlan(pool=pool, placement=placement)
