"""Target `fpga`: the AKS service, on a PB-series node pool of its cluster.

Reuses the AKS target whole (cluster, plan, gateway, keys, Deployment, Service, HPA); adds the
FPGA node pool and the pods' placement onto it (mldeploy/targets/fpga/plan.py); the region is
checked at load (this package's `check`).
"""
from __future__ import annotations

import pulumi

from mldeploy.components.fpga import FpgaNodePool
from mldeploy.targets.aks import program as aks_target  # the AKS target, reused whole
from mldeploy.targets.foundation import Foundation, ServiceOutputs
from mldeploy.targets.fpga.plan import plan_fpga
from mldeploy.targets.fpga.settings import FpgaServiceSettings


def deploy_fpga(name: str, service: FpgaServiceSettings, f: Foundation) -> ServiceOutputs:
    plan = plan_fpga(service)
    cluster_settings = f.settings.clusters[service.cluster]
    cluster = aks_target.cluster_for(service.cluster, f)  # memoized: one cluster, many services
    group = cluster_settings.attach.resource_group if cluster_settings.attach else f.resource_group_name
    pool = FpgaNodePool(f"fpga-{name}", plan=plan.pool, cluster_name=cluster.cluster_name,
                        resource_group_name=group, tags=f.tags(),
                        opts=pulumi.ResourceOptions(depends_on=[cluster]))
    # Pods wait for the pool to exist rather than pending against a missing node.
    outputs = aks_target.deploy_aks(name, service, f, placement=plan.placement, pods_wait_for=[pool])
    outputs.extra = {**outputs.extra, "fpgaPool": pool.pool_name, "fpgaVmSize": plan.pool.vm_size}
    return outputs
