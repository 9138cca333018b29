"""Decide everything about one ACI service before anything is declared: its names, how the
group's CPU and memory split between scorer and gateway, ports, the scorer's time limits, the
probes and the gateway (its GatewaySpec). Pure: AciService declares what this says.
"""
from __future__ import annotations

from dataclasses import dataclass

from mldeploy.config.service import AciServiceSettings
from mldeploy.config.stack import StackSettings
from mldeploy.contract import ACI_GATEWAY_CPU, ACI_GATEWAY_MEMORY_GB, LIVENESS_PATH, READINESS_PATH, SCORER_PORT
from mldeploy.plan.gateway import FrontedByGateway, GatewaySpec, container_gateway
from mldeploy.plan.scorer import scorer_env
from mldeploy.plan.naming import dns_part, hash_suffix
from mldeploy.plan.timeouts import probe_failure_threshold

PROBE_PERIOD_S = 10
PROBE_TIMEOUT_S = 3
NGINX_PROBE_FAILURES = 3  # the gateway's liveness asks nginx itself, never a busy scorer


@dataclass(frozen=True)
class Resources:
    """One container's request in the group."""

    cpu: float
    memory_gb: float


@dataclass(frozen=True)
class Probe:
    """An HTTP probe of one container. `scheme` is ContainerHttpGet.scheme's lower-case enum
    ("http" | "https": azure-rest-api-specs, specification/containerinstance, containerInstance.json)."""

    path: str
    port: int
    scheme: str
    initial_delay_s: int
    failure_threshold: int
    period_s: int = PROBE_PERIOD_S
    timeout_s: int = PROBE_TIMEOUT_S


@dataclass(frozen=True)
class AciPlan(FrontedByGateway):
    """One ACI service as AciService declares it: a group of scorer + gateway."""

    component: str  # the AciService's name; its children are named from it
    dns_name_label: str
    scheme: str  # of the public URIs and of the gateway's probes
    gateway_port: int  # the group's only public port
    scorer: Resources
    gateway_resources: Resources
    scorer_env: tuple[tuple[str, str], ...]
    app_insights: bool
    scorer_liveness: Probe
    scorer_readiness: Probe
    gateway_liveness: Probe
    gateway_readiness: Probe
    gateway: GatewaySpec


def default_dns_name_label(stack: str, service: str, seed: str) -> str:
    """`<service>-<stack>-<6 hex>`: unique per resource group, stable across runs, <= 63 chars."""
    return f"{service[:40]}-{dns_part(stack)[:15].strip('-')}-{hash_suffix(seed, stack, service)}"


def gateway_port(tls: bool) -> int:
    return 443 if tls else 80


def plan_aci(name: str, service: AciServiceSettings, *, stack: str, resource_group: str) -> AciPlan:
    """The plan of service `name`; `resource_group` seeds its default DNS label."""
    tls = service.tls is not None
    scheme = "https" if tls else "http"
    port = gateway_port(tls)
    gateway = container_gateway(service, listen_port=port)
    # A probe that reaches the scorer's GET / waits behind busy sync workers: its window outlasts
    # the scorer's limit (plan/timeouts.py), or ACI restarts the scorer in a long request.
    busy = probe_failure_threshold(service.scoring_timeout_ms, PROBE_PERIOD_S)
    return AciPlan(
        component=f"aci-{name}",
        dns_name_label=service.dns_name_label or default_dns_name_label(stack, name, resource_group),
        scheme=scheme,
        gateway_port=port,
        # The gateway takes its share of the group (config checks the group leaves the scorer room).
        scorer=Resources(round(service.cpu_cores - ACI_GATEWAY_CPU, 2),
                         round(service.memory_gb - ACI_GATEWAY_MEMORY_GB, 1)),
        gateway_resources=Resources(ACI_GATEWAY_CPU, ACI_GATEWAY_MEMORY_GB),
        scorer_env=scorer_env(service),
        app_insights=service.app_insights_enabled,
        # The scorer's only health route: 200 once init() has finished.
        scorer_liveness=Probe("/", SCORER_PORT, "http", 30, busy),
        scorer_readiness=Probe("/", SCORER_PORT, "http", 5, busy),
        gateway_liveness=Probe(LIVENESS_PATH, port, scheme, 5, NGINX_PROBE_FAILURES),
        gateway_readiness=Probe(READINESS_PATH, port, scheme, 5, busy),  # the scorer's GET / through nginx
        gateway=gateway,
    )


def aci_services(settings: StackSettings) -> list[str]:
    """The stack's ACI services, by name."""
    return sorted(name for name, s in settings.services.items() if isinstance(s, AciServiceSettings))


def registry_sku(settings: StackSettings) -> str:
    """Premium when an ACI service pulls from the registry, else Standard.

    ACI pulls the image with a user-assigned managed identity (no registry password), and Microsoft
    lists "a premium SKU Azure container registry" with trusted services enabled as the prerequisite
    of that pull (learn.microsoft.com/azure/container-instances/using-azure-container-registry-mi,
    ms.date 2026-07-25). Unverified here whether a Standard registry really fails: followed as
    documented."""
    return "Premium" if aci_services(settings) else "Standard"
