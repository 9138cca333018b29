"""A service's primary and secondary keys: the ones given (secure config), else generated with
pulumi-random by the one key rule (plan/keys.py). Secret from the first line either way."""
from __future__ import annotations

import pulumi
import pulumi_random as random

from mldeploy.components.children import child_name, child_opts
from mldeploy.plan.keys import KEY_LENGTH

Keys = tuple[pulumi.Output[str], pulumi.Output[str]]


def service_keys(parent: pulumi.Resource, component: str,
                 given: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None, *, aliased: bool = True) -> Keys:
    """(primary, secondary) as secret Outputs: `given`, else two generated keys, children of `parent`.
    `aliased`: the keys once had fixed names (`primary-key`; components/children.py) - not AksService's."""
    if given is not None:
        return pulumi.Output.secret(given[0]), pulumi.Output.secret(given[1])
    keys = []
    for which in ("primary", "secondary"):
        role = f"{which}-key"
        opts = child_opts(parent, role) if aliased else pulumi.ResourceOptions(parent=parent)
        # Letters and digits only: safe in a header and in the gateway's nginx map.
        password = random.RandomPassword(child_name(component, role), length=KEY_LENGTH, special=False, opts=opts)
        keys.append(pulumi.Output.secret(password.result))
    return keys[0], keys[1]
