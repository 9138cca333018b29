"""The plan of one local service under `pulumi up` (Docker), as LocalService declares it:
container and network names, the scorer's image, memory and time limits, the health checks, the
published port and the gateway (its GatewaySpec). The `local` target's plan function decides it
(mldeploy/targets/local/plan.py); components take this type."""
from __future__ import annotations

from dataclasses import dataclass

from mldeploy.contract import CONTAINER_CONFIG_DIR
from mldeploy.plan.gateway import FrontedByGateway, GatewaySpec

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
