"""The `local` target under `pulumi up`: the service as Docker containers on this machine
(LocalService). Without Docker, `mldeploy serve` runs the same pair as processes."""
from __future__ import annotations

from components.local import LocalService
from mldeploy.config.service import LocalServiceSettings
from mldeploy.plan.paths import state_path
from mldeploy.program import Foundation, ServiceOutputs, build_dir, register_target
from mldeploy.synth import gateway_configs  # noqa: F401  (registers the gateway writer)


@register_target("local")
def deploy_local(name: str, service: LocalServiceSettings, f: Foundation) -> ServiceOutputs:
    context = f.contexts[service.image]
    context_dir = build_dir(f.settings, f.project_root) / service.image
    local = LocalService(
        f"local-{name}",
        service=service,
        stack=f.settings.stack,
        image=service.image,
        tag=context.tag,
        context_dir=state_path(context_dir),
    )
    return ServiceOutputs(local.scoring_uri, local.swagger_uri, local.primary_key, local.secondary_key)
