"""The ACI target's rule: Azure Container Instances only outside production (the guide: ACI is
"for dev/test, not for production workloads"). Registered in the target table (targets/aci)."""
from __future__ import annotations

from typing import Callable

from pulumi_policy import Policy, StackValidationPolicy

from mldeploy.plan.tags import SERVICE_TAG
from mldeploy.policies import config
from mldeploy.policies.reading import ACI, tags_of

Report = Callable[..., None]

SETTINGS = {"aci-not-in-production": {"productionStacks": config.PRODUCTION_STACKS}}


# -- ACI only outside production -------------------------------------------------------------

def aci_not_in_production(args, report: Report) -> None:
    stack, production = config.production("aci-not-in-production", args)
    if not production:
        return
    for r in args.resources:
        if r.resource_type == ACI:
            service = tags_of(r.props).get(SERVICE_TAG)
            what = f"service {service!r} (container group {r.name})" if service else f"container group {r.name}"
            report(f"{what}: Azure Container Instances is for dev/test only (the guide: not for "
                   f"production workloads) and stack {stack!r} is production; deploy to AKS (target: aks)",
                   r.urn)



POLICIES: list[Policy] = [
    StackValidationPolicy(
        name="aci-not-in-production", validate=aci_not_in_production,
        description="Azure Container Instances only outside production (the guide: ACI is not for production)."),
]
