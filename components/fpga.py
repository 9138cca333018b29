"""FpgaService (guide: "deploy to FPGA"): a PB-series node pool on an AKS cluster, labelled and
tainted so that only the FPGA service lands on it, and the service's pods steered there.

The service itself is the AKS service (components/aks_service.py), unchanged: this component
adds the pool and a transformation that gives the service's Deployments the pool's node
selector and toleration.
"""
from __future__ import annotations

import copy
from typing import Any

import pulumi
from pulumi_azure_native import containerservice as cs

from components.children import child_name, child_opts
from mldeploy.config.fpga import FPGA_LABEL, FPGA_TAINT_VALUE, FpgaServiceSettings

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def fpga_taint() -> str:
    return f"{FPGA_LABEL}={FPGA_TAINT_VALUE}:NoSchedule"


def schedule_on_fpga(pod_spec: dict[str, Any], pool: str) -> dict[str, Any]:
    """A pod spec with the FPGA pool's node selector and the toleration of its taint."""
    spec = copy.copy(pod_spec)
    spec["nodeSelector"] = {**(spec.get("nodeSelector") or {}), FPGA_LABEL: FPGA_TAINT_VALUE,
                            "kubernetes.azure.com/agentpool": pool}
    spec["tolerations"] = [*(spec.get("tolerations") or []), {
        "key": FPGA_LABEL, "operator": "Equal", "value": FPGA_TAINT_VALUE, "effect": "NoSchedule"}]
    return spec


class FpgaNodePool(pulumi.ComponentResource):
    """The PB-series user node pool, labelled and tainted for FPGA workloads only."""

    pool_name: pulumi.Output[str]

    def __init__(self, name: str, *, settings: FpgaServiceSettings, cluster_name: pulumi.Input[str],
                 resource_group_name: pulumi.Input[str], tags: dict[str, str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("mldeploy:fpga:FpgaNodePool", name, None, opts)
        pool = cs.AgentPool(
            child_name(name, "pool"),
            agent_pool_name=settings.fpga_pool_name,
            resource_name_=cluster_name,
            resource_group_name=resource_group_name,
            mode=cs.AgentPoolMode.USER,
            vm_size=settings.fpga_vm_size,
            count=settings.fpga_node_count,
            os_type=cs.OSType.LINUX,
            type=cs.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
            node_labels={FPGA_LABEL: FPGA_TAINT_VALUE},
            node_taints=[fpga_taint()],
            tags=tags,
            opts=child_opts(self, "pool"),
        )
        self.pool = pool
        self.pool_name = pool.name
        self.register_outputs({"poolName": self.pool_name})


def fpga_transformation(service: str, namespace: str, pool: str, wait_for: pulumi.Resource):
    """A stack transformation steering this service's Deployments onto the FPGA pool."""

    def transform(args: pulumi.ResourceTransformationArgs):
        if args.type_ != DEPLOYMENT:
            return None
        meta = args.props.get("metadata") or {}
        if not isinstance(meta, dict) or meta.get("namespace") != namespace:
            return None
        if not str(args.name).startswith(f"{service}-"):
            return None
        props = dict(args.props)
        spec = copy.copy(props["spec"])
        template = copy.copy(spec["template"])
        template["spec"] = schedule_on_fpga(template["spec"], pool)
        spec["template"] = template
        props["spec"] = spec
        # Pods wait for the pool to exist rather than pending against a missing node.
        opts = pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(depends_on=[wait_for]))
        return pulumi.ResourceTransformationResult(props, opts)

    return transform
