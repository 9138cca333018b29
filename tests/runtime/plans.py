"""The serve plan of a service as `mldeploy serve` builds it: from its target's row in the table."""
from __future__ import annotations

from types import SimpleNamespace

from mldeploy.targets import target_of


def plan_of(name: str, service, *, production: bool = False, logs_command: str = ""):
    """`service`'s ServePlan (or EndpointServePlan), by its target's `serve_plan` hook; the
    hooks read only `production` of the stack."""
    return target_of(service).serve_plan(name, service, SimpleNamespace(production=production), logs_command)
