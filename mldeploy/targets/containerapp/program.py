"""The `containerapp` program step: one ContainerAppService per service, from its plan."""
from __future__ import annotations

from mldeploy.components.containerapp import ContainerAppService
from mldeploy.contract import GATEWAY_IMAGE
from mldeploy.plan.tags import SPLIT_TAG
from mldeploy.targets.foundation import Foundation, ServiceOutputs, given_keys
from mldeploy.targets.mirrors import mirrored
from mldeploy.targets.containerapp.config import ContainerAppServiceSettings
from mldeploy.plan.batching import service_load
from mldeploy.plan.scorer import image_envs
from mldeploy.targets.containerapp.plan import SPLIT_BETWEEN_REVISIONS, plan_containerapp


def deploy_containerapp(name: str, service: ContainerAppServiceSettings, f: Foundation) -> ServiceOutputs:
    s = f.settings
    plan = plan_containerapp(name, service, image_tags={image: c.tag for image, c in f.contexts.items()},
                             load=service_load(s.images, service), image_env=image_envs(s.images))
    svc = ContainerAppService(
        plan.component,
        plan=plan,
        resource_group_name=f.resource_group_name,
        location=s.location,
        image=f.images[service.image].repo_digest,
        registry_login_server=f.registry.registry_login_server,
        registry_id=f.registry.registry_id,
        # With revisions the app serves several model versions: like an online endpoint, it names
        # none of them and says it splits (the required-tags policy reads SPLIT_TAG).
        tags={**f.tags(), SPLIT_TAG: SPLIT_BETWEEN_REVISIONS} if service.revisions else f.tags(),
        keys=given_keys(service),
        app_insights_key=f.registry.app_insights_instrumentation_key,
        app_insights_connection_string=f.registry.app_insights_connection_string,
        gateway_image=mirrored(GATEWAY_IMAGE, f),
        role_propagation_timeout=s.role_propagation_timeout_seconds,
    )
    return ServiceOutputs(svc.scoring_uri, svc.swagger_uri, svc.primary_key, svc.secondary_key,
                          extra={"containerApp": svc.app_name, "revision": svc.revision},
                          gateway_conf=svc.gateway_conf)
