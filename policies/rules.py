"""mldeploy's policies: the guide's rules and production hygiene, over resource types and props.
The rules every stack's resources answer to are here; a target's own rules (ACI, AKS clusters,
online endpoints) are in their module of this package and registered in the target table.

Each validate function takes Pulumi's args (ResourceValidationArgs or StackValidationArgs) and a
report callback, so the same code runs under `pulumi preview --policy-pack policies`, under
`mldeploy synth` (mldeploy.synth.policy) and in unit tests with hand-built args.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from pulumi_policy import Policy, ResourceValidationPolicy, StackValidationPolicy

from mldeploy.plan.tags import ADMIN_USER_NEED_TAG, AUTH_TAG, SERVICE_TAG, SPLIT_TAG, TLS_TAG
from mldeploy.policies import config, exposure, hardening, monitoring, serving
from mldeploy.policies.reading import (ACI, AGENT_POOL, CLUSTER, CONFIG_MAP, CONTAINER_APP, REGISTRY, containers, get,
                                       is_workload, supports_tags, tags_of)

Report = Callable[..., None]


# -- production services have auth and TLS on -----------------------------------------------

_CLAIMS = {serving.AUTH: (AUTH_TAG, "authentication"), serving.TLS: (TLS_TAG, "TLS")}


def production_auth_and_tls(args, report: Report) -> None:
    """The markers declare auth and TLS on; the resources (policies/serving.py) must do it."""
    stack, production = config.production("production-auth-and-tls", args)
    if not production:
        return
    seen: dict[str, tuple[str, str]] = {}
    deployed = serving.Stack(args.resources)
    for r in args.resources:
        tags = tags_of(r.props)
        service = tags.get(SERVICE_TAG)
        if service is None:
            if is_workload(r.resource_type):
                report(f"{r.name}: a serving workload without the {SERVICE_TAG} marker, so its auth and "
                       f"TLS cannot be checked in production stack {stack!r}; tag it with the service's "
                       "markers (Foundation.tags() in mldeploy adds them)", r.urn)
            continue
        # Only what a marker claims is verified: a marker saying "disabled" is reported below.
        for f in deployed.verify(r, auth=tags.get(AUTH_TAG) == "enabled", tls=tags.get(TLS_TAG) == "enabled"):
            markers = " and ".join(_CLAIMS[a][0] for a in f.aspects)
            what = " and ".join(_CLAIMS[a][1] for a in f.aspects)
            verb = "say" if len(f.aspects) > 1 else "says"
            report(f"service {service!r}: {markers} {verb} {what} {'are' if len(f.aspects) > 1 else 'is'} on, "
                   f"but {f.problem}", f.urn)
        for tag, what, fix in ((AUTH_TAG, "authentication", "set authEnabled: true with keys in secret config"),
                               (TLS_TAG, "TLS", "set tls.certificate and tls.key (secret config)")):
            value = tags.get(tag)
            if value == "enabled" or (service, tag) in seen:
                continue
            seen[(service, tag)] = r.urn
            if value is None:
                report(f"service {service!r} ({r.name}) does not declare whether {what} is on ({tag} is "
                       f"missing) in production stack {stack!r}", r.urn)
            else:
                report(f"service {service!r} has {what} {value} in production stack {stack!r}: {fix}", r.urn)


def gateway_certificate_mounted(args, report: Report) -> None:
    """Every stack: a gateway listening with ssl gets the certificate and key its nginx.conf names."""
    deployed = serving.Stack(args.resources)
    for r in args.resources:
        for f in deployed.unserved_certificates(r):
            report(f"{r.name}: {f.problem} (nginx would not start: the pod would crash-loop)", f.urn)


# -- keys never in plain text ----------------------------------------------------------------

def no_plain_text_keys(args, report: Report) -> None:
    cfg = config.settings("no-plain-text-keys", args.get_config())
    pattern = re.compile(cfg["secretNamePattern"])
    suffixes = tuple(s.upper() for s in cfg["ignoredNameSuffixes"])

    def secret_like(name: Any) -> bool:
        return isinstance(name, str) and bool(pattern.search(name)) and not name.upper().endswith(suffixes)

    for where, c in containers(args.resource_type, args.props):
        if args.resource_type == ACI:
            for var in c.get("environmentVariables") or []:
                if secret_like(var.get("name")) and var.get("value") not in (None, ""):
                    report(f"{where}: environment variable {var['name']} holds a secret in plain `value`; "
                           "use `secureValue` from a Pulumi secret")
        else:
            # A container app's env takes `secretRef` (a name in configuration.secrets) instead.
            fix = "`secretRef` to the app's configuration.secrets" if args.resource_type == CONTAINER_APP \
                else "a Kubernetes Secret (`valueFrom.secretKeyRef`)"
            for var in c.get("env") or []:
                if secret_like(var.get("name")) and var.get("value") not in (None, ""):
                    report(f"{where}: environment variable {var['name']} holds a secret in plain `value`; "
                           f"reference {fix}")
    if args.resource_type == CONFIG_MAP:
        for key in sorted((args.props.get("data") or {})):
            if secret_like(key):
                report(f"ConfigMap key {key} looks like a secret; put it in a Kubernetes Secret")


# -- autoscale bounds ------------------------------------------------------------------------

def _bounds(report: Report, where: str, low: Any, high: Any, low_name: str, high_name: str) -> None:
    if low is None or high is None:
        missing = low_name if low is None else high_name
        report(f"{where}: autoscaling is on but {missing} is not set")
    elif low > high:
        report(f"{where}: {low_name} ({low:g}) must be <= {high_name} ({high:g})")


def _utilization(report: Report, where: str, value: Any, name: str) -> None:
    if value is not None and not 1 <= value <= 100:
        report(f"{where}: {name} ({value:g}) must be within 1-100 (percent)")


def autoscale_bounds(args, report: Report) -> None:
    t, p = args.resource_type, args.props
    if t == CLUSTER:
        for i, pool in enumerate(p.get("agentPoolProfiles") or []):
            if pool.get("enableAutoScaling"):
                _bounds(report, f"agentPoolProfiles[{i}]", pool.get("minCount"), pool.get("maxCount"),
                        "minCount", "maxCount")
    elif t == AGENT_POOL and p.get("enableAutoScaling"):
        _bounds(report, args.name, p.get("minCount"), p.get("maxCount"), "minCount", "maxCount")
    elif t.startswith("kubernetes:autoscaling/") and t.endswith(":HorizontalPodAutoscaler"):
        spec = p.get("spec") or {}
        # Kubernetes defaults minReplicas to 1; maxReplicas is required.
        _bounds(report, args.name, spec.get("minReplicas", 1), spec.get("maxReplicas"),
                "minReplicas", "maxReplicas")
        _utilization(report, args.name, spec.get("targetCPUUtilizationPercentage"),
                     "targetCPUUtilizationPercentage")
        for i, metric in enumerate(spec.get("metrics") or []):
            # autoscaling/v2 MetricSpec: utilization targets sit under `resource` or
            # `containerResource` (the project's own HPAs scale on the scorer container's CPU);
            # Kubernetes API reference, HorizontalPodAutoscaler v2 "MetricSpec".
            for source in ("resource", "containerResource"):
                target = get(metric, source, "target") or {}
                _utilization(report, f"{args.name} metrics[{i}].{source}", target.get("averageUtilization"),
                             "averageUtilization")
    elif t.startswith("kubernetes:keda.sh/") and t.endswith(":ScaledObject"):
        spec = p.get("spec") or {}
        _bounds(report, args.name, spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100),
                "minReplicaCount", "maxReplicaCount")
    elif t == "azure-native:machinelearningservices:OnlineDeployment":
        scale = get(p, "properties", "scaleSettings") or {}  # the wire key is `properties`
        if scale.get("scaleType") == "TargetUtilization":
            _bounds(report, args.name, scale.get("minInstances", 1), scale.get("maxInstances", 1),
                    "minInstances", "maxInstances")
            _utilization(report, args.name, scale.get("targetUtilizationPercentage"), "targetUtilizationPercentage")


# -- registry admin user ---------------------------------------------------------------------

def registry_admin_user_disabled(args, report: Report) -> None:
    if args.resource_type != REGISTRY or not args.props.get("adminUserEnabled"):
        return  # Azure's default is disabled
    allowed = config.settings("registry-admin-user-disabled", args.get_config())["allowedNeeds"]
    need = tags_of(args.props).get(ADMIN_USER_NEED_TAG)
    if need not in allowed:
        declared = f"its {ADMIN_USER_NEED_TAG} tag is {need!r}" if need else f"no {ADMIN_USER_NEED_TAG} tag declares why"
        report(f"registry {args.name} enables the admin user and {declared}; use managed identities "
               f"(AcrPull), or declare one of {allowed} where a device cannot use them (IoT Edge)")


# -- images by digest in production ----------------------------------------------------------

def production_images_by_digest(args, report: Report) -> None:
    stack, production = config.production("production-images-by-digest", args)
    if not production:
        return
    for r in args.resources:
        for where, c in containers(r.resource_type, r.props):
            image = c.get("image")
            if not image:
                report(f"{r.name} {where}: no image set", r.urn)
            elif "@sha256:" not in str(image):
                report(f"{r.name} {where}: image {image} is referenced by tag in production stack {stack!r}; "
                       "reference it by digest (<repo>@sha256:...) so it cannot change under the deployment",
                       r.urn)


# -- Kubernetes requests and limits ----------------------------------------------------------

def kubernetes_requests_and_limits(args, report: Report) -> None:
    if not args.resource_type.startswith("kubernetes:"):
        return
    cfg = config.settings("kubernetes-requests-and-limits", args.get_config())
    for where, c in containers(args.resource_type, args.props):
        for kind in ("requests", "limits"):
            have = get(c, "resources", kind) or {}
            missing = [r for r in cfg[kind] if have.get(r) in (None, "")]
            if missing:
                report(f"{where}: resources.{kind} has no {', '.join(missing)}; set both requests and limits "
                       "so the scheduler and the autoscaler have numbers to work with")


# -- tags ------------------------------------------------------------------------------------

def required_tags(args, report: Report) -> None:
    if not supports_tags(args.resource_type):
        return
    cfg = config.settings("required-tags", args.get_config())
    tags = args.props.get("tags") or {}
    required = list(cfg["requiredTags"])
    # A resource of one model's service or batch job also says which model and version it serves;
    # one that splits traffic between deployments (an online endpoint) names none: they each do.
    if (SERVICE_TAG in tags and not tags.get(SPLIT_TAG)) or any(t in tags for t in cfg["modelTags"]):
        required += [t for t in cfg["modelTags"] if t not in required]
    missing = [t for t in required if not tags.get(t)]
    if missing:
        report(f"{args.name} ({args.resource_type}) is missing tags: {', '.join(missing)}")


POLICIES: list[Policy] = [
    StackValidationPolicy(
        name="production-auth-and-tls", validate=production_auth_and_tls,
        description="Scoring services in production have authentication and TLS on: declared by their "
                    "markers and enforced by their gateway (key check on /score, TLS listeners, Secrets mounted)."),
    StackValidationPolicy(
        name="gateway-certificate-mounted", validate=gateway_certificate_mounted,
        description="A gateway that listens with ssl mounts the certificate and key its nginx.conf names "
                    "(in every stack: without them nginx does not start)."),
    ResourceValidationPolicy(
        name="no-plain-text-keys", validate=no_plain_text_keys,
        description="Keys and passwords are never in plain text: secure values and Kubernetes Secrets only."),
    ResourceValidationPolicy(
        name="autoscale-bounds", validate=autoscale_bounds,
        description="Autoscaling has min <= max and a target utilization within 1-100."),
    ResourceValidationPolicy(
        name="registry-admin-user-disabled", validate=registry_admin_user_disabled,
        description="Container registries keep the admin user disabled unless a documented need (IoT Edge) is declared."),
    StackValidationPolicy(
        name="production-images-by-digest", validate=production_images_by_digest,
        description="In production, container images are referenced by digest, not by tag."),
    ResourceValidationPolicy(
        name="kubernetes-requests-and-limits", validate=kubernetes_requests_and_limits,
        description="Kubernetes containers declare CPU and memory requests and limits."),
    ResourceValidationPolicy(
        name="required-tags", validate=required_tags,
        description="Azure resources are tagged with their environment, and with model and version where they serve one."),
]

# Least privilege and hardening (policies/hardening.py), production telemetry (monitoring.py),
# public services' keys outside production too (exposure.py), then each target's own rules, as
# the target table registers them (policies/config.py).
POLICIES += hardening.POLICIES + monitoring.POLICIES + exposure.POLICIES
POLICIES += config.target_policies()

for _policy in POLICIES:
    _policy.enforcement_level = config.default_enforcement(_policy.name)
    _policy.config_schema = config.schema(_policy.name)
