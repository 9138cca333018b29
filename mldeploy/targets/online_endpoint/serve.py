"""`mldeploy serve` of a v2 online endpoint (managed or Kubernetes): every deployment's scorer
behind one gateway answering as the endpoint's front door does; or (`--containers`) each
deployment's image as a container behind that front door."""
from mldeploy.plan.batching import image_loads
from mldeploy.plan.scorer import image_envs
from mldeploy.plan.serve import EndpointServePlan, plan_serve_endpoint
from mldeploy.targets.serving import EndpointContainers, listen_address
from mldeploy.targets.target import LocalServe


def serve_plan(name: str, endpoint, stack, logs_command: str) -> EndpointServePlan:
    return plan_serve_endpoint(name, endpoint, logs_command=logs_command, loads=image_loads(stack),
                               image_env=image_envs(stack.images))


def local_runner(name: str, endpoint, serve: LocalServe):
    """Every deployment's scorer and the front door (runtime/endpoint_local.py LocalEndpoint)."""
    from mldeploy.runtime.endpoint_local import LocalEndpoint

    serve.refuse_options("an online endpoint: its deployments set maxConcurrentRequestsPerInstance")
    plan = serve_plan(name, endpoint, serve.stack, serve.logs_command)
    port = serve.port or 0
    assets = {i: serve.prepared(i) for i in plan.images}
    routing = plan.gateway.endpoint
    split = ", ".join(f"{r.name} {r.traffic_percent} %" + (f" (mirror {r.mirror_percent} %)" if r.mirror_percent
                                                           else "") for r in routing.routes)
    door, kind = routing.front_door, endpoint.target
    serve.info(f"starting {name} ({kind} online endpoint): {split}; one scorer per deployment "
               f"behind a gateway on {listen_address(port)}, answering as {kind} does: "
               f"{door.timeout_status} past requestTimeoutMs, {door.capacity_status} beyond "
               f"{door.admitted_per_max_concurrent} × maxConcurrentRequestsPerInstance, "
               f"{door.model_error_status} for {door.model_error_case}")
    return LocalEndpoint(plan, {i: a[0] for i, a in assets.items()}, {i: a[1] for i, a in assets.items()},
                         serve.run_dir, port=port)


def containers(out, name: str, endpoint, stack, images, tls) -> EndpointContainers:
    """serve --containers: the deployments' images as synthesized, behind the front door."""
    return EndpointContainers(plan_serve_endpoint(name, endpoint, loads=image_loads(stack),
                                                  image_env=image_envs(stack.images)))


def deployments(endpoint) -> tuple[str, ...]:
    return tuple(sorted(endpoint.deployments))
