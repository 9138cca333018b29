"""`target: local`'s load-time checks: what one local service claims on this machine."""
from __future__ import annotations

from typing import Any

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError
from mldeploy.targets.local.settings import LocalServiceSettings


def check(name: str, service: LocalServiceSettings, stack: Any) -> None:
    """A gateway port on 127.0.0.1 is one local service's: the first by name keeps it."""
    for other, settings in sorted(stack.services.items()):
        if other == name:
            return
        if settings.target == service.target and settings.port == service.port:
            raise ConfigError(f"{PROJECT}:services.{name}.port", f"port {service.port} is also local service {other!r}'s "
                                                                 "gateway port on 127.0.0.1; give each its own")
