"""The instanceType of a Kubernetes deployment, and the InstanceType custom resources mldeploy
declares for deployments sized by v1's cpuCores/memoryGb (how-to-manage-kubernetes-instance-types.md;
the plan type and the sources: mldeploy/plan/kubernetes_compute.py)."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

from mldeploy.config.base import kubernetes_cpu_problem
from mldeploy.config.errors import ConfigError
from mldeploy.plan.kubernetes_compute import InstanceTypePlan

if TYPE_CHECKING:
    from mldeploy.targets.kubernetes_endpoint.settings import KubernetesEndpointSettings
    from mldeploy.targets.online_endpoint.settings import DeploymentSettings

KUBERNETES_DEFAULT_INSTANCE_TYPE = "defaultinstancetype"
# An instance type of a Kubernetes compute is an `InstanceType` custom resource named by its metadata.name
# (how-to-manage-kubernetes-instance-types.md, "Create a custom instance type"), and a custom resource's name
# is a DNS subdomain: "no more than 253 characters", "only lowercase alphanumeric characters, '-' or '.'",
# "start with an alphanumeric character", "end with an alphanumeric character" (kubernetes.io/docs/concepts/
# overview/working-with-objects/names, "DNS Subdomain Names"): no such resource can be named `Bad Type`.
# Case is left alone (whether Azure ML lowers a name before its look-up is not documented).
INSTANCE_TYPE_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9.]*[a-z0-9])?", re.IGNORECASE)


def kubernetes_instance_type(dep: "DeploymentSettings", key: str) -> str:
    """The instanceType sent to Azure for a deployment at `key`: `instanceType`, else the one
    mldeploy declares for its cpuCores/memoryGb, else the extension's default."""
    if dep.instance_type is not None:
        if dep.cpu_cores or dep.memory_gb:
            raise ConfigError(f"{key}.cpuCores", "cpuCores/memoryGb define an instance type when instanceType "
                                                 "is omitted; with instanceType set remove them")
        if not INSTANCE_TYPE_NAME.fullmatch(dep.instance_type):
            raise ConfigError(f"{key}.instanceType", f"{dep.instance_type[:80]!r} cannot name an InstanceType: a "
                                                     "Kubernetes object name is 1-253 letters, digits, '-' "
                                                     "and '.', starting and ending with a letter or digit")
        return dep.instance_type
    if sized_by_v1(dep):
        problem = dep.cpu_cores is not None and kubernetes_cpu_problem(dep.cpu_cores)
        if problem:  # the InstanceType's CPU request and limit (instance_size)
            raise ConfigError(f"{key}.cpuCores", problem)
        if dep.memory_gb is not None and round(dep.memory_gb * 1024) < 1:
            # Written in whole MiB (instance_size): less than half a MiB would be an InstanceType of 0Mi,
            # a container with no memory request or limit at all, not a small one.
            raise ConfigError(f"{key}.memoryGb", f"{dep.memory_gb:g} GB is less than 1 MiB, the unit the instance "
                                                 "type's memory is written in (round(memoryGb × 1024) Mi = 0Mi): "
                                                 "give the scorer its memory, e.g. 1")
        return instance_type_name(*instance_size(dep))
    return KUBERNETES_DEFAULT_INSTANCE_TYPE


def sized_by_v1(dep: "DeploymentSettings") -> bool:
    """A Kubernetes deployment without instanceType but with cpuCores/memoryGb runs on an
    InstanceType mldeploy declares (`instance_types`)."""
    return dep.instance_type is None and (dep.cpu_cores is not None or dep.memory_gb is not None)


def instance_size(dep: "DeploymentSettings") -> tuple[str, str]:
    """(cpu, memory) Kubernetes quantities of v1's cpuCores/memoryGb, v1's default (0.1 core, 0.5 GB) for the
    one unset: the same size the managed path maps to a SKU (DeploymentSettings.v1_size)."""
    cpu, memory = dep.v1_size()
    return f"{int(round(cpu * 1000))}m", f"{int(round(memory * 1024))}Mi"


def instance_type_name(cpu: str, memory: str) -> str:
    """Named by size, not by deployment: InstanceType names are unique in a cluster
    (how-to-manage-kubernetes-instance-types.md), so every deployment of one size on a cluster
    shares one, and two endpoints' `blue` of different sizes never overwrite each other.
    Lowercase: it is a Kubernetes object name (RFC 1123)."""
    return f"mldeploy-{cpu}-{memory}".lower()


def instance_types(services: Iterable["KubernetesEndpointSettings"]) -> tuple[InstanceTypePlan, ...]:
    """The InstanceTypes a cluster needs for its endpoints' deployments, one per size, by name."""
    found = {}
    for service in services:
        for dep in service.deployments.values():
            if sized_by_v1(dep):
                cpu, memory = instance_size(dep)
                name = instance_type_name(cpu, memory)
                found[name] = InstanceTypePlan(name, cpu, memory)
    return tuple(found[n] for n in sorted(found))
