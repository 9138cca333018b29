"""Policies for Azure Container Apps (`target: containerapp`, components/containerapp.py): the
traffic split of an app's revisions, and what a production app must have - a replica always
running (no cold start on the first request) and HTTPS only."""
from __future__ import annotations

from typing import Callable

from pulumi_policy import Policy, ResourceValidationPolicy, StackValidationPolicy

from mldeploy.plan.tags import SERVICE_TAG
from mldeploy.policies import config
from mldeploy.policies.reading import CONTAINER_APP, get, is_production, number, opaque, stack_of, tags_of

Report = Callable[..., None]


def _what(r) -> str:
    service = tags_of(r.props).get(SERVICE_TAG)
    return f"service {service!r} (container app {r.name})" if service else f"container app {r.name}"


def containerapp_traffic_sums_to_100(args, report: Report) -> None:
    """ContainerApps.json Ingress.traffic: the revisions' weights split the app's traffic, so they sum
    to 100 - and a label names one revision."""
    if args.resource_type != CONTAINER_APP:
        return
    traffic = get(args.props, "configuration", "ingress", "traffic")
    if opaque(traffic) or not traffic:
        return
    weights = [number(t.get("weight")) for t in traffic]
    if all(w is not None for w in weights) and sum(weights) != 100:
        report(f"{args.name}: the revisions' traffic weights sum to {sum(weights)}; they must sum to 100")
    labels = [t.get("label") for t in traffic if t.get("label")]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        report(f"{args.name}: revision label {twice[0]!r} is given to more than one revision")


def containerapp_production(args, report: Report) -> None:
    """In production: at least one replica per revision, and HTTPS only."""
    cfg = config.settings("containerapp-production", args.get_config())
    stack = next((stack_of(r.urn) for r in args.resources if r.urn), "")
    if not is_production(stack, [r.props for r in args.resources], cfg["productionStacks"]):
        return
    for r in args.resources:
        if r.resource_type != CONTAINER_APP:
            continue
        least = number(get(r.props, "template", "scale", "minReplicas"))
        if least is None and not opaque(get(r.props, "template", "scale", "minReplicas")):
            least = 0  # Scale.minReplicas omitted: Azure's default is 0 (scale-app.md, "Scale definition")
        if least is not None and least < 1:
            report(f"{_what(r)}: minReplicas {least} in production stack {stack!r}: a revision scaled to zero "
                   "answers its first request only after a cold start; set minReplicas >= 1", r.urn)
        ingress = get(r.props, "configuration", "ingress")
        if opaque(ingress) or ingress is None:
            continue
        # Ingress.allowInsecure: "If set to false HTTP connections are automatically redirected to HTTPS".
        if ingress.get("allowInsecure") is True:
            report(f"{_what(r)}: ingress allows plain HTTP (allowInsecure: true) in production stack {stack!r}; "
                   "TLS only: allowInsecure false", r.urn)
        # CustomDomain.bindingType (CommonDefinitions.json, preview/2025-02-02-preview): SniEnabled serves the
        # certificateId, Auto the environment's managed certificate for the name (what mldeploy declares:
        # components/containerapp.py); Disabled, or no binding type, serves none.
        for domain in ingress.get("customDomains") or []:
            if domain.get("bindingType") not in ("SniEnabled", "Auto"):
                report(f"{_what(r)}: custom domain {domain.get('name')!r} is bound {domain.get('bindingType')!r} "
                       f"in production stack {stack!r}: its certificate is not served; bind it Auto (a managed "
                       "certificate) or SniEnabled", r.urn)


SETTINGS = {
    "containerapp-traffic-sums-to-100": {},
    "containerapp-production": {"productionStacks": config.PRODUCTION_STACKS},
}

POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        name="containerapp-traffic-sums-to-100", validate=containerapp_traffic_sums_to_100,
        description="A container app's revision traffic weights sum to 100, one revision per label."),
    StackValidationPolicy(
        name="containerapp-production", validate=containerapp_production,
        description="Container apps in production keep a replica running (minReplicas >= 1) and serve HTTPS only."),
]
