"""Azure Resource Manager ids: the one helper that reads a part out of one."""
from __future__ import annotations

from typing import Callable


def arm_part(segment: str) -> Callable[[str | None], str]:
    """A function picking the value after `segment` in an ARM resource id (case-insensitive),
    e.g. `arm_part("registries")` -> "crdev" for `.../registries/crdev`; for `Output.apply`."""

    def pick(resource_id: str | None) -> str:
        parts = (resource_id or "").split("/")
        for i, part in enumerate(parts[:-1]):
            if part.lower() == segment.lower():
                return parts[i + 1]
        raise ValueError(f"no {segment!r} in resource id {resource_id!r}")

    return pick
