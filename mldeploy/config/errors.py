"""The one error type a user sees for a bad stack file, and how a bad value is shown in it."""
from __future__ import annotations

import json
import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
SHOWN_MAX = 80


class ConfigError(Exception):
    """A stack-config mistake: which file, which key path, what is wrong and what is allowed."""

    def __init__(self, key: str, message: str, source: str | None = None):
        self.key = key
        self.message = message
        self.source = source
        super().__init__(self.render())

    def with_source(self, source: str) -> "ConfigError":
        return ConfigError(self.key, self.message, source)

    def render(self) -> str:
        parts = [p for p in (self.source, self.key, self.message) if p]
        # One line, always: a newline in a user's key or value must not start a second line.
        return _CONTROL.sub(" ", ": ".join(parts))


def shown(value: Any) -> str:
    """A user's value as it reads in an error: strings quoted, everything else as YAML/JSON reads
    (true, null, [1, 2]) - never a Python object repr - and cut short."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, (bool, int, float, type(None), list, dict)):
        try:
            text = json.dumps(value, ensure_ascii=False, default=lambda v: f"<{type(v).__name__}>")
        except (ValueError, RecursionError):
            text = f"a {type(value).__name__}"
    else:
        text = "a secure: value" if type(value).__name__ == "SecureValue" else f"a {type(value).__name__}"
    return text if len(text) <= SHOWN_MAX else text[:SHOWN_MAX - 3] + "..."
