"""The one TLS rule: whether a service's front door answers HTTPS. Decided here, once; the
plans (their gateways, Secrets, Service ports, scoring URIs), the service tags the policy pack
reads and the local runtime all read this answer instead of re-deriving it from the settings."""
from __future__ import annotations

from typing import Any


def tls_on(s: Any, production: bool) -> bool:
    """A service whose settings say `tls_follows_stack` (`tlsEnabled`, `tls`, `certManager`):
    `tlsEnabled` when set; else on in production, and on wherever a certificate is configured
    (`tls`, or `certManager` issuing one) - a certificate is given to be served, never to sit
    unused behind plain HTTP. (`tlsEnabled: false` with a certificate is refused when the stack
    is read, by the settings model.)"""
    if s.tls_enabled is not None:
        return s.tls_enabled
    return production or s.tls is not None or s.cert_manager is not None


def serves_tls(service: Any, production: bool) -> bool:
    """Whether `service` answers HTTPS: `tls_on` where the stack decides (`tls_follows_stack`: AKS,
    FPGA). Where the platform's own ingress answers HTTPS only (a managed online endpoint,
    Container Apps): always. Otherwise (local, ACI, a Kubernetes online endpoint) exactly when the
    settings carry a certificate (`tls`)."""
    if service.tls_follows_stack:
        return tls_on(service, production)
    if service.ingress_serves_https:
        return True
    return service.tls is not None
