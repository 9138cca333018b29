"""Hand-built policy arguments: the same shapes `pulumi preview` and `mldeploy synth` hand over."""
from __future__ import annotations

from typing import Any

from pulumi_policy import ResourceValidationPolicy

from mldeploy.pulumi_internals import (PolicyResource, policy_resource, resource_validation_args,
                                       stack_validation_args)

from mldeploy.policies.rules import POLICIES

ACI = "azure-native:containerinstance:ContainerGroup"
CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
REGISTRY = "azure-native:containerregistry:Registry"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"

SERVICE_ON = {"mldeploy-service": "web", "mldeploy-auth": "enabled", "mldeploy-tls": "enabled",
              "environment": "prod", "model": "diabetes", "model-version": "1"}


def urn(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::mldeploy::{type_}::{name}"


def res(type_: str, props: dict[str, Any], name: str = "r", stack: str = "dev") -> PolicyResource:
    return policy_resource(type_, props, urn(stack, type_, name), name)


def policy(name: str):
    found = [p for p in POLICIES if p.name == name]
    assert found, f"no policy named {name}"
    return found[0]


def check(name: str, *resources: PolicyResource, config: dict[str, Any] | None = None) -> list[str]:
    """The messages policy `name` reports over `resources` (one stack)."""
    p = policy(name)
    messages: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        messages.append(message)

    if isinstance(p, ResourceValidationPolicy):
        for r in resources:
            p.validate(resource_validation_args(r, config), report)
    else:
        p.validate(stack_validation_args(resources, config), report)
    return messages


def container(image: str = "acr.azurecr.io/diabetes@sha256:" + "a" * 64, **extra: Any) -> dict[str, Any]:
    return {"name": "scorer", "image": image,
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            **extra}


def deployment(*containers: dict[str, Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "web", "labels": dict(labels or {})},
            "spec": {"template": {"spec": {"containers": list(containers)}}}}
