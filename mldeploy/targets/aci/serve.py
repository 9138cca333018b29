"""`mldeploy serve` of an ACI service: its scorer and gateway as processes, or (`--containers`)
its container group as synthesized."""
from pathlib import Path

from mldeploy.plan.batching import service_load
from mldeploy.plan.serve import ServePlan, plan_serve


def serve_plan(name: str, service, stack, logs_command: str) -> ServePlan:
    return plan_serve(name, service, production=stack.production, load=service_load(stack.images, service))


def containers(out: Path, name: str, service, images, tls):
    """The container group as synthesized (its gateway listens on the group's public port)."""
    from mldeploy.runtime.synthesized_pod import synthesized_group

    group = synthesized_group(out, name, images, tls=tls)
    return group, group.port
