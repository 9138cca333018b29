"""`mldeploy serve` of a v2 online endpoint (managed or Kubernetes): every deployment's scorer
behind one gateway answering as the endpoint's front door does."""
from mldeploy.plan.batching import image_loads
from mldeploy.plan.serve import EndpointServePlan, plan_serve_endpoint


def serve_plan(name: str, endpoint, stack, logs_command: str) -> EndpointServePlan:
    return plan_serve_endpoint(name, endpoint, logs_command=logs_command, loads=image_loads(stack))


def deployments(endpoint) -> tuple[str, ...]:
    return tuple(sorted(endpoint.deployments))
