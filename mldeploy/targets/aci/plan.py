"""Decide everything about one ACI service before anything is declared: its names, how the
group's CPU and memory split between scorer and gateway, ports, the scorer's time limits, the
probes and the gateway (its GatewaySpec). Pure: AciService declares what this says.
"""
from __future__ import annotations

from mldeploy.contract import ACI_GATEWAY_CPU, ACI_GATEWAY_MEMORY_GB, LIVENESS_PATH, READINESS_PATH, SCORER_PORT
from mldeploy.plan.aci import DRAIN_GATEWAY_PORT_ENV, AciPlan, Probe, Resources
from mldeploy.plan.gateway import container_gateway
from mldeploy.plan.naming import dns_part, hash_suffix
from mldeploy.plan.scorer import UNBATCHED, WorkerLoad, scorer_env
from mldeploy.plan.timeouts import NGINX_PROBE_FAILURES, PROBE_PERIOD_S, probe_failure_threshold
from mldeploy.targets.aci.settings import AciServiceSettings


def default_dns_name_label(stack: str, service: str, seed: str) -> str:
    """`<service>-<stack>-<6 hex>`: unique per resource group, stable across runs, <= 63 chars."""
    return f"{service[:40]}-{dns_part(stack)[:15].strip('-')}-{hash_suffix(seed, stack, service)}"


def gateway_port(tls: bool) -> int:
    return 443 if tls else 80


def plan_aci(name: str, service: AciServiceSettings, *, stack: str, resource_group: str,
             load: WorkerLoad = UNBATCHED, env: tuple[tuple[str, str], ...] = ()) -> AciPlan:
    """The plan of service `name`; `resource_group` seeds its default DNS label; `load`: how its
    image's scorer workers take requests (plan/batching.py service_load); `env`: the stack's
    environmentVariables of its scorer (plan/scorer.py service_env)."""
    tls = service.tls is not None
    scheme = "https" if tls else "http"
    port = gateway_port(tls)
    gateway = container_gateway(service, listen_port=port, load=load)
    # A probe that reaches the scorer's GET / waits behind busy sync workers: its window outlasts
    # the scorer's limit and a batch's wait (plan/timeouts.py), or ACI restarts the scorer in a long request.
    busy = probe_failure_threshold(service.scoring_timeout_ms, PROBE_PERIOD_S, wait_ms=load.wait_ms)
    return AciPlan(
        component=f"aci-{name}",
        dns_name_label=service.dns_name_label or default_dns_name_label(stack, name, resource_group),
        scheme=scheme,
        gateway_port=port,
        # The gateway takes its share of the group (config checks the group leaves the scorer room).
        scorer=Resources(round(service.cpu_cores - ACI_GATEWAY_CPU, 2),
                         round(service.memory_gb - ACI_GATEWAY_MEMORY_GB, 1)),
        gateway_resources=Resources(ACI_GATEWAY_CPU, ACI_GATEWAY_MEMORY_GB),
        # ACI stops the group's containers at once (no preStop hook): the scorer serves on until
        # the gateway beside it has finished (scoring/scorer_host.py wait_for_gateway).
        scorer_env=(*scorer_env(service, load), (DRAIN_GATEWAY_PORT_ENV, str(port))),
        user_env=env,
        app_insights=service.app_insights_enabled,
        # The scorer's only health route: 200 once init() has finished.
        scorer_liveness=Probe("/", SCORER_PORT, "http", 30, busy),
        scorer_readiness=Probe("/", SCORER_PORT, "http", 5, busy),
        gateway_liveness=Probe(LIVENESS_PATH, port, scheme, 5, NGINX_PROBE_FAILURES),
        gateway_readiness=Probe(READINESS_PATH, port, scheme, 5, busy),  # the scorer's GET / through nginx
        gateway=gateway,
    )

