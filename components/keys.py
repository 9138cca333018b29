"""A service's primary and secondary keys: from secure config, else generated with
pulumi-random. Secret from the first line either way."""
from __future__ import annotations

import pulumi
import pulumi_random as random

from components.children import child_name, child_opts

from mldeploy.config.service import ServiceSettings

KEY_LENGTH = 32


def service_keys(service: ServiceSettings, parent: pulumi.Resource,
                 component: str) -> tuple[pulumi.Output[str], pulumi.Output[str]] | None:
    """(primary, secondary) as secret Outputs, or None when the service has auth off."""
    if not service.auth_enabled:
        return None
    if service.keys is not None:
        return (pulumi.Output.secret(service.keys.primary.reveal()),
                pulumi.Output.secret(service.keys.secondary.reveal()))
    keys = []
    for which in ("primary", "secondary"):
        # Letters and digits only: safe in a header and in the gateway's nginx map.
        password = random.RandomPassword(child_name(component, f"{which}-key"), length=KEY_LENGTH, special=False,
                                         opts=child_opts(parent, f"{which}-key"))
        keys.append(pulumi.Output.secret(password.result))
    return keys[0], keys[1]
