"""Where a key path sits in a stack file, so that of several mistakes the one a user meets first
reading the file top to bottom is the one reported (mldeploy/targets/stack.py).

    file_position("mldeploy:services.diabetes.canary.trafficPercent", config)  # -> (4, 0, 3, 1)

`config` is the stack file's `config:` mapping as read (YAML keeps the file's order in it). The
position is each part's index among its siblings, so a parent comes before its children; a part
the file does not write (a default that breaks a rule) sits after its written siblings."""
from __future__ import annotations

import re
from typing import Any, Mapping

_PART = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def key_parts(key: str) -> list[str | int]:
    """`mldeploy:services.a.cors.allowedOrigins[1]` -> ['mldeploy:services', 'a', 'cors', 'allowedOrigins', 1]."""
    return [int(index) if index is not None else name for name, index in
            ((m.group(1), m.group(2)) for m in _PART.finditer(key))]


def file_position(key: str, config: Mapping[str, Any]) -> tuple[int, ...]:
    """The key's place in the file's order (see the module docstring)."""
    position: list[int] = []
    node: Any = config
    for part in key_parts(key):
        if isinstance(node, Mapping):
            keys = list(node)
            if part not in node:
                return (*position, len(keys))
            position.append(keys.index(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            position.append(part)
            node = node[part]
        else:
            return (*position, len(node) if isinstance(node, list) else 0)
    return tuple(position)
