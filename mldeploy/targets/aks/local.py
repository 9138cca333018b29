"""`serve` of an AKS service with a `canary`: the stable image and the canary image each served by
its own scorer (each image's own model version) behind its own gateway, and one ingress in front
splitting the requests by `canary.trafficPercent`.

The mechanism is the containerapp rehearsal's (LocalRevisions: weighted upstreams of the one
gateway renderer, a 0 % variant `down`); only the variants differ. On AKS every pod's gateway
splits by the same weights (plan.py); here one ingress does, which gives the client the same
split. Said plainly: the keys are checked at the ingress (one pair for the service, as on AKS), and
the rehearsal is HTTP only (`--tls-cert` does not apply to a canary's ingress).
"""
from __future__ import annotations

from mldeploy.plan.scorer import image_envs
from mldeploy.targets.aks.settings import AksServiceSettings
from mldeploy.targets.containerapp.local import LocalRevisions
from mldeploy.targets.serving import split_runner
from mldeploy.targets.target import LocalServe


def canary_variants(service: AksServiceSettings) -> dict[str, tuple[str, int]]:
    """variant -> (image, traffic percent), named as the AKS Deployments' variants (plan.py)."""
    share = service.canary.traffic_percent
    return {"stable": (service.image, 100 - share), "canary": (service.canary.image, share)}


def variant_settings(service: AksServiceSettings, image: str) -> AksServiceSettings:
    """One variant as a service of its own: the service's settings with the variant's image, no
    canary, no key check (the ingress's), no TLS and no App Insights (no Azure)."""
    return service.model_copy(update={"image": image, "canary": None, "auth_enabled": False, "keys": None,
                                      "tls": None, "tls_enabled": False, "cert_manager": None,
                                      "app_insights_enabled": False})


def every_variant(service: AksServiceSettings) -> None:
    """Which variant a change of the stack file reaches: every one (each is a Deployment, updated in place)."""
    return None


class LocalCanary(LocalRevisions):
    """The stable and the canary variant, each scorer + gateway, and the ingress splitting them."""

    variants = staticmethod(canary_variants)
    variant_settings = staticmethod(variant_settings)
    changed_variant = staticmethod(every_variant)
    variant_noun = "variant"


def canary_runner(name: str, service: AksServiceSettings, serve: LocalServe) -> LocalCanary:
    """serve's runner of a service with a canary: the stable and the canary variant and the split."""

    def make() -> LocalCanary:
        images = sorted({service.image, service.canary.image})
        assets = {image: serve.prepared(image) for image in images}
        return LocalCanary(name, service, {i: a[0] for i, a in assets.items()}, {i: a[1] for i, a in assets.items()},
                           serve.run_dir, port=serve.port or 0, logs_command=serve.logs_command,
                           image_env=image_envs(serve.stack.images))

    return split_runner(name, make, serve)
