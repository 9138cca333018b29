"""Pure checks on an AKS cluster's size and version (the guide: agent_count x vCPUs >= 12).

Run on the config for a created cluster (before anything is declared) and on the looked-up
values for an attached one. Every failure is a ConfigError that shows the arithmetic.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping

from mldeploy import PROJECT
from mldeploy.config.cluster import ClusterSettings
from mldeploy.config.errors import ConfigError
from mldeploy.plan.versions import cluster_creation_problem
from mldeploy.plan.vm_sizes import known_memory_gib, known_vcpus, vcpus_per_node

MIN_CLUSTER_VCPUS = 12

# The CPU AKS reserves on every node for Kubernetes' own daemons (kube-reserved), by the host's
# cores: learn.microsoft.com/azure/aks/node-resource-reservations, "CPU reservations" (read
# 2026-12-05). A node's allocatable CPU - what pods can request - is its vCPUs less this; AKS says
# extra features may reserve more, so this is the most a pod can ever get, never a guess above it.
KUBE_RESERVED_CPU_MILLI = {1: 60, 2: 100, 4: 140, 8: 180, 16: 260, 32: 420, 64: 740}


def kube_reserved_cpu_milli(vcpus: int) -> int:
    """AKS's kube-reserved CPU (millicores) on a node of `vcpus` cores; between the table's core
    counts, the smaller count's (the least AKS could reserve: a pod is never refused wrongly)."""
    return KUBE_RESERVED_CPU_MILLI[max(n for n in KUBE_RESERVED_CPU_MILLI if n <= max(vcpus, 1))]


def allocatable_cpu_milli(vcpus: int) -> int:
    """The CPU (millicores) pods can request on one AKS node of `vcpus` cores."""
    return vcpus * 1000 - kube_reserved_cpu_milli(vcpus)


def node_cpu_words(vm_size: str, vcpus: int) -> str:
    """'a Standard_D3_v2 node gives pods (4 vCPUs less AKS's kube-reserved 140m = 3.86 CPUs)'."""
    return (f"a {vm_size} node gives pods ({vcpus} vCPUs less AKS's kube-reserved "
            f"{kube_reserved_cpu_milli(vcpus)}m = {allocatable_cpu_milli(vcpus) / 1000:g} CPUs)")


@dataclass(frozen=True)
class NodePool:
    """What the check needs of one node pool: its VM size and node count."""

    name: str
    vm_size: str
    count: int


def pool_vcpus(pool: NodePool, override: int | None, key: str) -> tuple[int, str]:
    """A pool's vCPUs and the arithmetic as text: `3 × Standard_D2s_v3 (2 vCPU) = 6`."""
    per_node = vcpus_per_node(pool.vm_size, override, key)
    total = pool.count * per_node
    return total, f"{pool.count} × {pool.vm_size} ({per_node} vCPU) = {total}"


def check_capacity(pools: list[NodePool], override: int | None, key: str, *, what: str = "cluster") -> int:
    """Total vCPUs of the pools, or a ConfigError when below the guide's minimum of 12."""
    if not pools:
        raise ConfigError(key, f"the {what} has no node pools; AKS scoring needs at least "
                               f"{MIN_CLUSTER_VCPUS} vCPUs")
    parts = [pool_vcpus(p, override, key) for p in pools]
    total = sum(t for t, _ in parts)
    if total < MIN_CLUSTER_VCPUS:
        arithmetic = " + ".join(text for _, text in parts)
        if len(parts) > 1:
            arithmetic = f"{arithmetic} → {total}"
        raise ConfigError(
            key,
            f"{arithmetic} < {MIN_CLUSTER_VCPUS}: the {what} needs at least {MIN_CLUSTER_VCPUS} vCPUs "
            "for AKS scoring (the guide's rule agentCount × vCPUs(vmSize) ≥ 12); raise agentCount "
            "or choose a larger vmSize",
        )
    return total


_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int]:
    """`1.30`, `1.30.4`, `v1.31.2` -> (1, 30, 4); ValueError otherwise."""
    match = _VERSION.match(text.strip()) if text else None
    if not match:
        raise ValueError(f"not a Kubernetes version: {text!r}")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def check_version(actual: str | None, minimum: str, key: str, *, what: str = "cluster") -> None:
    """A ConfigError when the cluster runs a Kubernetes version older than `minimum`."""
    if not actual:
        raise ConfigError(key, f"the {what} reports no Kubernetes version; cannot check it against "
                               f"minKubernetesVersion {minimum}")
    if parse_version(actual)[:2] < parse_version(minimum)[:2]:
        raise ConfigError(key, f"the {what} runs Kubernetes {actual}, older than the minimum {minimum} "
                               "(minKubernetesVersion): upgrade the cluster or lower the minimum")


def check_cluster(name: str, cluster: ClusterSettings, today: date) -> None:
    """A cluster the stack creates, checked before anything is declared: AKS still creates its
    Kubernetes version, a listed VM size keeps its table vCPUs, the nodes reach 12 vCPUs, and the
    version is not below minKubernetesVersion. An attached one is checked on its looked-up values."""
    if cluster.attach is not None:
        return
    key = f"{PROJECT}:clusters.{name}"
    problem = cluster.kubernetes_version and cluster_creation_problem(
        cluster.kubernetes_version, cluster.long_term_support, today)
    if problem:
        # The message as config's messages read, lowercase first ("kubernetes 1.29 left AKS ...").
        raise ConfigError(f"{key}.kubernetesVersion", problem[:1].lower() + problem[1:])
    listed = known_vcpus(cluster.vm_size)
    if cluster.vcpus_per_node is not None and listed is not None:
        raise ConfigError(key, f"vcpusPerNode applies only to a VM size missing from mldeploy's table; "
                               f"{cluster.vm_size} is listed with {listed} vCPUs: remove vcpusPerNode")
    check_capacity([NodePool("agentpool", cluster.vm_size, cluster.agent_count)], cluster.vcpus_per_node, key)
    if cluster.kubernetes_version and (
        parse_version(cluster.kubernetes_version)[:2] < parse_version(cluster.min_kubernetes_version)[:2]
    ):
        raise ConfigError(key, f"kubernetesVersion {cluster.kubernetes_version} is older than "
                               f"minKubernetesVersion {cluster.min_kubernetes_version}")


def node_vcpus(cluster: ClusterSettings | None) -> int | None:
    """The vCPUs of one node of a cluster the stack creates with a known VM size; None for an
    attached cluster (its nodes are only known at deploy) or a size missing from the table."""
    if cluster is None or cluster.attach is not None:
        return None
    return cluster.vcpus_per_node or known_vcpus(cluster.vm_size)


def node_memory_gib(cluster: ClusterSettings | None) -> float | None:
    """The memory (GiB, the VM's capacity) of one node of a cluster the stack creates, when its
    size's memory is in the table (plan/vm_sizes.py MEMORY_GIB); None otherwise (an attached
    cluster's nodes are only known at deploy; `vcpusPerNode` vouches for vCPUs only)."""
    if cluster is None or cluster.attach is not None:
        return None
    return known_memory_gib(cluster.vm_size)


def check_fits_node(name: str, service: Any, clusters: Mapping[str, ClusterSettings]) -> None:
    """An instance asks for its CPU on one node: a request above a node's vCPUs is never scheduled
    (Kubernetes schedules a pod onto a single node whose allocatable CPU covers its requests), so
    the rollout would hang in Pending. Checked here for each online deployment of a service on a
    cluster (its `deployments`); a target whose pod is sized otherwise checks it itself (the aks
    target: scorer + gateway, mldeploy/targets/aks/checks.py)."""
    cluster = clusters.get(service.cluster_used() or "")
    vcpus = node_vcpus(cluster)
    if vcpus is None:
        return
    base = f"{PROJECT}:services.{name}"
    for dep_name, dep in sorted(service.deployments_by_name().items()):
        if dep.cpu_cores is not None and round(dep.cpu_cores * 1000) > allocatable_cpu_milli(vcpus):
            raise ConfigError(f"{base}.deployments.{dep_name}.cpuCores",
                              f"cpuCores {dep.cpu_cores:g} is more than {node_cpu_words(cluster.vm_size, vcpus)}: "
                              "the instance would never be scheduled; lower cpuCores or choose a larger vmSize")
        memory = dep.memory_gb
        node_gib = node_memory_gib(cluster)
        if memory is not None and node_gib is not None and memory > node_gib:
            raise ConfigError(f"{base}.deployments.{dep_name}.memoryGb",
                              f"memoryGb {memory:g} is more than a {cluster.vm_size} node has ({node_gib:g} GiB): "
                              "the instance would never be scheduled; lower memoryGb or choose a larger vmSize")
