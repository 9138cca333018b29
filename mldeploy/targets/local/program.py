"""The `local` target under `pulumi up`: the service as Docker containers on this machine
(LocalService). Without Docker, `mldeploy serve` runs the same pair as processes."""
from __future__ import annotations

from mldeploy.components.local import LocalService
from mldeploy.plan.batching import service_load
from mldeploy.plan.scorer import service_env
from mldeploy.targets.local.settings import LocalServiceSettings
from mldeploy.targets.local.plan import plan_local
from mldeploy.plan.paths import state_path
from mldeploy.targets.foundation import Foundation, ServiceOutputs, build_dir, given_keys, given_tls


def deploy_local(name: str, service: LocalServiceSettings, f: Foundation) -> ServiceOutputs:
    context_dir = build_dir(f.settings, f.project_root) / service.image
    plan = plan_local(name, service, stack=f.settings.stack, tag=f.contexts[service.image].tag,
                      context_dir=state_path(context_dir), load=service_load(f.settings.images, service),
                      env=service_env(f.settings.images, service))
    local = LocalService(plan.component, plan=plan, keys=given_keys(service), tls=given_tls(service))
    return ServiceOutputs(local.scoring_uri, local.swagger_uri, local.primary_key, local.secondary_key,
                          gateway_conf=local.gateway_conf)
