"""`mldeploy serve` of an AKS (or FPGA) service: its scorer and gateway as processes, admitting
replicaMaxConcurrentRequests at once as a pod does; or (`--containers`) its pod as synthesized."""
from pathlib import Path

from mldeploy.plan.batching import service_load
from mldeploy.plan.scorer import service_env
from mldeploy.plan.serve import ServePlan, plan_serve
from mldeploy.targets.serving import PodContainers, scorer_runner
from mldeploy.targets.target import LocalServe


def serve_plan(name: str, service, stack, logs_command: str) -> ServePlan:
    return plan_serve(name, service, production=stack.production, max_concurrent=service.replica_max_concurrent_requests,
                      load=service_load(stack.images, service),
                      environment=service_env(stack.images, service))


def one_scorer(name: str, service, serve: LocalServe):
    """The service's scorer behind its gateway, admitting replicaMaxConcurrentRequests at once."""
    return scorer_runner(name, service.image, serve_plan(name, service, serve.stack, serve.logs_command), serve)


def local_runner(name: str, service, serve: LocalServe):
    """A service with a canary: both variants and the split (mldeploy/targets/aks/local.py); else one scorer."""
    if service.canary is None:
        return one_scorer(name, service, serve)
    from mldeploy.targets.aks.local import canary_runner
    return canary_runner(name, service, serve)


def variant_names(service) -> tuple[str, ...]:
    """What `logs --deployment` names: a canary's two variants (the pods' `variant` label, plan.py;
    served locally each in its own folder, local.py); a service without a canary has none to choose."""
    if service.canary is None:
        return ()
    from mldeploy.targets.aks.local import canary_variants
    return tuple(canary_variants(service))


def containers(out: Path, name: str, service, stack, images, tls) -> PodContainers:
    """The service's pod as synthesized, and its gateway container's port."""
    from mldeploy.runtime.synthesized_pod import synthesized_pod

    pod = synthesized_pod(out, service.namespace or name, name, images, tls=tls)
    gateway = next(c for c in pod.inputs.spec["containers"] if c["name"] == "gateway")
    return PodContainers(pod, next(p["containerPort"] for p in gateway["ports"] if p["name"] == "gateway"))
