"""`mldeploy serve` of a local service: its plan, on the service's own port."""
from mldeploy.plan.batching import service_load
from mldeploy.plan.serve import ServePlan, plan_serve


def serve_plan(name: str, service, stack, logs_command: str) -> ServePlan:
    return plan_serve(name, service, production=stack.production, port=service.port,
                      load=service_load(stack.images, service))
