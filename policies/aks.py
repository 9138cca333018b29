"""The AKS (and FPGA) target's rule: a cluster has the vCPUs AKS scoring needs (the guide: at
least 12). Registered in the target table (targets/aks, targets/fpga)."""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Mapping

from pulumi_policy import Policy, StackValidationPolicy

from mldeploy.plan.vm_sizes import known_vcpus
from mldeploy.policies import config
from mldeploy.policies.reading import AGENT_POOL, CLUSTER

Report = Callable[..., None]

SETTINGS = {
    "aks-minimum-vcpus": {
        "minimumVcpus": {"type": "integer", "minimum": 1, "default": 12,
                         "description": "Least vCPUs a cluster must have (node count x vCPUs of its size)."},
        "vmSizeVcpus": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1},
                        "default": {}, "description": "vCPUs of VM sizes mldeploy's table does not list."},
    },
}


# -- AKS clusters have enough vCPUs ----------------------------------------------------------

def _pool_nodes(pool: Mapping[str, Any]) -> tuple[int | None, str]:
    """Nodes a pool always has: minCount when it autoscales, else count (Azure's default: 1)."""
    if pool.get("enableAutoScaling"):
        n = pool.get("minCount")
        return (int(n) if n is not None else None), "minCount"
    n = pool.get("count")
    return (int(n) if n is not None else 1), "count"


def aks_minimum_vcpus(args, report: Report) -> None:
    cfg = config.settings("aks-minimum-vcpus", args.get_config())
    extra = {k.lower(): int(v) for k, v in (cfg["vmSizeVcpus"] or {}).items()}
    minimum = int(cfg["minimumVcpus"])
    clusters = [r for r in args.resources if r.resource_type == CLUSTER]
    pools: dict[str, list[tuple[str, Mapping[str, Any]]]] = defaultdict(list)
    for c in clusters:
        for i, p in enumerate(c.props.get("agentPoolProfiles") or []):
            pools[c.urn].append((f"agentPoolProfiles[{i}] ({p.get('name', '?')})", p))
    for r in args.resources:
        if r.resource_type == AGENT_POOL:
            owner = _owning_cluster(r, clusters)
            if owner is not None:
                pools[owner.urn].append((f"agent pool {r.name}", r.props))
    for c in clusters:
        total, parts, problems = 0, [], []
        for where, pool in pools[c.urn]:
            nodes, field = _pool_nodes(pool)
            size = pool.get("vmSize")
            per_node = extra.get(str(size).lower()) or (known_vcpus(str(size)) if size else None)
            if nodes is None:
                problems.append(f"{where} autoscales without minCount, so its smallest size is unknown")
            elif not size:
                problems.append(f"{where} has no vmSize, so its vCPUs are unknown")
            elif per_node is None:
                problems.append(f"{where}: unknown VM size {size!r}; list its vCPUs in the policy's "
                                "vmSizeVcpus setting")
            else:
                total += nodes * per_node
                parts.append(f"{nodes} ({field}) × {size} ({per_node} vCPU)")
        for problem in problems:
            report(f"cluster {c.name}: {problem}", c.urn)
        if problems:
            continue
        if not parts:
            report(f"cluster {c.name} declares no node pools; AKS scoring needs at least {minimum} vCPUs", c.urn)
        elif total < minimum:
            report(f"cluster {c.name}: {' + '.join(parts)} = {total} vCPUs < {minimum}: AKS scoring needs at "
                   f"least {minimum} vCPUs (the guide); raise agentCount or choose a larger vmSize", c.urn)


def _owning_cluster(pool, clusters):
    name = pool.props.get("resourceName")
    for c in clusters:
        if name and name in (c.props.get("resourceName"), c.name):
            return c
    parent = getattr(pool, "parent", None)
    parent_urn = getattr(parent, "urn", None)
    siblings = [c for c in clusters if parent_urn and getattr(getattr(c, "parent", None), "urn", None) == parent_urn]
    return siblings[0] if len(siblings) == 1 else (clusters[0] if len(clusters) == 1 else None)



POLICIES: list[Policy] = [
    StackValidationPolicy(
        name="aks-minimum-vcpus", validate=aks_minimum_vcpus,
        description="AKS clusters have at least 12 vCPUs (node count × vCPUs of the VM size)."),
]
