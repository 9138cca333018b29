"""FpgaNodePool (guide: "deploy to FPGA"): a PB-series user node pool on an AKS cluster,
labelled and tainted so that only FPGA services land on it.

The service itself is the AKS service (components/aks_service.py), its pods placed on this
pool by their plan (mldeploy/targets/fpga/plan.py): nothing here rewrites another component's objects.
"""
from __future__ import annotations

import pulumi
from pulumi_azure_native import containerservice as cs

from mldeploy.components.children import child_name, child_opts
from mldeploy.plan.fpga import NodePoolPlan


class FpgaNodePool(pulumi.ComponentResource):
    """The PB-series user node pool, labelled and tainted for FPGA workloads only."""

    pool_name: pulumi.Output[str]

    def __init__(self, name: str, *, plan: NodePoolPlan, cluster_name: pulumi.Input[str],
                 resource_group_name: pulumi.Input[str], tags: dict[str, str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("mldeploy:fpga:FpgaNodePool", name, None, opts)
        pool = cs.AgentPool(
            child_name(name, "pool"),
            agent_pool_name=plan.name,
            resource_name_=cluster_name,
            resource_group_name=resource_group_name,
            mode=cs.AgentPoolMode.USER,
            vm_size=plan.vm_size,
            count=plan.node_count,
            os_type=cs.OSType.LINUX,
            type=cs.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
            node_labels=dict(plan.node_labels),
            node_taints=list(plan.node_taints),
            tags=tags,
            opts=child_opts(self, "pool"),
        )
        self.pool_name = pool.name
        self.register_outputs({"poolName": self.pool_name})
