"""RolePropagation: wait, declaratively, until a new role assignment takes effect.

"When you assign roles or remove role assignments, it can take up to 10 minutes for changes to take
effect" (learn.microsoft.com/azure/role-based-access-control/troubleshooting, "Symptom - Role
assignment changes are not being detected"): an ACI group pulling with a fresh AcrPull, or the
first Namespace after a fresh "AKS RBAC Cluster Admin", can get 401/403 in that window. Resources
that need the role depend on this wait, which sleeps once when the assignment is created (or
replaced) and never again. Hand-written (a Python dynamic provider of one sleep) because
pulumiverse-time, the maintained Sleep resource, ships on PyPI only as a 2024 sdist.
"""
from __future__ import annotations

import hashlib
import time
from typing import Any, Callable

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

PROPAGATION_SECONDS = 600  # the documented upper bound: "up to 10 minutes"


class SleepProvider(ResourceProvider):
    """Create sleeps `seconds`; a change of `assignments` replaces (sleeps again); delete is instant."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep):
        super().__init__()
        self.sleep = sleep

    def create(self, props: dict[str, Any]) -> CreateResult:
        self.sleep(float(props["seconds"]))
        # The same assignments give the same id in any process (hash() of str is salted per run).
        digest = hashlib.sha256("\n".join(props["assignments"]).encode()).hexdigest()[:16]
        return CreateResult(f"propagation-{digest}", dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = ["assignments"] if olds.get("assignments") != news.get("assignments") else []
        changed = bool(replaces) or olds.get("seconds") != news.get("seconds")
        return DiffResult(changes=changed, replaces=replaces, delete_before_replace=False)

    def update(self, _id, _olds, news):
        return UpdateResult(dict(news))  # a new duration alone does not wait again


class RolePropagation(pulumi.dynamic.Resource, module="azure", name="RolePropagation"):
    """Done `seconds` after the role assignments it names were created."""

    def __init__(self, name: str, assignments: list[pulumi.Resource], seconds: int = PROPAGATION_SECONDS,
                 opts: pulumi.ResourceOptions | None = None, provider: ResourceProvider | None = None):
        ids = [a.id for a in assignments]
        super().__init__(provider or SleepProvider(), name, {"assignments": ids, "seconds": seconds},
                         pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=assignments)))
