"""The IoT Edge target's rule: the modules a deployment manifest runs on a device are not given
the device itself - no privileged mode, no host PID/IPC namespace (host network: a rule of its
own, advisory by default), no added Linux
capabilities, no bind of the container engine's socket. Microsoft Defender for IoT reports the
same as "IotPrivilegedDockerOptions" ("Edge module is configured to run in privileged mode, with
extensive Linux capabilities or with host-level network access"; learn.microsoft.com/dotnet/api/
azure.resourcemanager.securitycenter.models.iotsecurityrecommendationtype.iotprivilegeddockeroptions).
createOptions are Docker's container create options (learn.microsoft.com/azure/iot-edge/
how-to-use-create-options), as JSON text, split into createOptions01.. when long.

The manifest is read by its shape (`content.modulesContent.$edgeAgent`), whatever resource carries
it. Registered in the target table (targets/edge)."""
from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from pulumi_policy import Policy, ResourceValidationPolicy

from mldeploy.policies.reading import get, opaque, plain

Report = Callable[..., None]

HOST_MODES = ("PidMode", "IpcMode")
ENGINE_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")

SETTINGS: dict[str, dict[str, Any]] = {"edge-modules-unprivileged": {}, "edge-modules-host-network": {}}


def _create_options(settings: Mapping[str, Any]) -> dict | None:
    """The module's createOptions as an object (joined from createOptions, createOptions01..),
    {} when none, None when they cannot be read."""
    parts = [settings.get("createOptions")] + [settings.get(f"createOptions{i:02d}") for i in range(1, 100)]
    parts = [p for p in parts if p is not None]
    if any(opaque(p) for p in parts):
        return None
    if not parts:
        return {}
    if len(parts) == 1 and isinstance(parts[0], Mapping):
        return dict(parts[0])
    try:
        value = json.loads("".join(str(p) for p in parts))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _problems(options: Mapping[str, Any]) -> list[str]:
    host = options.get("HostConfig") if isinstance(options.get("HostConfig"), Mapping) else {}
    found = []
    if host.get("Privileged") is True:
        found.append("HostConfig.Privileged is true")
    found += [f"HostConfig.{mode} is host" for mode in HOST_MODES if str(host.get(mode, "")).lower() == "host"]
    if host.get("CapAdd"):
        found.append(f"HostConfig.CapAdd adds {', '.join(str(c) for c in host['CapAdd'])}")
    for bind in host.get("Binds") or []:
        if str(bind).split(":", 1)[0] in ENGINE_SOCKETS:
            found.append(f"HostConfig.Binds mounts the container engine's socket ({bind})")
    for mount in host.get("Mounts") or []:
        if isinstance(mount, Mapping) and mount.get("Source") in ENGINE_SOCKETS:
            found.append(f"HostConfig.Mounts mounts the container engine's socket ({mount['Source']})")
    return found


def _modules(args):
    """(module name, its createOptions as an object) for each module of a deployment manifest."""
    agent = get(plain(args.props), "content", "modulesContent", "$edgeAgent", "properties.desired")
    modules = agent.get("modules") if isinstance(agent, Mapping) else None
    if not isinstance(modules, Mapping):
        return
    for name in sorted(modules):
        settings = get(modules[name], "settings")
        yield name, (_create_options(settings) if isinstance(settings, Mapping) else None) or {}


def edge_modules_unprivileged(args, report: Report) -> None:
    for name, options in _modules(args):
        for problem in _problems(options):
            report(f"{args.name}: IoT Edge module {name!r}: {problem}, which hands the module the device itself; "
                   "remove it from the module's createOptions")


def edge_modules_host_network(args, report: Report) -> None:
    """Host network mode is a rule of its own, advisory by default (config.ADVISORY_BY_DEFAULT):
    mldeploy's edge config offers it (`createOptions.HostConfig.NetworkMode: host`, with
    `hostPort` = `port`), and modules that reach devices on the plant's network need it, while
    Defender for IoT counts it among the privileged options. A platform that forbids it makes
    the rule mandatory in its pack config."""
    for name, options in _modules(args):
        host = options.get("HostConfig") if isinstance(options.get("HostConfig"), Mapping) else {}
        if str(host.get("NetworkMode", "")).lower() == "host":
            report(f"{args.name}: IoT Edge module {name!r}: HostConfig.NetworkMode is host: the module shares the "
                   "device's network stack (every port, every interface); use port bindings unless it must")


POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        name="edge-modules-unprivileged", validate=edge_modules_unprivileged,
        description="IoT Edge modules run unprivileged: no privileged mode, host PID/IPC namespace, added "
                    "capabilities or container engine socket."),
    ResourceValidationPolicy(
        name="edge-modules-host-network", validate=edge_modules_host_network,
        description="IoT Edge modules do not share the device's network (advisory by default)."),
]
