"""Decide everything about one Container Apps service before anything is declared: names, the
replica's CPU/memory split between scorer and gateway, scale (to zero, HTTP concurrency rule),
probes from the one timeout rule, the revision this run's template creates and the traffic split
by revision label. Pure: ContainerAppService (components/containerapp.py) declares what this says.

API facts cited against azure-rest-api-specs specification/app/resource-manager/Microsoft.App/
stable/2025-07-01 (CommonDefinitions.json, ContainerApps.json) and MicrosoftDocs/azure-docs
articles/container-apps/*.md, as named at each use."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from mldeploy import PROJECT
from mldeploy.config.base import reserved_name_problem
from mldeploy.config.errors import ConfigError
from mldeploy.contract import GATEWAY_PORT, LIVENESS_PATH, READINESS_PATH, SCORER_PORT
from mldeploy.plan.gateway import FrontedByGateway, GatewaySpec, container_gateway
from mldeploy.plan.naming import hash_suffix
from mldeploy.plan.scorer import UNBATCHED, WorkerLoad, user_env, workers_and_timeouts
from mldeploy.plan.secret_env import is_secret
from mldeploy.plan.timeouts import (NGINX_PROBE_FAILURES, PROBE_PERIOD_S, PROBE_TIMEOUT_S, busy_seconds,
                                   probe_failure_threshold)
from mldeploy.render.gateway import render_nginx_conf
from mldeploy.targets.containerapp.config import (CONSUMPTION, GATEWAY_CPU, GATEWAY_MEMORY_GI,
                                                 ContainerAppServiceSettings)

# ContainerAppProbe limits (CommonDefinitions.json 2025-07-01): failureThreshold 1-10,
# periodSeconds 1-240, initialDelaySeconds 1-60, timeoutSeconds 1-240.
SPLIT_BETWEEN_REVISIONS = "revisions"  # the mldeploy-split tag of an app with labelled revisions
MAX_FAILURE_THRESHOLD = 10
MAX_PERIOD_S = 240


@dataclass(frozen=True)
class Resources:
    """One container's share of the replica: cores and memory as the API writes it (`"1.5Gi"`)."""

    cpu: float
    memory: str


@dataclass(frozen=True)
class Probe:
    """An HTTP probe of one container (ContainerAppProbe: type Liveness | Readiness, httpGet)."""

    kind: str  # "Liveness" | "Readiness"
    path: str
    port: int
    initial_delay_s: int
    failure_threshold: int
    period_s: int = PROBE_PERIOD_S
    timeout_s: int = PROBE_TIMEOUT_S


@dataclass(frozen=True)
class TrafficShare:
    """One TrafficWeight entry: a revision (by name), its label and its share of the traffic."""

    label: str
    revision_name: str
    percent: int


@dataclass(frozen=True)
class ContainerAppPlan(FrontedByGateway):
    """One Container Apps service as ContainerAppService declares it."""

    component: str  # the ContainerAppService's name; its children are named from it
    app_name: str  # the container app's own name (its host name's first label)
    workload_profile_name: str
    workload_profile_type: str
    gateway_port: int  # ingress targetPort: the gateway, never the scorer
    scorer: Resources
    gateway_resources: Resources
    scorer_env: tuple[tuple[str, str], ...]
    app_insights: bool
    min_replicas: int
    max_replicas: int
    concurrent_requests: int  # the HTTP scale rule's threshold per replica: what its workers hold at once
    probes_scorer: tuple[Probe, ...]
    probes_gateway: tuple[Probe, ...]
    revision_suffix: str  # template.revisionSuffix: the revision this run's template is
    traffic: tuple[TrafficShare, ...]
    custom_domain: str | None
    gateway: GatewaySpec
    user_env: tuple[tuple[str, str], ...] = ()  # the stack's environmentVariables, last in the scorer's env
    # Each `secure:` variable of user_env and the app secret it is kept in (env_secret_name), read by secretRef.
    env_secrets: tuple[tuple[str, str], ...] = ()
    # The app secrets of `secure:` variables only other labels' revisions read (secret name, value): app-scope,
    # so declared while a label keeps that revision (kept_env_secrets says why).
    kept_secrets: tuple[tuple[str, Any], ...] = ()

    @property
    def revision_name(self) -> str:
        return revision_name(self.app_name, self.revision_suffix)

    @property
    def scale_to_zero(self) -> bool:
        return self.min_replicas == 0


def revision_name(app: str, suffix: str) -> str:
    """`<container app name>--<revision suffix>` (MicrosoftDocs revisions.md, "Revision name suffix")."""
    return f"{app}--{suffix}"


def app_name(service: str) -> str:
    """The container app's name: 2-32 lowercase letters, digits and '-' (the service's own name
    already is one: config's Name rule), unique in its environment - one environment per service."""
    return service


# Container Apps secret names: "A value must consist of lower case alphanumeric characters, '-', and must start
# and end with an alphanumeric character. The length must not be more than 253 characters" - the API's own
# ContainerAppInvalidSecretName error (quoted in Azure/container-apps-deploy-action#116, 2024; ContainerApps.json's
# Secret.name states no pattern). Earlier API versions allowed '.' and at most 63 characters (the same error in
# microsoft/azure-container-apps#495, 2022). A name here keeps to both: [a-z0-9-], alphanumeric at the ends, <= 63.
SECRET_NAME_MAX = 63
_SECRET_DIGEST = 8


def env_secret_name(variable: str) -> str:
    """The app secret a `secure:` variable is kept in: `env-` and its name in lowercase with '-' for '_'
    (DB_PASSWORD: env-db-password; '_' at its ends dropped). A longer name than SECRET_NAME_MAX keeps its
    start and ends in a digest of the whole name. Names differing only in case or in '_' at their ends
    map to one secret: `check` refuses them together (env_secret_clash)."""
    name = "env-" + variable.lower().replace("_", "-").strip("-")
    name = name.rstrip("-")  # a name of '_' only: `env`
    if len(name) > SECRET_NAME_MAX:
        digest = hash_suffix(variable, length=_SECRET_DIGEST)
        name = name[:SECRET_NAME_MAX - _SECRET_DIGEST - 1].rstrip("-") + "-" + digest
    return name


def env_secret_clash(secure: Mapping[str, str]) -> tuple[str, str, str] | None:
    """Two `secure:` variables kept in one app secret: (secret name, first key, second key), from each
    variable's name -> the key it was written under; None when every name has a secret of its own."""
    seen: dict[str, str] = {}
    for variable, key in sorted(secure.items(), key=lambda item: item[1]):
        secret = env_secret_name(variable)
        if secret in seen:
            return secret, seen[secret], key
        seen[secret] = key
    return None


def _check_env_secrets(key: str, service: ContainerAppServiceSettings, stack: Any) -> None:
    """Every revision's `secure:` variables (its image's, then the service's) each get an app secret of their own,
    and one app secret holds one value for every labelled revision that reads it."""
    images = sorted({service.image, *(rev.image for rev in (service.revisions or {}).values())})
    held: dict[str, tuple[Any, str]] = {}  # app secret -> (its value, the key that sets it)
    for image in sorted(images, key=lambda i: i != service.image):  # the template's first: the value the app keeps
        settings = stack.images.get(image)
        env = {**(settings.environment_variables if settings else {}), **service.environment_variables}
        secure = {n: (f"{key}.environmentVariables.{n}" if n in service.environment_variables
                      else f"{PROJECT}:images.{image}.environmentVariables.{n}")
                  for n, v in env.items() if is_secret(v)}
        clash = env_secret_clash(secure)
        if clash:
            secret, first, second = clash
            raise ConfigError(second, f"Container Apps would keep it in app secret {secret!r}, as {first}: secret "
                              "names are lowercase letters, digits and '-', so variable names differing only in "
                              "case or in '_' at their ends share one; rename one of them")
        for name, at in sorted(secure.items()):
            secret = env_secret_name(name)
            value, first = held.setdefault(secret, (env[name], at))
            if at != first and value != env[name]:
                raise ConfigError(first, _one_secret_two_values(secret, at, image, key, service))


def _one_secret_two_values(secret: str, other_key: str, other_image: str, service_key: str,
                           service: ContainerAppServiceSettings) -> str:
    """Why the template's image and another label's cannot give one `secure:` variable two values on
    Container Apps, and what to do (the error is the template's key: the new revision's value is the one to move).

    Secrets belong to the app, one value per name, and "An updated or deleted secret doesn't automatically
    affect existing revisions in your app. When a secret is updated or deleted, you can respond to changes in
    one of two ways: Deploy a new revision. Restart an existing revision." (learn.microsoft.com/azure/
    container-apps/manage-secrets): the older label's revision reads the template's value from its next
    replica on (a restart, a scale-out, a start from zero). The values are compared as the program gets them:
    ciphertexts offline (Pulumi encrypts each `config set --secret` with a new nonce, so one value set twice
    reads as two), plaintexts under `pulumi up`."""
    label = next((label for label, rev in (service.revisions or {}).items() if rev.image == other_image), other_image)
    return (f"holds another value than {other_key} (revision {label}'s) for the one app secret {secret!r} "
            f"Container Apps keeps per name: revision {label} would read this value from its next replica on "
            "(a restart, a scale-out, a start from zero); give this value a variable name of its own (the new "
            f"revision reads it, {label} keeps its own), or set one value for both: the same `secure:` text under "
            f"both keys, or the variable once under {service_key}.environmentVariables")


def kept_env_secrets(template: tuple[tuple[str, Any], ...],
                     others: Mapping[str, tuple[tuple[str, Any], ...]]) -> tuple[tuple[str, Any], ...]:
    """The app secrets the other labels' revisions read by secretRef and the template does not declare
    (secret name, value), from the template's env and each other label's env (label -> env).

    Secrets are app-scope and a revision reads them by name, so dropping one that a revision still taking
    traffic reads is refused by Azure: "Before you delete a secret, deploy a new revision that no longer
    references the old secret. Then deactivate all revisions that reference the secret"
    (learn.microsoft.com/azure/container-apps/manage-secrets); in Multiple mode an update dropping a secret
    an active revision references fails (microsoft/azure-container-apps#395: the update "times out" with
    "Operation expired"; microsoft/vscode-azurecontainerapps#1098, 2026-06-10: "In Multiple mode deletion is
    blocked"). A label's revision is its image's template (plan_containerapp's `suffix`), so its `secure:`
    variables are its image's and the service's: each keeps its secret until no label names that image.
    A name both read is one app secret of one value (`check` refuses two: _one_secret_two_values)."""
    declared = {env_secret_name(k) for k, v in template if is_secret(v)}
    kept: list[tuple[str, Any]] = []
    for _, env in sorted(others.items()):
        for k, v in env:
            name = env_secret_name(k)
            if is_secret(v) and name not in declared:
                declared.add(name)
                kept.append((name, v))
    return tuple(kept)


def busy_probe_period_s(scoring_timeout_ms: int, wait_ms: int = 0) -> int:
    """The period of a probe on the scorer's `GET /`: 10 s, longer when the scorer's limit (and a
    batch's wait) needs more than the API's 10 failures at 10 s to be outlasted (plan/timeouts.py's rule 4)."""
    busy_s = busy_seconds(scoring_timeout_ms, wait_ms)
    return min(MAX_PERIOD_S, max(PROBE_PERIOD_S, math.ceil(busy_s / MAX_FAILURE_THRESHOLD)))


def scorer_workers(service: ContainerAppServiceSettings) -> int:
    """`workerCount`, else one per whole core left beside the gateway (at least one)."""
    return service.worker_count or service.default_workers()


def template_fingerprint(service: ContainerAppServiceSettings, image_tag: str, gateway_conf_digest: str,
                         env: tuple[tuple[str, str], ...] = ()) -> str:
    """What makes a revision (ContainerApps.json: the Template "defines the desired state of an
    immutable revision. Any changes to this section will result in a new revision"): the image's
    content tag and every revision-scope setting, hashed into the revision suffix. The suffix must
    be new whenever the template changes, so a revision-scope change always gets a new name."""
    parts = [image_tag, f"{service.cpu_cores:g}", f"{service.memory_gb:g}", str(service.min_replicas),
             str(service.max_replicas), str(service.scoring_timeout_ms), str(service.worker_count),
             str(service.app_insights_enabled), service.workload_profile, gateway_conf_digest]
    # The scorer's environmentVariables (image, then service) are the template's too; added only when
    # set, so a revision without them keeps the name earlier runs gave it.
    parts += [f"{k}={v}" for k, v in env]
    return hash_suffix(*parts, length=10)


def plan_containerapp(name: str, service: ContainerAppServiceSettings, *,
                      image_tags: Mapping[str, str], load: WorkerLoad = UNBATCHED,
                      image_env: Mapping[str, Mapping[str, str]] | None = None) -> ContainerAppPlan:
    """The plan of service `name`. `image_tags`: each image's content tag (`<version>-<digest>`),
    which names the revisions; `load`: how its images' scorer workers take requests; `image_env`:
    each image's `environmentVariables`, under the service's own."""
    app = app_name(name)
    gateway = container_gateway(service, listen_port=GATEWAY_PORT, load=load)
    # nginx.conf reaches the gateway as a Container Apps secret, and secrets are app-scope (no new
    # revision): its digest joins the template's fingerprint so a changed conf rolls a new revision.
    gateway_conf_digest = hash_suffix(render_nginx_conf(gateway), length=16)
    workers = scorer_workers(service)

    def env(image: str) -> tuple[tuple[str, str], ...]:
        return user_env((image_env or {}).get(image, {}), service.environment_variables)

    def suffix(image: str) -> str:
        return "r" + template_fingerprint(service, image_tags[image], gateway_conf_digest, env(image))

    labels = service.revisions or {"live": None}
    traffic = tuple(
        TrafficShare(label, revision_name(app, suffix(rev.image if rev else service.image)),
                     rev.traffic_percent if rev else 100)
        for label, rev in sorted(labels.items()))
    period = busy_probe_period_s(service.scoring_timeout_ms, load.wait_ms)
    busy = probe_failure_threshold(service.scoring_timeout_ms, period, wait_ms=load.wait_ms)
    profile = service.workload_profile
    return ContainerAppPlan(
        component=f"containerapp-{name}",
        app_name=app,
        # The profile's name in the environment: the default profile is named as its type
        # (ManagedEnvironments.json WorkloadProfile: name + workloadProfileType); a GPU one "gpu".
        workload_profile_name=CONSUMPTION if profile == CONSUMPTION else "gpu",
        workload_profile_type=profile,
        gateway_port=GATEWAY_PORT,
        scorer=Resources(service.cpu_cores - GATEWAY_CPU, f"{service.memory_gb - GATEWAY_MEMORY_GI:g}Gi"),
        gateway_resources=Resources(GATEWAY_CPU, f"{GATEWAY_MEMORY_GI:g}Gi"),
        scorer_env=workers_and_timeouts(workers, service.scoring_timeout_ms),
        user_env=env(service.image),
        env_secrets=tuple((k, env_secret_name(k)) for k, v in env(service.image) if is_secret(v)),
        kept_secrets=kept_env_secrets(env(service.image), {label: env(rev.image) for label, rev in labels.items()
                                                           if rev is not None and rev.image != service.image}),
        app_insights=service.app_insights_enabled,
        min_replicas=service.min_replicas,
        max_replicas=service.max_replicas,
        # Container Apps adds a replica "when the number of HTTP requests exceeds this value"
        # (container-apps/scale-app.md, HTTP, concurrentRequests; counted per replica, as
        # requests in the past 15 s / 15): the requests one replica's scorer works on at once -
        # one per worker, or with batching a batch per worker (scaling out earlier would only
        # split the batches).
        concurrent_requests=workers * load.requests,
        # The scorer's only health route: 200 once init() has finished; its window outlasts the
        # scorer's limit (plan/timeouts.py), or a long request restarts it.
        probes_scorer=(Probe("Liveness", "/", SCORER_PORT, 30, busy, period),
                       Probe("Readiness", "/", SCORER_PORT, 5, busy, period)),
        probes_gateway=(Probe("Liveness", LIVENESS_PATH, GATEWAY_PORT, 5, NGINX_PROBE_FAILURES),
                        Probe("Readiness", READINESS_PATH, GATEWAY_PORT, 5, busy, period)),
        revision_suffix=suffix(service.image),
        traffic=traffic,
        custom_domain=service.custom_domain,
        gateway=gateway,
    )


INGRESS_TIMEOUT_MS = 240_000


def check(name: str, service: ContainerAppServiceSettings, stack: Any) -> None:
    """The load-time rules of one containerapp service (ConfigError naming the key)."""
    key = f"{PROJECT}:services.{name}"
    # The app is named after the service (app_name): "A name must consist of lower case alphanumeric
    # characters or '-', start with an alphabetic character, and end with an alphanumeric character and
    # cannot have '--'" (the Container Apps name rule as the portal and the API state it; a revision is
    # `<app>--<suffix>`, revisions.md).
    if "--" in name:
        raise ConfigError(key, f"invalid name {name!r} for target containerapp: the container app is named after it "
                          "and Container Apps names cannot have '--'")
    problem = reserved_name_problem(app_name(name))  # the app's public name: <app>.<environment domain>
    if problem:
        raise ConfigError(key, f"the container app is named after the service: {problem}")
    if service.custom_domain is not None:
        for other, entry in sorted(stack.services.items()):
            if other != name and entry.target == "containerapp" and entry.custom_domain == service.custom_domain \
                    and other < name:
                raise ConfigError(f"{key}.customDomain", f"custom domain {service.custom_domain!r} is also service "
                                  f"{other!r}'s; one host name reaches one app")
    # "Request timeout is 240 seconds" (MicrosoftDocs/azure-docs, container-apps/ingress-overview.md, HTTP
    # ingress): a longer scoringTimeoutMs is never reached - the ingress cuts the request first.
    if service.scoring_timeout_ms > INGRESS_TIMEOUT_MS:
        raise ConfigError(f"{key}.scoringTimeoutMs", f"{service.scoring_timeout_ms} ms is over the {INGRESS_TIMEOUT_MS} ms "
                          "Container Apps' HTTP ingress allows a request; set at most that")
    if stack.production and service.min_replicas < 1:
        raise ConfigError(f"{key}.minReplicas", f"minReplicas {service.min_replicas} in a production stack: a "
                          "revision scaled to zero answers its first request only after a cold start (image pull, "
                          "init()); set minReplicas >= 1")
    _check_env_secrets(key, service, stack)
    if service.revisions is None:
        return
    for label, rev in sorted(service.revisions.items()):
        # The label's host is `<app>---<label>.<domain>` and a revision `<app>--<suffix>`
        # (blue-green-deployment.md, revisions.md): Container Apps' names "cannot have '--'" (the rule
        # above), and a label holding one would blur the separator its own host name is read by.
        if "--" in label:
            raise ConfigError(f"{key}.revisions.{label}", f"revision label {label!r} has '--': Container Apps "
                              "names cannot have '--' (it separates app and revision, '---' app and label): "
                              "use single hyphens")
        if rev.image not in stack.images:
            known = ", ".join(sorted(stack.images)) or "none"
            raise ConfigError(f"{key}.revisions.{label}.image",
                              f"refers to image {rev.image!r}, which does not exist; known: {known}")
    on_image = sorted(label for label, rev in service.revisions.items() if rev.image == service.image)
    if len(on_image) != 1:
        raise ConfigError(f"{key}.revisions", f"exactly one revision label must run the service's image "
                          f"{service.image!r} (the revision this run's template creates); "
                          f"{'none does' if not on_image else 'labels ' + ', '.join(on_image) + ' all do'}")
    by_image: dict[str, str] = {}
    for label, rev in sorted(service.revisions.items()):
        if rev.image in by_image:
            raise ConfigError(f"{key}.revisions.{label}.image", f"image {rev.image!r} is also revision "
                              f"{by_image[rev.image]!r}'s: one image is one revision, give it one label")
        by_image[rev.image] = label
    total = sum(rev.traffic_percent for rev in service.revisions.values())
    if total != 100:
        shares = ", ".join(f"{label} {rev.traffic_percent}" for label, rev in sorted(service.revisions.items()))
        raise ConfigError(f"{key}.revisions", f"trafficPercent sums to {total} ({shares}); the revisions' "
                          "shares of the app's traffic must sum to 100")


# "You can only apply a GPU workload profile to an environment as the environment is created"
# (MicrosoftDocs azure-docs, articles/container-apps/workload-profiles-overview.md, the note under
# "Profiles"); other profiles can be added "as you create an environment or after it's created" (same page).
GPU_PROFILE_SOURCE = "workload-profiles-overview.md: a GPU workload profile is applied only as the environment is created"
GPU_PROFILE_DOC = "docs/containerapp.md#a-gpu-workload-profile-is-fixed-when-the-environment-is-created"


def environment_component(name: str) -> str:
    """The Pulumi name of service `name`'s environment (components/containerapp.py: `<component>-environment`)."""
    return f"containerapp-{name}-environment"


def gpu_profile_notes(settings) -> list[str]:
    """What synth and `pulumi preview` say of a service on a GPU workload profile: its environment can
    take the profile only when it is created, which the program cannot see (`mldeploy diff` compares
    two versions and warns of the change itself)."""
    notes = []
    for name, service in sorted(settings.services.items()):
        if not isinstance(service, ContainerAppServiceSettings) or service.workload_profile == CONSUMPTION:
            continue
        profile = service.workload_profile
        notes.append(
            f"{PROJECT}:services.{name}.workloadProfile: environment `{environment_component(name)}` runs the app on "
            f"GPU workload profile `gpu` ({profile}), which Azure applies only when the environment is created "
            f"({GPU_PROFILE_SOURCE}): if this environment is deployed already without it (the service was on "
            "Consumption) or with another GPU type, `pulumi up` fails at the environment's update, and removing it "
            "later asks Azure to drop a profile the app still runs on (the environment is updated before the app); "
            f"to change it, deploy the new variant as a new service (its own environment), move clients, then "
            f"remove the old one ({GPU_PROFILE_DOC})")
    return notes


def custom_domain_notes(settings) -> list[str]:
    """What synth, `pulumi preview` and (new since the base) `mldeploy diff` say of a `customDomain`:
    the DNS records Azure checks before it adds the name to the app, which the program cannot create
    or see (Microsoft's custom-domains-managed-certificates.md; docs/containerapp.md, "What is deployed")."""
    notes = []
    for name, service in sorted(settings.services.items()):
        if not isinstance(service, ContainerAppServiceSettings) or service.custom_domain is None:
            continue
        domain = service.custom_domain
        notes.append(
            f"{PROJECT}:services.{name}.customDomain: {domain}: Azure adds it to the app only when your DNS zone "
            f"has TXT `asuid.{domain}` holding the app's domain verification id and a CNAME `{domain}` straight to "
            "the app's own host name (`<app>.<environment domain>`): on a new app, set customDomain after a first "
            "`pulumi up` and those records; check microsoft/azure-container-apps#1652 first (docs/containerapp.md)")
    return notes


def service_notes(settings) -> list[str]:
    """The target's notes (Target.notes): a GPU workload profile's, a custom domain's."""
    return gpu_profile_notes(settings) + custom_domain_notes(settings)
