"""Target `fpga`: the AKS service, on a PB-series node pool of its cluster.

Reuses the AKS target whole (cluster, plan, gateway, keys, Deployment, Service, HPA); adds the
region check, the FPGA node pool and the scheduling onto it.
"""
from __future__ import annotations

import pulumi

from components.fpga import FpgaNodePool, fpga_transformation
from mldeploy.config.fpga import FpgaServiceSettings
from mldeploy.plan.fpga_regions import check_service_region
from mldeploy.program import Foundation, ServiceOutputs, register_target


@register_target("fpga")
def deploy_fpga(name: str, service: FpgaServiceSettings, f: Foundation) -> ServiceOutputs:
    from mldeploy.program import aks as aks_target  # the AKS target, reused whole

    # Also wanted at parse time (exit 2 before anything runs): see check_service_region.
    check_service_region(name, service, f.settings.location)
    cluster_settings = f.settings.clusters[service.cluster]
    cluster = aks_target.cluster_for(service.cluster, f)  # memoized: one cluster, many services
    group = cluster_settings.attach.resource_group if cluster_settings.attach else f.resource_group_name
    pool = FpgaNodePool(f"fpga-{name}", settings=service, cluster_name=cluster.cluster_name,
                        resource_group_name=group, tags=f.tags(),
                        opts=pulumi.ResourceOptions(depends_on=[cluster]))
    namespace = service.namespace or name
    pulumi.runtime.register_stack_transformation(
        fpga_transformation(name, namespace, service.fpga_pool_name, pool))
    outputs = aks_target.deploy_aks(name, service, f)
    outputs.extra = {**outputs.extra, "fpgaPool": pool.pool_name, "fpgaVmSize": service.fpga_vm_size}
    return outputs
