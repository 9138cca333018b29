"""Decide everything about one local service under `pulumi up` (Docker) before anything is
declared (its LocalPlan, mldeploy/plan/local.py). Pure: LocalService declares what this says.
(`mldeploy serve` runs the same pair as processes: runtime/local.py, with the same gateway rules
from plan/gateway.py.)"""
from __future__ import annotations

from mldeploy.contract import GATEWAY_IMAGE, GATEWAY_PORT, LIVENESS_PATH, SCORE_PATH, SCORER_PORT, SWAGGER_PATH
from mldeploy.plan.gateway import Upstream, container_gateway
from mldeploy.plan.local import SCORER_ALIAS, HealthCheck, LocalPlan
from mldeploy.plan.scorer import UNBATCHED, WorkerLoad, scorer_env, scorer_memory_mb
from mldeploy.targets.local.settings import LocalServiceSettings


def plan_local(name: str, service: LocalServiceSettings, *, stack: str, tag: str, context_dir: str,
               load: WorkerLoad = UNBATCHED, env: tuple[tuple[str, str], ...] = ()) -> LocalPlan:
    """The plan of service `name`, whose image (`tag`) is built from `context_dir`; `load`: how its
    image's scorer workers take requests (plan/batching.py service_load); `env`: the stack's
    environmentVariables of its scorer (plan/scorer.py service_env)."""
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
        scorer_env=(*scorer_env(service, load), *env),
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
