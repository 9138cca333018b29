"""The serve plan of a service as `mldeploy serve` builds it: from its target's row in the table."""
from __future__ import annotations

from types import SimpleNamespace

from mldeploy.targets import target_of


def plan_of(name: str, service, *, production: bool = False, logs_command: str = "", images=None):
    """`service`'s ServePlan (or EndpointServePlan), by its target's `serve_plan` hook; the
    hooks read `production` and `images` (an image's batching) of the stack; no images: unbatched."""
    stack = SimpleNamespace(production=production, images=images or {})
    return target_of(service).serve_plan(name, service, stack, logs_command)
