"""Decide an FPGA service's node pool and where its pods run: a PB-series user pool labelled and
tainted so that only FPGA services land on it, and the placement (node selector + toleration)
that steers the service's pods there. The service itself is planned as an AKS one; its load-time
checks are the AKS service's plus the region and the pool's name."""
from __future__ import annotations

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError
from mldeploy.plan.cluster import SYSTEM_POOL
from mldeploy.plan.fpga import FpgaPlan, NodePoolPlan
from mldeploy.plan.workload import Placement, Toleration
from mldeploy.targets.aks.checks import check_exposure, check_namespace, check_service
from mldeploy.targets.fpga.regions import check_service_region
from mldeploy.targets.fpga.settings import FpgaServiceSettings

FPGA_LABEL = "mldeploy.io/accelerator"
FPGA_TAINT_VALUE = "fpga"
# AKS labels every node with the name of its pool (learn.microsoft.com/azure/aks/use-labels,
# "Reserved system labels": kubernetes.azure.com/agentpool).
AGENT_POOL_LABEL = "kubernetes.azure.com/agentpool"


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


def check(name: str, service: FpgaServiceSettings, stack) -> None:
    """The fpga row's load-time checks (run once per service by mldeploy/targets/stack.py)."""
    check_namespace(name, service, stack)
    check_exposure(name, service)  # as AKS: a canary at 100 % is a promotion, a hostName on ClusterIP reaches nothing
    check_pool_name(name, service, stack)
    check_service_region(name, service, stack)
    check_service(name, service, stack.production)  # TLS that can be issued, replicas
    # Not the AKS row's node-size rule: an FPGA service's pods run on its own PB-series pool.


def check_pool_name(name: str, service: FpgaServiceSettings, stack) -> None:
    """The pool is the service's own: not the created cluster's system pool, nor another FPGA
    service's pool on the same cluster (the later service by name is the one refused)."""
    key = f"{PROJECT}:services.{name}.fpgaPoolName"
    if service.fpga_pool_name == SYSTEM_POOL:
        raise ConfigError(key, f"{SYSTEM_POOL!r} is the cluster's system node pool; "
                               "name the FPGA pool otherwise (default: fpga)")
    for other, entry in sorted(stack.services.items()):
        if other == name:
            return
        if isinstance(entry, FpgaServiceSettings) and (entry.cluster, entry.fpga_pool_name) == \
                (service.cluster, service.fpga_pool_name):
            raise ConfigError(key, f"node pool {service.fpga_pool_name!r} is also service "
                                   f"{other!r}'s on cluster {service.cluster!r}")
