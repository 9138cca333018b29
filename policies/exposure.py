"""Services reachable from the internet check keys, in every stack. Production stacks are held to
it by production-auth-and-tls (mandatory, with TLS); elsewhere a public endpoint without auth is
reported as advisory: a dev or test service with `authEnabled: false` on a public IP lets anyone
on the internet score the model (compute paid by the owner, the model's answers for the taking),
which may be a deliberate demo - so it warns in the preview instead of blocking it.

Public means: an ACI group's public IP address, a container app's external ingress, or a
LoadBalancer/NodePort Service that selects the workload's pods. v2 online endpoints always
authenticate (authMode key, AML token or Entra ID: there is no anonymous mode).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from pulumi_policy import Policy, StackValidationPolicy

from mldeploy.plan.tags import AUTH_TAG, SERVICE_TAG
from mldeploy.policies import config
from mldeploy.policies.reading import ACI, CONTAINER_APP, POD_SPEC_PATHS, get, opaque, plain, same, tags_of

Report = Callable[..., None]

SERVICE = "kubernetes:core/v1:Service"
EXTERNAL_SERVICE_TYPES = {"LoadBalancer", "NodePort"}


def _external_services(resources) -> list[tuple[str, Any, Mapping[str, Any]]]:
    """(name, namespace, selector) of every Service reachable from outside the cluster."""
    found = []
    for r in resources:
        if r.resource_type != SERVICE:
            continue
        props = plain(r.props)
        spec = props.get("spec") if isinstance(props.get("spec"), Mapping) else {}
        selector = spec.get("selector")
        if spec.get("type") in EXTERNAL_SERVICE_TYPES and isinstance(selector, Mapping) and selector:
            name = get(props, "metadata", "name") or r.name
            found.append((f"Service {name} ({spec['type']})", get(props, "metadata", "namespace") or "default",
                          selector))
    return found


def _exposure(r, services) -> str | None:
    """How the workload is reached from the internet, or None."""
    props = plain(r.props)
    if r.resource_type == ACI:
        return "its container group's public IP address" if get(props, "ipAddress", "type") == "Public" else None
    if r.resource_type == CONTAINER_APP:
        return "the container app's external ingress" if get(props, "configuration", "ingress", "external") is True \
            else None
    path = POD_SPEC_PATHS.get(r.resource_type)
    if path is None:
        return None
    labels = get(props, *path[:-1], "metadata", "labels")
    namespace = get(props, "metadata", "namespace") or "default"
    if not isinstance(labels, Mapping) or opaque(labels):
        return None
    for where, ns, selector in services:
        if same(ns, namespace) and all(labels.get(k) == v for k, v in selector.items()):
            return where
    return None


def public_services_authenticated(args, report: Report) -> None:
    stack, production = config.production("public-services-authenticated", args)
    if production:
        return  # production-auth-and-tls holds production stacks to it, mandatory
    services = _external_services(args.resources)
    reported: set[str] = set()
    for r in args.resources:
        tags = tags_of(r.props)
        service = tags.get(SERVICE_TAG)
        if service is None or tags.get(AUTH_TAG) != "disabled" or service in reported:
            continue
        exposed = _exposure(r, services)
        if exposed is not None:
            reported.add(service)
            report(f"service {service!r} has authentication disabled and is reachable from the internet through "
                   f"{exposed}: anyone can score the model; set authEnabled: true (the default), or keep it "
                   "private", r.urn)


POLICIES: list[Policy] = [
    StackValidationPolicy(
        name="public-services-authenticated", validate=public_services_authenticated,
        description="Outside production too, a scoring service reachable from the internet checks keys "
                    "(advisory: a public demo may be deliberate)."),
]
