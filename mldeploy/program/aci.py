"""The `aci` target: a service on Azure Container Instances (dev/test)."""
from __future__ import annotations

import hashlib

from components.aci import AciService
from mldeploy.config.service import AciServiceSettings
from mldeploy.plan.naming import dns_part
from mldeploy.program import Foundation, ServiceOutputs, register_target
from mldeploy.contract import GATEWAY_IMAGE
from mldeploy.program.mirrors import mirrored
from mldeploy.synth import gateway_configs  # noqa: F401  (registers the gateway writer)


def dns_name_label(stack: str, service: str, seed: str) -> str:
    """`<service>-<stack>-<6 hex>`: unique per resource group, stable across runs, <= 63 chars."""
    suffix = hashlib.sha256(f"{seed}/{stack}/{service}".encode()).hexdigest()[:6]
    return f"{service[:40]}-{dns_part(stack)[:15].strip('-')}-{suffix}"


@register_target("aci")
def deploy_aci(name: str, service: AciServiceSettings, f: Foundation) -> ServiceOutputs:
    s = f.settings
    aci = AciService(
        f"aci-{name}",
        service=service,
        dns_name_label=service.dns_name_label or dns_name_label(s.stack, name, s.resource_group_name),
        resource_group_name=f.resource_group_name,
        location=s.location,
        image=f.images[service.image].repo_digest,
        registry_login_server=f.registry.registry_login_server,
        registry_id=f.registry.registry_id,
        tags=f.tags(),
        app_insights_key=f.registry.app_insights_instrumentation_key,
        gateway_image=mirrored(GATEWAY_IMAGE, f),
    )
    return ServiceOutputs(aci.scoring_uri, aci.swagger_uri, aci.primary_key, aci.secondary_key)
