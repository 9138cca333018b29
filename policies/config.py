"""The policies' names, enforcement levels and configurable settings, with their defaults.

Users override them in `policies/config.json` (passed as `--policy-pack-config`, and read by
`mldeploy synth`): `{"<policy>": {"enforcementLevel": "advisory", "<setting>": ...}}`.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Mapping

from pulumi_policy import EnforcementLevel, PolicyConfigSchema

CONFIG_FILE = Path(__file__).with_name("config.json")

PRODUCTION_STACKS = {
    "type": "array", "items": {"type": "string"}, "default": ["prod", "production"],
    "description": "Stack names that count as production (besides stacks with mldeploy:production: true).",
}

# policy name -> {setting: JSON schema with its default}
SETTINGS: dict[str, dict[str, dict[str, Any]]] = {
    "aci-not-in-production": {"productionStacks": PRODUCTION_STACKS},
    "aks-minimum-vcpus": {
        "minimumVcpus": {"type": "integer", "minimum": 1, "default": 12,
                         "description": "Least vCPUs a cluster must have (node count x vCPUs of its size)."},
        "vmSizeVcpus": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1},
                        "default": {}, "description": "vCPUs of VM sizes mldeploy's table does not list."},
    },
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
        "allowedNeeds": {"type": "array", "items": {"type": "string"}, "default": ["iot-edge"],
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
    # v2 online endpoints (policies/endpoints.py)
    "endpoint-traffic-sums-to-100": {},
    "endpoint-mirror-limits": {},
    "endpoint-mirror-managed-only": {},
    "endpoint-request-timeout": {},
    "production-endpoint-instances": {
        "productionStacks": PRODUCTION_STACKS,
        "minimumInstances": {"type": "integer", "minimum": 1, "default": 3,
                             "description": "Fewest instances of a production deployment taking live traffic."},
    },
    "autoscale-setting-bounds": {},
    "containerapp-traffic-sums-to-100": {},
    "containerapp-production": {"productionStacks": PRODUCTION_STACKS},
}

ENFORCEMENT: dict[str, EnforcementLevel] = {name: EnforcementLevel.MANDATORY for name in SETTINGS}


def schema(policy: str) -> PolicyConfigSchema | None:
    props = SETTINGS[policy]
    return PolicyConfigSchema(properties=copy.deepcopy(props)) if props else None


def settings(policy: str, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The policy's settings: defaults, then what the pack config gives."""
    merged = {key: copy.deepcopy(spec["default"]) for key, spec in SETTINGS[policy].items()}
    merged.update({k: v for k, v in (given or {}).items() if k != "enforcementLevel"})
    return merged


def load_pack_config(path: Path = CONFIG_FILE) -> dict[str, Any]:
    """`policies/config.json` (the same file `--policy-pack-config` takes), or {} if absent."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: must be a JSON object of policy name -> settings")
    unknown = sorted(set(data) - set(SETTINGS) - {"all"})
    if unknown:
        raise ValueError(f"{path}: unknown policies {unknown}; known: {sorted(SETTINGS)}")
    return data


def enforcement(policy: str, pack_config: Mapping[str, Any]) -> EnforcementLevel:
    """The level after the pack config's `all` and per-policy overrides (as the CLI applies them)."""
    level = ENFORCEMENT[policy]
    for entry in (pack_config.get("all"), pack_config.get(policy)):
        if isinstance(entry, str):
            level = EnforcementLevel(entry)
        elif isinstance(entry, Mapping) and "enforcementLevel" in entry:
            level = EnforcementLevel(entry["enforcementLevel"])
    return level


def given(policy: str, pack_config: Mapping[str, Any]) -> dict[str, Any]:
    entry = pack_config.get(policy)
    return dict(entry) if isinstance(entry, Mapping) else {}
