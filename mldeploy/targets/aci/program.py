"""The `aci` target: a service on Azure Container Instances (dev/test)."""
from __future__ import annotations

from mldeploy.components.aci import AciService
from mldeploy.targets.aci.settings import AciServiceSettings
from mldeploy.contract import GATEWAY_IMAGE
from mldeploy.plan.batching import service_load
from mldeploy.plan.scorer import service_env
from mldeploy.targets.aci.plan import plan_aci
from mldeploy.targets.foundation import Foundation, ServiceOutputs, given_keys, given_tls
from mldeploy.targets.mirrors import mirrored


def deploy_aci(name: str, service: AciServiceSettings, f: Foundation) -> ServiceOutputs:
    s = f.settings
    plan = plan_aci(name, service, stack=s.stack, resource_group=s.resource_group_name,
                    load=service_load(s.images, service), env=service_env(s.images, service))
    aci = AciService(
        plan.component,
        plan=plan,
        resource_group_name=f.resource_group_name,
        location=s.location,
        image=f.images[service.image].repo_digest,
        registry_login_server=f.registry.registry_login_server,
        registry_id=f.registry.registry_id,
        tags=f.tags(),
        keys=given_keys(service),
        tls=given_tls(service),
        app_insights_key=f.registry.app_insights_instrumentation_key,
        app_insights_connection_string=f.registry.app_insights_connection_string,
        gateway_image=mirrored(GATEWAY_IMAGE, f),
        role_propagation_timeout=s.role_propagation_timeout_seconds,
    )
    return ServiceOutputs(aci.scoring_uri, aci.swagger_uri, aci.primary_key, aci.secondary_key,
                          extra={"containerGroup": aci.container_group_name}, gateway_conf=aci.gateway_conf)
