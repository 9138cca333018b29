"""Decide everything about one local service under `pulumi up` (Docker) before anything is
declared: container and network names, the scorer's image name, memory and time limits, the
health checks, the published port and the gateway (its GatewaySpec). Pure:
LocalService declares what this says. (`mldeploy serve` runs the same pair as processes:
runtime/local.py, with the same gateway rules from plan/gateway.py.)"""
from __future__ import annotations

from dataclasses import dataclass

from mldeploy.config.service import LocalServiceSettings
from mldeploy.contract import (CONTAINER_CONFIG_DIR, GATEWAY_IMAGE, GATEWAY_PORT, LIVENESS_PATH, SCORE_PATH,
                               SCORER_PORT, SWAGGER_PATH)
from mldeploy.plan.gateway import FrontedByGateway, GatewaySpec, Upstream, container_gateway
from mldeploy.plan.scorer import UNBATCHED, WorkerLoad, scorer_env, scorer_memory_mb

SCORER_ALIAS = "scorer"  # the scorer's name on the service's network, where the gateway reaches it
CONFIG_FILE = f"{CONTAINER_CONFIG_DIR}/nginx.conf"


@dataclass(frozen=True)
class HealthCheck:
    """A Docker health check: `test` run every `interval`, unhealthy after `retries` failures."""

    test: tuple[str, ...]
    interval: str = "10s"
    timeout: str = "3s"
    retries: int = 3
    start_period: str | None = None


@dataclass(frozen=True)
class LocalPlan(FrontedByGateway):
    """One local service as LocalService declares it: scorer + gateway containers on a network."""

    component: str  # the LocalService's name; its children are named from it
    network: str
    scorer_container: str
    gateway_container: str
    scorer_image: str  # built here, never pushed
    context_dir: str
    scorer_env: tuple[tuple[str, str], ...]
    scorer_memory_mb: int
    scorer_health: HealthCheck
    gateway_image: str
    gateway_health: HealthCheck
    published_port: int  # on 127.0.0.1 only: the service is for this machine
    gateway: GatewaySpec
    scoring_uri: str
    swagger_uri: str


def plan_local(name: str, service: LocalServiceSettings, *, stack: str, tag: str, context_dir: str,
               load: WorkerLoad = UNBATCHED) -> LocalPlan:
    """The plan of service `name`, whose image (`tag`) is built from `context_dir`; `load`: how its
    image's scorer workers take requests (plan/batching.py service_load)."""
    component = f"local-{name}"
    prefix = f"mldeploy-{stack}-{component}"
    gateway = container_gateway(service, listen_port=GATEWAY_PORT, upstreams=(Upstream(SCORER_ALIAS, SCORER_PORT),),
                                load=load)
    base = f"{'https' if gateway.tls_enabled else 'http'}://127.0.0.1:{service.port}"
    return LocalPlan(
        component=component,
        network=prefix,
        scorer_container=f"{prefix}-scorer",
        gateway_container=f"{prefix}-gateway",
        scorer_image=f"mldeploy-local/{service.image}:{tag}",
        context_dir=context_dir,
        scorer_env=scorer_env(service, load),
        scorer_memory_mb=int(scorer_memory_mb(service)),
        scorer_health=HealthCheck(("CMD", "python", "-c", "import urllib.request; urllib.request.urlopen("
                                   f"'http://127.0.0.1:{SCORER_PORT}/')"), start_period="30s"),
        gateway_image=GATEWAY_IMAGE,
        gateway_health=HealthCheck(("CMD", "wget", "-q", "-O", "/dev/null",
                                    f"http://127.0.0.1:{GATEWAY_PORT}{LIVENESS_PATH}")),
        published_port=service.port,
        gateway=gateway,
        scoring_uri=base + SCORE_PATH,
        swagger_uri=base + SWAGGER_PATH,
    )
