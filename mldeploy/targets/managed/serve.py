"""`mldeploy serve` of a v2 online endpoint (managed or Kubernetes): every deployment's scorer
behind one gateway answering as the endpoint's front door does."""
from mldeploy.plan.serve import EndpointServePlan, plan_serve_endpoint


def serve_plan(name: str, endpoint, stack, logs_command: str) -> EndpointServePlan:
    return plan_serve_endpoint(name, endpoint, logs_command=logs_command)


def deployments(endpoint) -> tuple[str, ...]:
    return tuple(sorted(endpoint.deployments))
