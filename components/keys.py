"""A service's primary and secondary keys: the ones given (secure config), else generated with
pulumi-random by the one key rule (plan/keys.py). Secret from the first line either way."""
from __future__ import annotations

import pulumi
import pulumi_random as random

from mldeploy.components.children import child_name, child_opts
from mldeploy.plan.keys import KEY_LENGTH

Keys = tuple[pulumi.Output[str], pulumi.Output[str]]


def service_keys(parent: pulumi.Resource, component: str,
                 given: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None) -> Keys:
    """(primary, secondary) as secret Outputs: `given`, else two generated keys, children of `parent`."""
    if given is not None:
        return pulumi.Output.secret(given[0]), pulumi.Output.secret(given[1])
    keys = []
    for which in ("primary", "secondary"):
        # Letters and digits only: safe in a header and in the gateway's nginx map.
        password = random.RandomPassword(child_name(component, f"{which}-key"), length=KEY_LENGTH, special=False,
                                         opts=child_opts(parent, f"{which}-key"))
        keys.append(pulumi.Output.secret(password.result))
    return keys[0], keys[1]
