"""The one tag helper: every Azure resource says which stack, environment, model and version."""
from __future__ import annotations

from typing import Mapping

MANAGED_BY = "mldeploy"


def resource_tags(
    stack: str,
    extra: Mapping[str, str] | None = None,
    *,
    model: str | None = None,
    version: str | None = None,
) -> dict[str, str]:
    """Stack tags first, then the user's `mldeploy:tags`, then model/version where known."""
    tags = {"environment": stack, "managed-by": MANAGED_BY, "mldeploy-stack": stack}
    tags.update(extra or {})
    if model is not None:
        tags["model"] = model
    if version is not None:
        tags["model-version"] = str(version)
    return dict(sorted(tags.items()))
