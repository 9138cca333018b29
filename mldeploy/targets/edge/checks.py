"""The edge target's load-time checks (its row's `check`), run once per entry in name order after
the shared rules (mldeploy/targets/stack.py): a module name the IoT Edge runtime owns, and values
that name one thing in Azure, claimed by one entry only - an IoT hub created here, the free hub,
a device's configuration, the devices of a target condition at one priority. An entry is compared
with the entries before it, so the later one of a clashing pair is the one named."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError
from mldeploy.contract import CREATE_OPTIONS_MAX, chunk_create_options, module_create_options
from mldeploy.plan.versions import iot_edge_runtime_problem, iot_edge_runtime_warning
from mldeploy.targets.edge.config import EdgeSettings

# IoT Edge's system modules (learn.microsoft.com/azure/iot-edge/module-composition: "the
# deployment manifest ... $edgeAgent ... $edgeHub"); a user module of that name collides.
RESERVED_EDGE_MODULES = {"edgeagent", "edgehub"}
# One free (F1) IoT hub per subscription: "Each Azure subscription can have at most 50 IoT hubs,
# and at most 1 Free hub" (iot-hub/iot-hub-devguide-quotas-throttling.md).
MAX_FREE_HUBS = 1
# A module is an IoT Hub module identity named after it: "moduleId ... A case-sensitive string (up
# to 128 characters long)" (iot-hub/iot-hub-devguide-identity-registry.md, module identity
# properties; the same limit in event-grid/event-schema-iot-hub.md, `moduleId`).
MAX_MODULE_NAME = 128
# edgeAgent creates the module's container under the module's name, and Docker refuses a container
# name outside `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$` (moby daemon/names/names.go, RestrictedNamePattern):
# at least two characters, the first a letter or digit. `_diabetes` or `x` would never start.
DOCKER_CONTAINER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")


def check(name: str, edge: EdgeSettings, stack: Any) -> None:
    """Raise a ConfigError naming the key for the first rule `edge.<name>` breaks."""
    key = f"{PROJECT}:edge.{name}"
    if edge.module.lstrip("$").lower() in RESERVED_EDGE_MODULES:
        raise ConfigError(f"{key}.{'moduleName' if edge.module_name else 'image'}",
                          f"module name {edge.module!r} is reserved by the IoT Edge runtime ($edgeAgent, $edgeHub): "
                          "set moduleName")
    if len(edge.module) > MAX_MODULE_NAME:
        raise ConfigError(f"{key}.{'moduleName' if edge.module_name else 'image'}",
                          f"module name of {len(edge.module)} characters: an IoT Edge module is an IoT Hub module "
                          f"identity, whose name is at most {MAX_MODULE_NAME} characters; set a shorter moduleName")
    if not DOCKER_CONTAINER_NAME.fullmatch(edge.module):
        raise ConfigError(f"{key}.{'moduleName' if edge.module_name else 'image'}",
                          f"module name {edge.module!r}: edgeAgent names the module's Docker container after it, and "
                          "Docker's container names are 2 or more of letters, digits, '_', '.', '-', starting with a "
                          "letter or digit")
    entries = sorted(stack.sections["edge"].items())
    before = [(n, e) for n, e in entries if n < name]
    hub = edge.iot_hub
    creators = [n for n, e in entries if not e.iot_hub.existing and e.iot_hub.name.lower() == hub.name.lower()]
    if not hub.existing:
        if creators[0] != name:
            raise ConfigError(f"{key}.iotHub.name", f"IoT hub {hub.name!r} is also created by edge.{creators[0]}; "
                              "hub names are global: one entry creates it, each hub once")
        free = [n for n, e in before if not e.iot_hub.existing and e.iot_hub.sku == "F1"]
        if hub.sku == "F1" and len(free) + 1 > MAX_FREE_HUBS:
            raise ConfigError(f"{key}.iotHub.sku", f"a second free (F1) IoT hub (edge.{free[0]} "
                              "creates one): Azure allows one free hub per subscription")
    elif creators:
        raise ConfigError(f"{key}.iotHub.existing", f"IoT hub {hub.name!r} is created by "
                          f"edge.{creators[0]} in this stack; an existing hub is looked up "
                          "before anything is created: deploy through that entry's hub or name another")
    else:
        _check_existing_hub_group(key, edge, before, stack)
    if edge.target_condition is not None:
        other = next((n for n, e in before if e.target_condition is not None and _layer(e) == _layer(edge)), None)
        if other is not None:
            # A device runs one deployment: "the one with highest priority or, in the case of two
            # deployments with the same priority, the one with the latest creation time" (Azure
            # Pipelines' IoT Edge task reference, `priority`); mldeploy creates a new deployment
            # for every content change, so the two entries would take the devices in turns.
            raise ConfigError(f"{key}.priority", f"edge.{other} targets the same devices "
                              f"({edge.target_condition!r}) of hub {hub.name!r} with the same priority "
                              f"{edge.effective_priority}; give one a higher priority")
    runtime = iot_edge_runtime_problem(edge.runtime_version)
    if runtime is not None:
        raise ConfigError(f"{key}.runtimeVersion", runtime)
    image_env = stack.images[edge.image].environment_variables if edge.image in stack.images else {}
    if image_env:
        # The module's Env is the image's environmentVariables under `env` (plan.py): the whole must still fit
        # createOptions, which config checked for `env` alone.
        merged = {**image_env, **edge.env}
        try:
            chunk_create_options(module_create_options(edge.port, edge.host_port or edge.port, merged,
                                                       dict(edge.create_options)))
        except ValueError:
            raise ConfigError(f"{key}.env", f"env with images.{edge.image}.environmentVariables makes the module's "
                              f"createOptions longer than IoT Edge takes ({CREATE_OPTIONS_MAX} characters as JSON, "
                              "written there as Env): move large values into the image or a file") from None
    if edge.device_id is not None:
        other = next((n for n, e in before if e.device_id == edge.device_id
                      and e.iot_hub.name.lower() == hub.name.lower()), None)
        if other is not None:
            # applyConfigurationContent replaces a device's whole configuration: the second
            # entry would silently undo the first on every run.
            raise ConfigError(f"{key}.deviceId", f"device {edge.device_id!r} of hub {hub.name!r} "
                              f"is also edge.{other}'s; a device has one deployment manifest, so the entries "
                              "would replace each other: deploy to another device, or use at-scale "
                              "deployments (targetCondition) with priorities")


def _check_existing_hub_group(key: str, edge: EdgeSettings, before: list, stack: Any) -> None:
    """An existing hub is one hub whatever entry names it: its name is global (the hub is
    `<name>.azure-devices.net`; IoT Hub's checkNameAvailability takes a name and a subscription, no
    resource group: learn.microsoft.com/rest/api/iothub/iot-hub-resource/check-name-availability),
    so two entries naming it in two resource groups look one of them up where it is not."""
    hub = edge.iot_hub
    group = hub.resource_group or stack.resource_group_name
    for other, entry in before:
        if entry.iot_hub.existing and entry.iot_hub.name.lower() == hub.name.lower():
            other_group = entry.iot_hub.resource_group or stack.resource_group_name
            if other_group.lower() != group.lower():
                raise ConfigError(f"{key}.iotHub.resourceGroup",
                                  f"IoT hub {hub.name!r} is looked up in resource group {group!r} here and in "
                                  f"{other_group!r} by edge.{other}; hub names are global, so it is one hub in one "
                                  "resource group: give both entries the same resourceGroup")


def _layer(edge: EdgeSettings) -> tuple[str, str, int]:
    """The devices an at-scale entry takes, and at which priority."""
    return edge.iot_hub.name.lower(), " ".join(edge.target_condition.split()), edge.effective_priority


def runtime_warnings(stack: Any, today: date) -> list[str]:
    """A line for each entry whose IoT Edge runtime is past its date on `today`, or unknown to the dated table."""
    lines = (iot_edge_runtime_warning(f"{PROJECT}:edge.{name}.runtimeVersion", entry.runtime_version, today)
             for name, entry in sorted(stack.sections.get("edge", {}).items()))
    return [line for line in lines if line is not None]


def warnings(stack: Any) -> list[str]:
    """The row's `warnings`: synth and the program warn about an expired runtime as of today."""
    return runtime_warnings(stack, date.today())
