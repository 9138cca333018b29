"""The one error type a user sees for a bad stack file."""
from __future__ import annotations


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
        return ": ".join(parts)
