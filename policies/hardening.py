"""Least privilege and hardening, in every stack: role assignments that grant no administrator
role and no subscription-wide scope, registries that nobody pulls from anonymously, storage that
is private and TLS 1.2, production key vaults that cannot be purged, batch compute nodes without
a public SSH port, and pods that meet Kubernetes' "restricted" Pod Security Standard. mldeploy's
own program passes them all; they catch a regression in it, and what a hand-written program or
a later edit declares.

Each reads resource inputs in wire form; values unknown during preview or masked by synth are
skipped, never guessed (`pulumi up` runs the pack again with every value known).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from pulumi_policy import Policy, ResourceValidationPolicy, StackValidationPolicy

from mldeploy.policies import config
from mldeploy.policies.reading import POD_SPEC_PATHS, REGISTRY, get, opaque, plain

Report = Callable[..., None]

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


# -- role assignments ------------------------------------------------------------------------

def _broad_scope(scope: str) -> str | None:
    """What a scope wider than one resource group covers, or None."""
    parts = [p for p in scope.strip().split("/") if p]
    if not parts:
        return "the whole tenant (/)"
    if parts[0].lower() == "providers" and len(parts) >= 2 and parts[1].lower() == "microsoft.management":
        return "a management group"
    if parts[0].lower() == "subscriptions" and len(parts) == 2:
        return "a whole subscription"
    return None


def role_assignments_least_privilege(args, report: Report) -> None:
    if args.resource_type != ROLE_ASSIGNMENT:
        return
    cfg = config.settings("role-assignments-least-privilege", args.get_config())
    forbidden = {str(k).lower(): v for k, v in (cfg["forbiddenRoles"] or {}).items()}
    props = plain(args.props)
    role, scope = props.get("roleDefinitionId"), props.get("scope")
    if isinstance(role, str) and not opaque(role):
        guid = role.rstrip("/").rsplit("/", 1)[-1].lower()
        if guid in forbidden:
            report(f"{args.name}: grants {forbidden[guid]} ({guid}), a privileged administrator role; grant the "
                   "narrowest built-in role the identity needs (AcrPull, Storage Blob Data Reader, ...) on the "
                   "one resource it uses")
    if isinstance(scope, str) and not opaque(scope):
        broad = _broad_scope(scope)
        if broad is not None:
            report(f"{args.name}: scope {scope!r} is {broad}; scope the assignment to the resource it is for")


# -- registries ------------------------------------------------------------------------------

def registry_anonymous_pull_disabled(args, report: Report) -> None:
    """Anonymous pull makes every image of the registry readable by anyone on the internet, model
    files included (learn.microsoft.com/azure/container-registry/anonymous-pull-access)."""
    if args.resource_type == REGISTRY and plain(args.props).get("anonymousPullEnabled") is True:
        report(f"registry {args.name} allows anonymous pull: every image in it (the models inside the scoring "
               "images too) is public; keep anonymousPullEnabled false and pull with managed identities (AcrPull)")


# -- the workspace's data stores -----------------------------------------------------------------

STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
KEY_VAULT = "azure-native:keyvault:Vault"
OLD_TLS = {"TLS1_0", "TLS1_1"}


def storage_account_secure(args, report: Report) -> None:
    """The workspace's storage holds the model files. Defaults as the API states them (the
    azure-native SDK's StorageAccount docs): public blob access "false", HTTPS only "true since API
    version 2019-04-01", minimum TLS "The default interpretation is TLS 1.0" - so TLS must be set."""
    if args.resource_type != STORAGE_ACCOUNT:
        return
    p = plain(args.props)
    if p.get("allowBlobPublicAccess") is True:
        report(f"storage account {args.name}: allowBlobPublicAccess is true, so a container can be made readable "
               "by anyone (the registered model files too); set it false")
    if p.get("enableHttpsTrafficOnly") is False:
        report(f"storage account {args.name}: enableHttpsTrafficOnly is false (plain HTTP accepted); set it true")
    tls = p.get("minimumTlsVersion")
    if not opaque(tls) and (tls is None or tls in OLD_TLS):
        said = f"is {tls}" if tls else "is not set (the API then allows TLS 1.0)"
        report(f"storage account {args.name}: minimumTlsVersion {said}; set TLS1_2")


def production_key_vault_recoverable(args, report: Report) -> None:
    """In production, the workspace's key vault keeps deleted secrets recoverable: soft delete on
    and purge protection on ("only the Key Vault service may initiate a hard, irrecoverable
    deletion", the SDK's Vault docs). Outside production mldeploy leaves purge protection off on
    purpose, so `pulumi destroy` leaves no vault name blocked for 90 days."""
    stack, production = config.production("production-key-vault-recoverable", args)
    if not production:
        return
    for r in args.resources:
        if r.resource_type != KEY_VAULT:
            continue
        p = get(plain(r.props), "properties") or {}
        missing = ["enableSoftDelete"] if p.get("enableSoftDelete") is False else []  # unset: on by default
        purge = p.get("enablePurgeProtection")
        if not opaque(purge) and purge is not True:
            missing.append("enablePurgeProtection")
        if missing:
            report(f"key vault {r.name}: {' and '.join(missing)} not true in production stack {stack!r}: a deleted "
                   "secret (or the whole vault) could be purged for good; turn them on", r.urn)


# -- Azure ML compute clusters (batch) ------------------------------------------------------------

AML_COMPUTE = "azure-native:machinelearningservices:Compute"


def aml_compute_no_public_ssh(args, report: Report) -> None:
    """The API's own words (AmlComputeProperties.remoteLoginPortPublicAccess, as the azure-native SDK
    ships them): "NotSpecified - Indicates that the public ssh port is closed on all nodes of the
    cluster if VNet is defined, else is open all public nodes" - so only Disabled, or NotSpecified
    with a subnet, keeps port 22 off the internet."""
    if args.resource_type != AML_COMPUTE:
        return
    body = get(plain(args.props), "properties")
    if not isinstance(body, Mapping) or body.get("computeType") != "AmlCompute":
        return
    inner = body.get("properties") if isinstance(body.get("properties"), Mapping) else {}
    access = inner.get("remoteLoginPortPublicAccess")
    if opaque(access) or access == "Disabled":
        return
    if access in (None, "NotSpecified") and inner.get("subnet"):
        return
    said = f"is {access}" if access else "is not set (NotSpecified)"
    report(f"compute cluster {args.name}: remoteLoginPortPublicAccess {said}, so every node's SSH port is open "
           "to the internet; set it Disabled (batch jobs need no login)")


# -- Kubernetes pods: the "restricted" Pod Security Standard -----------------------------------

# kubernetes.io/docs/concepts/security/pod-security-standards/ ("Restricted" adds non-root,
# no privilege escalation, a RuntimeDefault/Localhost seccomp profile and capabilities dropped to
# NET_BIND_SERVICE at most, to "Baseline": no host namespaces, privileged containers or hostPath).
SECCOMP_ALLOWED = {"RuntimeDefault", "Localhost"}
CAPABILITIES_ALLOWED = {"NET_BIND_SERVICE"}


def _pod_problems(spec: Mapping[str, Any]) -> list[str]:
    problems = [f"spec.{field} is true" for field in ("hostNetwork", "hostPID", "hostIPC") if spec.get(field) is True]
    volumes = spec.get("volumes")
    for v in volumes if isinstance(volumes, list) else []:
        if isinstance(v, Mapping) and "hostPath" in v:
            problems.append(f"volume {v.get('name')!r} is a hostPath")
    return problems


def _container_problems(pod: Mapping[str, Any], c: Mapping[str, Any]) -> list[str]:
    sc = c.get("securityContext") if isinstance(c.get("securityContext"), Mapping) else {}
    psc = pod.get("securityContext") if isinstance(pod.get("securityContext"), Mapping) else {}
    if opaque(sc) or opaque(psc):
        return []
    problems = []
    if sc.get("privileged") is True:
        problems.append("privileged is true")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
    if non_root is not True:
        problems.append("runAsNonRoot is not true (container or pod)")
    user = sc.get("runAsUser", psc.get("runAsUser"))
    if user is not None and not opaque(user) and float(user) == 0:
        problems.append("runAsUser is 0 (root)")
    seccomp = get(sc, "seccompProfile", "type") or get(psc, "seccompProfile", "type")
    if not opaque(seccomp) and seccomp not in SECCOMP_ALLOWED:
        problems.append(f"seccompProfile.type is {seccomp or 'unset'} (container or pod), not RuntimeDefault or Localhost")
    caps = sc.get("capabilities") if isinstance(sc.get("capabilities"), Mapping) else {}
    if "ALL" not in [str(x).upper() for x in caps.get("drop") or []]:
        problems.append("capabilities.drop does not include ALL")
    added = sorted({str(x).upper() for x in caps.get("add") or []} - CAPABILITIES_ALLOWED)
    if added:
        problems.append(f"capabilities.add has {', '.join(added)}")
    return problems


def kubernetes_pod_security(args, report: Report) -> None:
    path = POD_SPEC_PATHS.get(args.resource_type)
    if path is None:
        return
    spec = get(plain(args.props), *path)
    if not isinstance(spec, Mapping):
        return
    for problem in _pod_problems(spec):
        report(f"{args.name}: {problem}; the restricted Pod Security Standard forbids it")
    for field in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(field) or []):
            if not isinstance(c, Mapping):
                continue
            problems = _container_problems(spec, c)
            if problems:
                report(f"{args.name} {field}[{i}] ({c.get('name', '?')}): {'; '.join(problems)} - the restricted "
                       "Pod Security Standard asks for a non-root user, no privilege escalation, seccomp "
                       "RuntimeDefault and every capability dropped")


POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        name="role-assignments-least-privilege", validate=role_assignments_least_privilege,
        description="Role assignments grant no Owner, Contributor, User Access Administrator or RBAC "
                    "Administrator role, and no scope wider than a resource group."),
    ResourceValidationPolicy(
        name="registry-anonymous-pull-disabled", validate=registry_anonymous_pull_disabled,
        description="Container registries do not allow anonymous (unauthenticated) pull."),
    ResourceValidationPolicy(
        name="storage-account-secure", validate=storage_account_secure,
        description="Storage accounts: no public blob access, HTTPS only, TLS 1.2 at least."),
    StackValidationPolicy(
        name="production-key-vault-recoverable", validate=production_key_vault_recoverable,
        description="In production, key vaults have soft delete and purge protection on."),
    ResourceValidationPolicy(
        name="aml-compute-no-public-ssh", validate=aml_compute_no_public_ssh,
        description="Azure ML compute clusters keep their nodes' SSH port closed to the internet."),
    ResourceValidationPolicy(
        name="kubernetes-pod-security", validate=kubernetes_pod_security,
        description="Kubernetes workloads meet the restricted Pod Security Standard: non-root, no privilege "
                    "escalation, seccomp RuntimeDefault, capabilities dropped, no host namespaces or hostPath."),
]
