"""The policies' names, enforcement levels and configurable settings, with their defaults.

Users override them in `policies/config.json` (passed as `--policy-pack-config`, and read by
`mldeploy synth`): `{"<policy>": {"enforcementLevel": "advisory", "<setting>": ...}}`.
"""
from __future__ import annotations

import copy
import functools
import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any, Mapping

from pulumi_policy import EnforcementLevel, Policy, PolicyConfigSchema

from mldeploy.policies.reading import is_production, stack_of

CONFIG_FILE = Path(__file__).with_name("config.json")

PRODUCTION_STACKS = {
    "type": "array", "items": {"type": "string"}, "default": ["prod", "production"],
    "description": "Stack names that count as production (besides stacks with mldeploy:production: true).",
}


def _admin_user_needs() -> list[str]:
    """The reasons for a registry's admin user that the targets declare (the table's rows)."""
    from mldeploy.targets import TARGETS

    return sorted({need for target in TARGETS for need in target.registry_admin_user_needs})


# Azure's built-in roles in the "Privileged" category that manage resources or grant access
# (role-assignments-least-privilege's default): learn.microsoft.com/azure/role-based-access-control/
# built-in-roles/privileged; role ids are the same in every tenant. A deployment's identities need
# data-plane or single-resource roles (AcrPull, Storage Blob Data Reader, ...), never these.
PRIVILEGED_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
}

# The rules every stack answers to (policies/rules.py, hardening.py): policy name -> {setting: JSON schema
# with its default}. A target's own rules bring theirs (the module's SETTINGS, all_settings()).
COMMON_SETTINGS: dict[str, dict[str, dict[str, Any]]] = {
    "production-auth-and-tls": {"productionStacks": PRODUCTION_STACKS},
    "gateway-certificate-mounted": {},
    "no-plain-text-keys": {
        "secretNamePattern": {
            "type": "string", "default": "(?i)(key|password|passwd|secret|token|connection_?string|credential)",
            "description": "Environment variable / ConfigMap key names that hold secrets.",
        },
        "ignoredNameSuffixes": {
            "type": "array", "items": {"type": "string"},
            "default": ["_FILE", "_PATH", "_DIR", "_NAME", "_ID", "_URI", "_URL", "_HEADER"],
            "description": "Names ending so point at a secret instead of holding one.",
        },
    },
    "autoscale-bounds": {},
    "registry-admin-user-disabled": {
        "allowedNeeds": {"type": "array", "items": {"type": "string"}, "default": _admin_user_needs(),
                         "description": "Values of the mldeploy-admin-user-need tag that justify the admin user."},
    },
    "production-images-by-digest": {"productionStacks": PRODUCTION_STACKS},
    "kubernetes-requests-and-limits": {
        "requests": {"type": "array", "items": {"type": "string"}, "default": ["cpu", "memory"]},
        "limits": {"type": "array", "items": {"type": "string"}, "default": ["cpu", "memory"]},
    },
    "required-tags": {
        "requiredTags": {"type": "array", "items": {"type": "string"}, "default": ["environment"],
                         "description": "Tags every Azure resource that supports tags must carry."},
        "modelTags": {"type": "array", "items": {"type": "string"}, "default": ["model", "model-version"],
                      "description": "Tags every resource of one model's service or batch job must carry."},
    },
    "role-assignments-least-privilege": {
        "forbiddenRoles": {
            "type": "object", "additionalProperties": {"type": "string"}, "default": PRIVILEGED_ROLES,
            "description": "Role definition ids (GUIDs) no assignment may grant -> their names, for the message.",
        },
    },
    "registry-anonymous-pull-disabled": {},
    "storage-account-secure": {},
    "production-key-vault-recoverable": {"productionStacks": PRODUCTION_STACKS},
    "aml-compute-no-public-ssh": {},
    "kubernetes-pod-security": {},
    "production-app-insights": {"productionStacks": PRODUCTION_STACKS},
    "public-services-authenticated": {"productionStacks": PRODUCTION_STACKS},
}


def target_policy_modules() -> list[ModuleType]:
    """The modules of this package holding the targets' own rules, as the target table names
    them (each once; a module has POLICIES and SETTINGS). Read by name: the table imports
    nothing of the pack, so the pack may read the table."""
    from mldeploy.targets import TARGETS

    names = dict.fromkeys(name for target in TARGETS for name in target.policies)
    return [importlib.import_module(name) for name in names]


def target_policies() -> list[Policy]:
    return [policy for module in target_policy_modules() for policy in module.POLICIES]


@functools.cache
def all_settings() -> dict[str, dict[str, dict[str, Any]]]:
    """Every policy's settings: the common rules', then each target module's."""
    merged = dict(COMMON_SETTINGS)
    for module in target_policy_modules():
        merged.update(module.SETTINGS)
    return merged


# Policies that warn instead of blocking unless the pack config says otherwise: what they find
# may be deliberate - a public demo without keys in a dev stack; production telemetry sent
# elsewhere than Application Insights (Container Insights, Prometheus), which made stacks valid
# before this rule refused at synth; an edge module on the device's network, which mldeploy's
# edge config offers.
ADVISORY_BY_DEFAULT = frozenset({"public-services-authenticated", "production-app-insights", "edge-modules-host-network"})


def default_enforcement(policy: str) -> EnforcementLevel:
    """Every mldeploy policy is mandatory (ADVISORY_BY_DEFAULT: advisory) unless the pack config says otherwise."""
    all_settings()[policy]  # a KeyError for a policy nobody declared
    return EnforcementLevel.ADVISORY if policy in ADVISORY_BY_DEFAULT else EnforcementLevel.MANDATORY


def production(policy: str, args) -> tuple[str, bool]:
    """(stack name, whether it is production) for a stack policy, with the policy's settings."""
    cfg = settings(policy, args.get_config())
    stack = next((stack_of(r.urn) for r in args.resources if r.urn), "")
    return stack, is_production(stack, [r.props for r in args.resources], cfg["productionStacks"])


def schema(policy: str) -> PolicyConfigSchema | None:
    props = all_settings()[policy]
    return PolicyConfigSchema(properties=copy.deepcopy(props)) if props else None


def settings(policy: str, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The policy's settings: defaults, then what the pack config gives."""
    merged = {key: copy.deepcopy(spec["default"]) for key, spec in all_settings()[policy].items()}
    merged.update({k: v for k, v in (given or {}).items() if k != "enforcementLevel"})
    return merged


def load_pack_config(path: Path = CONFIG_FILE) -> dict[str, Any]:
    """`policies/config.json` (the same file `--policy-pack-config` takes), or {} if absent."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: must be a JSON object of policy name -> settings")
    unknown = sorted(set(data) - set(all_settings()) - {"all"})
    if unknown:
        raise ValueError(f"{path}: unknown policies {unknown}; known: {sorted(all_settings())}")
    return data


def enforcement(policy: str, pack_config: Mapping[str, Any]) -> EnforcementLevel:
    """The level after the pack config's `all` and per-policy overrides (as the CLI applies them)."""
    level = default_enforcement(policy)
    for entry in (pack_config.get("all"), pack_config.get(policy)):
        if isinstance(entry, str):
            level = EnforcementLevel(entry)
        elif isinstance(entry, Mapping) and "enforcementLevel" in entry:
            level = EnforcementLevel(entry["enforcementLevel"])
    return level


def given(policy: str, pack_config: Mapping[str, Any]) -> dict[str, Any]:
    entry = pack_config.get(policy)
    return dict(entry) if isinstance(entry, Mapping) else {}
