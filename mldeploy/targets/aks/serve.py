"""`mldeploy serve` of an AKS (or FPGA) service: its scorer and gateway as processes, admitting
replicaMaxConcurrentRequests at once as a pod does; or (`--containers`) its pod as synthesized."""
from pathlib import Path

from mldeploy.plan.batching import service_load
from mldeploy.plan.serve import ServePlan, plan_serve


def serve_plan(name: str, service, stack, logs_command: str) -> ServePlan:
    return plan_serve(name, service, production=stack.production, max_concurrent=service.replica_max_concurrent_requests,
                      load=service_load(stack.images, service))


def containers(out: Path, name: str, service, images, tls):
    """The service's pod as synthesized, and its gateway container's port."""
    from mldeploy.runtime.synthesized_pod import synthesized_pod

    pod = synthesized_pod(out, service.namespace or name, name, images, tls=tls)
    gateway = next(c for c in pod.inputs.spec["containers"] if c["name"] == "gateway")
    return pod, next(p["containerPort"] for p in gateway["ports"] if p["name"] == "gateway")
