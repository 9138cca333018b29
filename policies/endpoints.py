"""Policies for Azure ML v2 online endpoints: traffic and mirror rules, request timeouts, and
instances of production deployments. They read the resources as declared (wire-form props), so
they hold for any program, not only mldeploy's: the traffic split may sit on the endpoint itself
(`properties.traffic`) or on mldeploy's EndpointTraffic resource.

The limits (traffic sum, mirror share, request timeouts) are plan/endpoint.py's, where their
sources are cited; the stack file is refused at load for the same rules, and these policies
hold them for resources declared by any program. Mirror to one deployment only, never to one
with live traffic, not on Kubernetes endpoints: how-to-safely-rollout-online-endpoints.md.
Production instances: reference-managed-online-endpoints-vm-sku-list.md ("We recommend having
more than 3 instances for deployments in production scenarios").
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from pulumi_policy import Policy, ResourceValidationPolicy, StackValidationPolicy

from mldeploy.plan.endpoint import MAX_MIRROR_PERCENT, MAX_REQUEST_TIMEOUT_MS, TOTAL_TRAFFIC
from mldeploy.policies import config
from mldeploy.policies.reading import get

Report = Callable[..., None]

ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
BATCH_DEPLOYMENT = "azure-native:machinelearningservices:BatchDeployment"
TRAFFIC = "pulumi-python:dynamic/mldeploy:EndpointTraffic"
AUTOSCALE = "azure-native:monitor:AutoscaleSetting"
# The limits are plan/endpoint.py's (their one home, with their sources), keyed by the
# deployment's endpointComputeType, as the resources declare it.
MAX_TIMEOUT_MS = MAX_REQUEST_TIMEOUT_MS

SETTINGS = {
    "endpoint-traffic-sums-to-100": {},
    "endpoint-mirror-limits": {},
    "endpoint-mirror-managed-only": {},
    "endpoint-request-timeout": {},
    "production-endpoint-instances": {
        "productionStacks": config.PRODUCTION_STACKS,
        "minimumInstances": {"type": "integer", "minimum": 1, "default": 3,
                             "description": "Fewest instances of a production deployment taking live traffic."},
    },
    "autoscale-setting-bounds": {},
    "endpoint-deployments-limit": {
        "maximumDeployments": {"type": "integer", "minimum": 1, "default": 20,
                               "description": "Most deployments one online endpoint may hold (Azure ML's "
                                              "default limit; raise it here once Azure raised yours)."},
    },
    "production-azureml-extension-tls": {"productionStacks": config.PRODUCTION_STACKS},
}


def _split(resource_type: str, props: Mapping[str, Any]) -> tuple[dict | None, dict | None]:
    """(traffic, mirror) a resource declares, or None where it declares none."""
    if resource_type == TRAFFIC:
        return props.get("traffic"), props.get("mirrorTraffic")
    if resource_type == ENDPOINT:
        return get(props, "properties", "traffic"), get(props, "properties", "mirrorTraffic")
    return None, None


def endpoint_traffic_sums_to_100(args, report: Report) -> None:
    traffic, _ = _split(args.resource_type, args.props)
    if not traffic:
        return
    total = sum(int(v) for v in traffic.values())
    if total != TOTAL_TRAFFIC:
        shares = ", ".join(f"{k} {int(v)}" for k, v in sorted(traffic.items()))
        report(f"{args.name}: traffic sums to {total} ({shares}); an online endpoint's traffic sums to {TOTAL_TRAFFIC}")


def endpoint_mirror_limits(args, report: Report) -> None:
    traffic, mirror = _split(args.resource_type, args.props)
    mirror = {k: int(v) for k, v in (mirror or {}).items() if int(v)}
    if not mirror:
        return
    total = sum(mirror.values())
    if total > MAX_MIRROR_PERCENT:
        report(f"{args.name}: mirrors {total} % of the traffic; Azure mirrors at most {MAX_MIRROR_PERCENT} %")
    if len(mirror) > 1:
        report(f"{args.name}: mirrors to {', '.join(sorted(mirror))}; Azure mirrors to one deployment only")
    for name in sorted(mirror):
        if int((traffic or {}).get(name, 0)):
            report(f"{args.name}: deployment {name!r} receives live and mirrored traffic; a deployment "
                   "receives one or the other")


def endpoint_mirror_managed_only(args, report: Report) -> None:
    """Mirrored traffic on an endpoint that runs on a Kubernetes compute is refused."""
    kubernetes = {r.urn for r in args.resources if r.resource_type == ENDPOINT and get(r.props, "properties", "compute")}
    for r in args.resources:
        _, mirror = _split(r.resource_type, r.props)
        if not any(int(v) for v in (mirror or {}).values()):
            continue
        on_k8s = r.urn in kubernetes if r.resource_type == ENDPOINT else any(
            d.urn in kubernetes for d in _endpoints_of(r, args.resources))
        if on_k8s:
            report(f"{r.name}: mirrored traffic is not supported on Kubernetes online endpoints", r.urn)


def _endpoints_of(traffic_resource, resources) -> list:
    """The endpoint an EndpointTraffic resource sets (by its endpointId's last segment)."""
    endpoint_id = str(traffic_resource.props.get("endpointId") or "")
    last = endpoint_id.rstrip("/").rsplit("/", 1)[-1]
    return [r for r in resources if r.resource_type == ENDPOINT and last and last in (r.name, r.props.get("endpointName"))]


def endpoint_request_timeout(args, report: Report) -> None:
    if args.resource_type != DEPLOYMENT:
        return
    props = args.props.get("properties") or {}
    kind = props.get("endpointComputeType")
    timeout = get(props, "requestSettings", "requestTimeout")
    limit = MAX_TIMEOUT_MS.get(kind)
    if limit is None or not isinstance(timeout, str):
        return
    ms = _iso_ms(timeout)
    if ms is not None and ms > limit:
        report(f"{args.name}: requestTimeout {timeout} is over {limit // 1000} s, the longest a "
               f"{kind.lower()} online deployment allows")


def _iso_ms(duration: str) -> float | None:
    """Milliseconds of a `PT…S` / `PT…M` duration (the forms the API uses for timeouts)."""
    text = duration.upper()
    if not text.startswith("PT"):
        return None
    total, number = 0.0, ""
    for ch in text[2:]:
        if ch.isdigit() or ch == ".":
            number += ch
            continue
        if not number:
            return None
        total += float(number) * {"H": 3_600_000, "M": 60_000, "S": 1000}.get(ch, float("nan"))
        number = ""
    return None if number or total != total else total


def _endpoint_and_deployment(resource_id: Any) -> tuple[str | None, str | None]:
    """(endpoint, deployment) an ARM id names: `…/onlineEndpoints/<endpoint>[/deployments/<name>]`
    (REST spec paths; ARM compares ids case-insensitively), or (None, its last segment)."""
    parts = str(resource_id or "").strip("/").split("/")
    lower = [p.lower() for p in parts]
    if "onlineendpoints" in lower[:-1]:
        i = lower.index("onlineendpoints")
        named = i + 3 < len(parts) and lower[i + 2] == "deployments"
        return parts[i + 1], parts[i + 3] if named else None
    return None, parts[-1] or None


def _keyed(keys: Mapping[tuple[str | None, str], Any], endpoint: str | None, *names: str) -> Any:
    """The value for a deployment of `endpoint`: its own key, else one that names no endpoint."""
    for name in names:
        for key in ((endpoint, name), (None, name)):
            if key in keys:
                return keys[key]
    if endpoint is None:  # a deployment that names no endpoint: any endpoint's deployment of its name
        return next((v for (_, n), v in keys.items() if n in names), None)
    return None


def production_endpoint_instances(args, report: Report) -> None:
    """In production, every deployment taking live traffic keeps at least `minimumInstances`.
    Traffic and autoscale floors count per endpoint: two endpoints may each have a `blue`."""
    cfg = config.settings("production-endpoint-instances", args.get_config())
    stack, production = config.production("production-endpoint-instances", args)
    if not production:
        return
    minimum = int(cfg["minimumInstances"])
    live: dict[tuple[str | None, str], bool] = {}
    for r in args.resources:
        traffic, _ = _split(r.resource_type, r.props)
        endpoint = (_endpoint_and_deployment(r.props.get("endpointId"))[0] if r.resource_type == TRAFFIC
                    else r.props.get("endpointName"))
        live.update({(endpoint, k): True for k, v in (traffic or {}).items() if int(v)})
    # Autoscale settings by their target, the deployment's id.
    floors = {_endpoint_and_deployment(r.props.get("targetResourceUri")): _autoscale_min(r.props)
              for r in args.resources if r.resource_type == AUTOSCALE}
    floors = {(e, d): v for (e, d), v in floors.items() if d}
    for r in args.resources:
        if r.resource_type != DEPLOYMENT:
            continue
        name = r.props.get("deploymentName") or r.name
        endpoint = r.props.get("endpointName")
        if not _keyed(live, endpoint, name):
            continue  # a mirror or staged deployment serves no client
        scale = get(r.props, "properties", "scaleSettings") or {}
        floor = _keyed(floors, endpoint, name, r.name)
        if scale.get("scaleType") == "TargetUtilization":
            fewest, what = int(scale.get("minInstances", 1)), "scaleSettings.minInstances"
        elif floor is not None:
            fewest, what = floor, "its autoscale setting's minimum"
        else:
            fewest, what = int(get(r.props, "sku", "capacity") or 1), "sku.capacity (instances)"
        if fewest < minimum:
            report(f"deployment {name!r} ({r.name}) takes live traffic in production stack {stack!r} with "
                   f"{fewest} instance(s) ({what}); Microsoft advises at least {minimum} in production",
                   r.urn)


def _autoscale_min(props: Mapping[str, Any]) -> int:
    minimums = [int(get(p, "capacity", "minimum") or 0) for p in props.get("profiles") or []]
    return min(minimums) if minimums else 0


# "Number of deployments per endpoint | 20 | Yes (allows exception) | All types of endpoints"
# (MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-manage-quotas.md, "Azure Machine Learning
# online endpoints and batch endpoints", ms.date 01/27/2026, read 2026-12-06): Azure refuses the 21st
# deployment of an endpoint unless the product team raised the limit, so the pack's setting can raise it too.
def endpoint_deployments_limit(args, report: Report) -> None:
    """No online or batch endpoint holds more deployments than Azure ML allows (`maximumDeployments`)."""
    limit = int(config.settings("endpoint-deployments-limit", args.get_config())["maximumDeployments"])
    by_endpoint: dict[tuple[str, str], list[str]] = {}
    for r in args.resources:
        if r.resource_type in (DEPLOYMENT, BATCH_DEPLOYMENT):
            kind = "Online" if r.resource_type == DEPLOYMENT else "Batch"
            endpoint = (kind, str(r.props.get("endpointName") or "?"))
            by_endpoint.setdefault(endpoint, []).append(str(r.props.get("deploymentName") or r.name))
    for (kind, endpoint), names in sorted(by_endpoint.items()):
        if len(names) > limit:
            report(f"{kind} endpoint {endpoint!r} would hold {len(names)} deployments ({', '.join(sorted(names))}); "
                   f"Azure ML allows {limit} per endpoint: retire old ones (drop them from the stack file) or "
                   "ask Azure for a higher limit and set this policy's maximumDeployments to it")


EXTENSION = "azure-native:kubernetesconfiguration:Extension"
AZUREML_EXTENSION_TYPE = "microsoft.azureml.kubernetes"


def production_azureml_extension_tls(args, report: Report) -> None:
    """In production, the Azure ML extension's inference router serves HTTPS only: its setting
    allowInsecureConnections ("True or False, default False. Can be set to True to use inference
    HTTP endpoints for development or test purposes": learn.microsoft.com/azure/machine-learning/
    how-to-deploy-kubernetes-extension) stays off, and the keys of every Kubernetes online
    endpoint on the cluster never cross the network in plain text."""
    stack, production = config.production("production-azureml-extension-tls", args)
    if not production:
        return
    for r in args.resources:
        if r.resource_type != EXTENSION or str(r.props.get("extensionType", "")).lower() != AZUREML_EXTENSION_TYPE:
            continue
        insecure = get(r.props, "configurationSettings", "allowInsecureConnections")
        if isinstance(insecure, str) and insecure.strip().lower() == "true":
            report(f"Azure ML extension {r.name}: allowInsecureConnections is True in production stack {stack!r}: "
                   "its Kubernetes online endpoints answer plain HTTP, keys included; give the service a tls "
                   "certificate and key (the extension's sslCertPemFile/sslKeyPemFile)", r.urn)


def autoscale_setting_bounds(args, report: Report) -> None:
    if args.resource_type != AUTOSCALE:
        return
    for i, profile in enumerate(args.props.get("profiles") or []):
        cap = profile.get("capacity") or {}
        low, high, default = (int(cap.get(k, 0)) for k in ("minimum", "maximum", "default"))
        if low > high:
            report(f"{args.name} profiles[{i}]: capacity.minimum ({low}) must be <= capacity.maximum ({high})")
        elif not low <= default <= high:
            report(f"{args.name} profiles[{i}]: capacity.default ({default}) must be within {low}-{high}")



POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        name="endpoint-traffic-sums-to-100", validate=endpoint_traffic_sums_to_100,
        description=f"An online endpoint's traffic split sums to {TOTAL_TRAFFIC} (v2 endpoints)."),
    ResourceValidationPolicy(
        name="endpoint-mirror-limits", validate=endpoint_mirror_limits,
        description=f"Mirrored traffic: at most {MAX_MIRROR_PERCENT} %, to one deployment, never one that takes "
                    "live traffic."),
    StackValidationPolicy(
        name="endpoint-mirror-managed-only", validate=endpoint_mirror_managed_only,
        description="Mirrored traffic only on managed online endpoints (Kubernetes endpoints do not support it)."),
    ResourceValidationPolicy(
        name="endpoint-request-timeout", validate=endpoint_request_timeout,
        description=f"Online deployments' request timeout: at most {MAX_TIMEOUT_MS['Managed'] // 1000} s managed, "
                    f"{MAX_TIMEOUT_MS['Kubernetes'] // 1000} s Kubernetes."),
    StackValidationPolicy(
        name="production-endpoint-instances", validate=production_endpoint_instances,
        description="In production, every online deployment taking live traffic has at least 3 instances "
                    "(Microsoft's advice)."),
    ResourceValidationPolicy(
        name="autoscale-setting-bounds", validate=autoscale_setting_bounds,
        description="Azure Monitor autoscale settings: minimum <= default <= maximum."),
    StackValidationPolicy(
        name="endpoint-deployments-limit", validate=endpoint_deployments_limit,
        description="An online or batch endpoint holds at most 20 deployments (Azure ML's default limit; "
                    "maximumDeployments raises it)."),
    StackValidationPolicy(
        name="production-azureml-extension-tls", validate=production_azureml_extension_tls,
        description="In production, the Azure ML extension on AKS serves HTTPS only (allowInsecureConnections off)."),
]
