"""`mldeploy serve` of a local service: its plan, on the service's own port, run by one scorer
behind one gateway."""
from mldeploy.plan.batching import service_load
from mldeploy.plan.scorer import service_env
from mldeploy.plan.serve import ServePlan, plan_serve
from mldeploy.targets.serving import scorer_runner
from mldeploy.targets.target import LocalServe


def serve_plan(name: str, service, stack, logs_command: str) -> ServePlan:
    return plan_serve(name, service, production=stack.production, port=service.port,
                      load=service_load(stack.images, service), environment=service_env(stack.images, service))


def local_runner(name: str, service, serve: LocalServe):
    return scorer_runner(name, service.image, serve_plan(name, service, serve.stack, serve.logs_command), serve)
