"""`mldeploy serve` of an ACI service: its scorer and gateway as processes, or (`--containers`)
its container group as synthesized."""
from pathlib import Path

from mldeploy.plan.batching import service_load
from mldeploy.plan.scorer import service_env
from mldeploy.plan.serve import ServePlan, plan_serve
from mldeploy.targets.serving import PodContainers, scorer_runner
from mldeploy.targets.target import LocalServe


def serve_plan(name: str, service, stack, logs_command: str) -> ServePlan:
    return plan_serve(name, service, production=stack.production, load=service_load(stack.images, service),
                      environment=service_env(stack.images, service))


def local_runner(name: str, service, serve: LocalServe):
    return scorer_runner(name, service.image, serve_plan(name, service, serve.stack, serve.logs_command), serve)


def containers(out: Path, name: str, service, stack, images, tls) -> PodContainers:
    """The container group as synthesized (its gateway listens on the group's public port)."""
    from mldeploy.runtime.synthesized_pod import synthesized_group

    group = synthesized_group(out, name, images, tls=tls)
    return PodContainers(group, group.port)
