"""The IoT Edge deployment manifest for the scoring module (guide: "deploy to Azure IoT Edge").

Pure: plain values in, a dict out, no Pulumi. The shape follows Microsoft's deployment schema
`azure-iot-edge-deployment-2.0`; `createOptions` is stored the way the edge agent reads it:
JSON text in chunks of at most 512 characters (`createOptions`, `createOptions01`, ...).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mldeploy.contract import EDGE_HUB_HOST_PORTS, MASK, MODULE_NAME_RE, chunk_create_options, module_create_options
from mldeploy.plan.edge import ScoringModule
from mldeploy.contract import DEFAULT_IOT_EDGE_RUNTIME

AGENT_SCHEMA_VERSION = "1.1"
HUB_SCHEMA_VERSION = "1.1"
# IoT Hub limits a module twin's desired properties to 32 KB.
DESIRED_PROPERTIES_MAX = 32 * 1024

# edgeHub's own port bindings, as every reference manifest declares them (MQTT, AMQP, HTTPS).
EDGE_HUB_CREATE_OPTIONS = {"HostConfig": {"PortBindings": {
    f"{port}/tcp": [{"HostPort": str(port)}] for port in EDGE_HUB_HOST_PORTS}}}


@dataclass(frozen=True)
class RegistryCredentials:
    """What the edge agent logs in to the registry with (guide: address, user name, password)."""

    address: str
    username: str
    password: str


def registry_key(address: str) -> str:
    """The registryCredentials key: the registry's short name (keys may not hold '.', '$', '#', ' ')."""
    return re.sub(r"[.$# ]", "", address.split(".")[0]) or "registry"


def render_manifest(module: ScoringModule, registry: RegistryCredentials, routes: dict[str, str],
                    runtime_version: str = DEFAULT_IOT_EDGE_RUNTIME,
                    store_and_forward_seconds: int = 7200) -> dict[str, Any]:
    """The whole deployment manifest: `{"modulesContent": {"$edgeAgent": ..., "$edgeHub": ...}}`."""
    if not MODULE_NAME_RE.match(module.name):
        raise ValueError(f"module name {module.name!r}: letters, digits, '_' and '-' only")
    if module.name in ("edgeAgent", "edgeHub"):
        raise ValueError(f"module name {module.name!r} is reserved for the IoT Edge runtime")
    settings = {"image": module.image, **chunk_create_options(
        module_create_options(module.port, module.host_port, module.env, module.extra_create_options))}
    agent = {
        "schemaVersion": AGENT_SCHEMA_VERSION,
        "runtime": {
            "type": "docker",
            "settings": {
                "minDockerVersion": "v1.25",
                "registryCredentials": {registry_key(registry.address): {
                    "address": registry.address, "username": registry.username, "password": registry.password,
                }},
            },
        },
        "systemModules": {
            "edgeAgent": {"type": "docker", "settings": {
                "image": f"mcr.microsoft.com/azureiotedge-agent:{runtime_version}", "createOptions": "{}"}},
            "edgeHub": {
                "type": "docker", "status": "running", "restartPolicy": "always",
                "settings": {"image": f"mcr.microsoft.com/azureiotedge-hub:{runtime_version}",
                             **chunk_create_options(EDGE_HUB_CREATE_OPTIONS)},
            },
        },
        "modules": {module.name: {
            "version": "1.0",
            "type": "docker",
            "status": module.status,
            "restartPolicy": module.restart_policy,
            "settings": settings,
        }},
    }
    hub = {
        "schemaVersion": HUB_SCHEMA_VERSION,
        "routes": dict(sorted(routes.items())),
        "storeAndForwardConfiguration": {"timeToLiveSecs": store_and_forward_seconds},
    }
    return {"modulesContent": {"$edgeAgent": {"properties.desired": agent}, "$edgeHub": {"properties.desired": hub}}}


def base_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The same runtime without any custom module or route: what a device gets when the scoring
    module is removed (a device always needs a manifest; deleting means applying this one)."""
    content = json.loads(json.dumps(manifest["modulesContent"]))
    content["$edgeAgent"]["properties.desired"]["modules"] = {}
    content["$edgeHub"]["properties.desired"]["routes"] = {}
    return {"modulesContent": {k: v for k, v in content.items() if k in ("$edgeAgent", "$edgeHub")}}


def masked(manifest: dict[str, Any]) -> dict[str, Any]:
    """A copy with the registry user name and password replaced by `[secret]`, for review."""
    copy = json.loads(json.dumps(manifest))
    creds = copy["modulesContent"]["$edgeAgent"]["properties.desired"]["runtime"]["settings"]["registryCredentials"]
    for entry in creds.values():
        entry["username"] = MASK
        entry["password"] = MASK
    return copy


def check_desired_size(manifest: dict[str, Any]) -> None:
    """IoT Hub refuses a module twin whose desired properties pass 32 KB."""
    for name, twin in manifest["modulesContent"].items():
        size = len(json.dumps(twin["properties.desired"], separators=(",", ":")).encode())
        if size > DESIRED_PROPERTIES_MAX:
            raise ValueError(f"{name} desired properties are {size} bytes; IoT Hub takes at most {DESIRED_PROPERTIES_MAX}")
