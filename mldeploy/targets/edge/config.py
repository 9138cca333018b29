"""The `edge:` section's config model: the model module deployed through IoT Hub (guide: "deploy to Azure IoT Edge")."""
from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from mldeploy.nested import leaves
from mldeploy.config.base import (ENV_NAME, NotReserved, ResourceGroupName, Settings, check_image_env_name,
                                  env_vars, looks_secret, matching)
from mldeploy.config.errors import shown
from mldeploy.config.section import SectionSettings
from mldeploy.targets.edge.condition import condition_problem, route_condition_problem, shown_condition
from mldeploy.contract import (CREATE_OPTIONS_MAX, DEFAULT_IOT_EDGE_RUNTIME, EDGE_HUB_HOST_PORTS, MODULE_NAME_RE,
                               SCORER_PORT, chunk_create_options, module_create_options, serialize_create_options)

# A module's environment is its createOptions `Env`, a string inside the deployment manifest's module settings,
# which IoT Hub stores and each device's edge agent reads ("createOptions ... Env", learn.microsoft.com/azure/
# iot-edge/how-to-use-create-options): there is no secret field.
SECRET_ENV_INSTEAD = ("an IoT Edge module's environment is its createOptions `Env`, plain text in the deployment "
                      "manifest every device reads: read the secret in init() from a file or service on the device")
EdgeEnvVars = env_vars(SECRET_ENV_INSTEAD)

ADMIN_USER_NEED = "iot-edge"  # the registry's mldeploy-admin-user-need tag (the row's registry_admin_user_needs)
ADMIN_USER_WHY = (
    "IoT Edge devices pull the model image with the workspace registry's admin user name and "
    "password (as the guide's script does with `az acr credential show`); set "
    "registryAdminUser: true to declare that need - it enables the registry's admin user and puts "
    "its credentials, as secrets, into the deployment manifest"
)


# Units per tier: "up to 200 units for the B1, B2, S1, or S2 edition, or up to 10 units for the B3
# or S3 edition"; the free tier is one unit (iot-hub/iot-hub-scaling.md, "Tier editions and
# units"; the quotas table lists "Maximum units" S1 200, S2 200, S3 10, F1 1).
MAX_UNITS = {"F1": 1, "S1": 200, "S2": 200, "S3": 10}
# An IoT Edge route: `FROM <source> [WHERE <condition>] INTO <sink>` (iot-edge/module-composition.md,
# "Declare routes").
ROUTE_RE = re.compile(r"^\s*FROM\s+\S+(\s+WHERE\s+.+?)?\s+INTO\s+\S+.*$", re.IGNORECASE | re.DOTALL)
# Its sink: "`$upstream` ... `BrokeredEndpoint("/modules/<moduleId>/inputs/<input>")` ... There are no
# wildcard options in the sink property" (the same article, "Sink"). mldeploy's manifest is a whole
# deployment (edgeAgent, edgeHub and this module), so a route naming another module names nothing.
ROUTE_SINK_RE = re.compile(r'\s+INTO\s+(\$upstream|BrokeredEndpoint\("/modules/([^/"]+)/inputs/([^/"*]+)"\))\s*$',
                           re.IGNORECASE)
ROUTE_WHERE_RE = re.compile(r"^\s*FROM\s+\S+\s+WHERE\s+", re.IGNORECASE)
# A route is a property of edgeHub's module twin (`properties.desired.routes.<name>`), and IoT Hub bounds twin
# documents: "All keys in JSON objects are UTF-8 encoded, case-sensitive, and up-to 1 KB in length", "String values
# are UTF-8 encoded and can have a maximum length of 4 KB", and "a 32-KB size limit each on the value of
# properties/desired" - counted as the keys' and string values' lengths, 8 per number (iot-hub/
# iot-hub-devguide-device-twins.md, "Tags and properties format" and "Device twin size"; module twins have the
# same structure: iot-hub-devguide-module-twins.md). IoT Hub refuses the whole deployment otherwise.
TWIN_KEY_MAX = 1024
TWIN_STRING_MAX = 4 * 1024
TWIN_DESIRED_MAX = 32 * 1024
# What edgeHub's desired properties hold besides the routes (render/edge_manifest.py render_manifest):
# `schemaVersion: "1.1"`, `routes`, `storeAndForwardConfiguration.timeToLiveSecs` (a number).
EDGE_HUB_FIXED_TWIN_SIZE = (len("schemaVersion") + len("1.1") + len("routes") + len("storeAndForwardConfiguration")
                            + len("timeToLiveSecs") + 8)
TARGET_CONDITION_FIELD = re.compile(r"(?<![\w.$])(tags\.|properties\.(reported|desired)\.|deviceId\b|capabilities\.)")
ROUTE_MODULE_RE = re.compile(r"/modules/([^/\"\s]+)")


def _json_value(value: Any, where: str) -> None:
    """Raise when `value` is not plain JSON: Docker reads createOptions as JSON text."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"createOptions{where}: key {key!r} is not a string (JSON object keys are strings)")
            _json_value(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _json_value(item, f"{where}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"createOptions{where}: {value} is not a JSON number")
    elif value is not None and not isinstance(value, (str, int, float, bool)):
        raise ValueError(f"createOptions{where}: a YAML {type(value).__name__} is not JSON; quote it as a string")
    if where == ".Env" and isinstance(value, list):
        # Docker's `Env` list ("NAME=value"): the same rule as the entry's `env` map.
        for item in value:
            if isinstance(item, str) and looks_secret(item.partition("=")[0], item.partition("=")[2]):
                raise ValueError(f"createOptions.Env: {item.partition('=')[0]!r} holds a password, key or token in "
                                 "plain text (written into the deployment manifest)")


# The shapes Docker's Engine API gives the createOptions keys a scoring module sets (Engine API
# v1.41, ContainerCreate: ContainerConfig.Env "A list of environment variables ... in the form
# ["VAR=value", ...]", Cmd/Entrypoint arrays of strings, Labels a map of strings, ExposedPorts a map
# of "<port>/<protocol>" to {}; HostConfig an object whose PortBindings map "<port>/<protocol>" to a
# list of {HostIp, HostPort} strings and Binds is a list of strings). IoT Edge hands them to Docker
# as they are: a wrong shape surfaces only on the device, as a module that never starts.
_DOCKER_LISTS_OF_STRINGS = ("Env", "Cmd", "Entrypoint")
_PORT_KEY = re.compile(r"^\d{1,5}(/(tcp|udp|sctp))?$")


# Docker reads createOptions keys without case: Go's encoding/json, which the Engine API decodes the create
# request with, matches object keys to fields "preferring an exact match but also accepting a case-insensitive
# match" (pkg.go.dev/encoding/json, Unmarshal). `hostConfig` is Docker's HostConfig, but the checks below (an
# edgeHub port, env replaced, a binding overriding hostPort) read the exact names: such a key is refused.
_CHECKED_KEYS = {"": ("Env", "Cmd", "Entrypoint", "Labels", "ExposedPorts", "HostConfig"),
                 "HostConfig": ("PortBindings", "Binds")}


def _docker_names(options: dict[str, Any]) -> None:
    """Raise for a key written in another case than Docker's, or two keys that are one for Docker."""
    for where, mapping in (("", options), ("HostConfig", options.get("HostConfig"))):
        if not isinstance(mapping, dict):
            continue
        prefix = f"createOptions.{where + '.' if where else ''}"
        seen: dict[str, str] = {}
        for key in mapping:
            other = seen.setdefault(key.lower(), key)
            if other != key:
                raise ValueError(f"{prefix}{key} and {prefix}{other} are one key for Docker, which reads keys without "
                                 "case (Go's encoding/json): write it once")
            known = next((k for k in _CHECKED_KEYS[where] if k.lower() == key.lower()), None)
            if known is not None and known != key:
                raise ValueError(f"{prefix}{key}: write it as Docker's Engine API names it, {known!r} (Docker reads keys "
                                 "without case, so this is its " f"{known}, which mldeploy checks under that name)")


def _docker_shape(options: dict[str, Any]) -> None:
    """Raise when a createOptions key Docker knows has another shape, or holds a secret in plain text."""
    _docker_names(options)
    for key in _DOCKER_LISTS_OF_STRINGS:
        if key in options and not (isinstance(options[key], list) and all(isinstance(i, str) for i in options[key])):
            raise ValueError(f"createOptions.{key} must be a list of strings (Docker's Engine API), got {shown(options[key])}")
    for item in options.get("Env", []):
        name, eq, text = item.partition("=")
        if not eq or not ENV_NAME.fullmatch(name):
            raise ValueError(f"createOptions.Env: {item[:40]!r} is not NAME=value (Docker's Env form) with a portable name")
        check_image_env_name(name)
    for key in ("Cmd", "Entrypoint"):
        args = options.get(key, [])
        for flag, value in zip(args, args[1:] + [""]):
            name, eq, inline = flag.lstrip("-").partition("=")
            if flag.startswith("-") and looks_secret(name, inline if eq else value):
                raise ValueError(f"createOptions.{key}: {flag.split('=')[0]!r} passes a password, key or token in plain "
                                 "text (written into the deployment manifest)")
    for text in leaves(options):
        # A credential by its shape anywhere in the options (a positional Cmd argument, a Healthcheck
        # command, a bind's URL): the options are written into the deployment manifest in plain text.
        if isinstance(text, str) and looks_secret("", text):
            raise ValueError("createOptions holds a password, key or token in plain text (a connection string's "
                             "key, a URL with a password, a token): the options are written into the deployment manifest")
    for key in ("Labels", "ExposedPorts", "HostConfig"):
        if key in options and not isinstance(options[key], dict):
            raise ValueError(f"createOptions.{key} must be a mapping (Docker's Engine API), got {shown(options[key])}")
    for name, text in options.get("Labels", {}).items():
        if not isinstance(text, str):
            raise ValueError(f"createOptions.Labels.{name}: label values are strings")
        if looks_secret(name, text):
            raise ValueError(f"createOptions.Labels.{name} holds a password, key or token in plain text (written into "
                             "the deployment manifest, shown by `docker inspect`)")
    bindings = options.get("HostConfig", {}).get("PortBindings", {})
    if not isinstance(bindings, dict):
        raise ValueError("createOptions.HostConfig.PortBindings must be a mapping of '<port>/tcp' to bindings")
    for port, binds in bindings.items():
        if not _PORT_KEY.match(port) or not isinstance(binds, list) or not all(isinstance(b, dict) for b in binds):
            raise ValueError(f"createOptions.HostConfig.PortBindings.{port}: Docker's form is "
                             "'<port>/tcp': [{HostPort: '<port>'}]")
        for bind in binds:
            # HostPort is a string: a port, "" (Docker picks a free one) or a range "8000-8010" (the first
            # free one; Docker's nat.ParsePortSpec, the `-p 8000-8010:5001` form).
            host = bind.get("HostPort")
            ends = host.split("-", 1) if isinstance(host, str) and host else []
            if host is not None and not (host == "" or (ends and all(e.isdigit() and 0 < int(e) <= 65535 for e in ends)
                                                         and int(ends[0]) <= int(ends[-1]))):
                raise ValueError(f"createOptions.HostConfig.PortBindings.{port}: HostPort must be a port number as a "
                                 f"string ('1'-'65535'), a range ('8000-8010') or '' (any free port), got {shown(host)}")
            if len(ends) == 1:
                _not_edge_hubs(f"createOptions.HostConfig.PortBindings.{port} HostPort", int(host))


def _one_place(options: dict[str, Any], port: int, host_port: int | None, env: dict[str, str]) -> None:
    """Raise when createOptions says again, differently, what `env` or `hostPort` says: the user's
    options are merged over the module's (contract.module_create_options), and a list or a port
    binding replaces the module's whole value, so one of the two settings would be dropped silently."""
    if env and "Env" in options:
        raise ValueError(f"createOptions.Env replaces the module's whole environment, so env's {len(env)} "
                         f"variable(s) ({', '.join(sorted(env)[:3])}) would be dropped: set the variables in env only")
    host_config = options.get("HostConfig", {})
    mode = next((v for k, v in host_config.items() if k.lower() == "networkmode"), None)
    if isinstance(mode, str) and mode.lower() == "host" and host_port is not None and host_port != port:
        # Docker's host network driver: "port-mapping doesn't take effect, and the -p, --publish, -P, and
        # --publish-all option are ignored" (docs.docker.com/engine/network/drivers/host): the scorer answers
        # on the device's port `port`, and hostPort would name a port nothing listens on.
        raise ValueError(f"hostPort {host_port} applies only with Docker's bridge network: with createOptions."
                         f"HostConfig.NetworkMode 'host' port bindings are discarded and the module answers on the "
                         f"device's port {port} (its port): remove hostPort, or set port to {host_port}")
    bindings = host_config.get("PortBindings", {})
    for key in (f"{port}/tcp", str(port)):
        hosts = sorted({str(b.get("HostPort")) for b in bindings.get(key, [])})
        if host_port is not None and hosts and hosts != [str(host_port)]:
            raise ValueError(f"createOptions.HostConfig.PortBindings.{key} binds the module's port to host port "
                             f"{', '.join(repr(h) for h in hosts)} while hostPort is {host_port}: the binding replaces "
                             "hostPort's; set the device's port in one place")


def _not_edge_hubs(key: str, port: int | None) -> None:
    if port in EDGE_HUB_HOST_PORTS:
        raise ValueError(f"{key} {port} on the device is edgeHub's ({', '.join(map(str, EDGE_HUB_HOST_PORTS))}: "
                         "HTTPS, AMQP, MQTT); the module's host port must be another")


class IotHubSettings(Settings):
    """The IoT Hub the deployment is applied through: created here, or an existing one."""

    # Microsoft.Devices/IotHubs: 3-50 alphanumerics and hyphens, "Can't end with hyphen"
    # (azure-resource-manager/management/resource-name-rules.md).
    # Its endpoint is <name>.azure-devices.net: ARM's reserved-word rule applies (config/base.py NotReserved).
    name: Annotated[str, matching(r"[A-Za-z0-9-]{2,49}[A-Za-z0-9]", "an IoT hub name is 3-50 letters, digits and '-', "
                                  "not ending with '-'"), NotReserved] = Field(description="IoT Hub name (globally unique)")
    # Basic tiers (B1-B3) have no module twins, so they cannot run IoT Edge.
    sku: Literal["F1", "S1", "S2", "S3"] = Field("S1", description="hub tier; basic tiers cannot run IoT Edge")
    capacity: int = Field(1, ge=1, le=200, description="hub units")
    existing: bool = Field(False, description="use an existing hub instead of creating one")
    resource_group: ResourceGroupName | None = Field(None, description="of an existing hub; default: the stack's")
    # Applying a deployment writes module twins' desired properties (ServiceConnect: "access twins to
    # update tags and desired properties") as well as registry entries (RegistryWrite); the built-in
    # registryReadWrite policy has only RegistryRead/RegistryWrite (learn.microsoft.com/azure/iot-hub/
    # authenticate-authorize-sas, "IoT hub-level shared access policies"). iothubowner, present in
    # every hub, has all permissions; a custom policy with RegistryRead, RegistryWrite and
    # ServiceConnect is the least-privilege choice.
    access_policy: str = Field("iothubowner", description="shared access policy used to apply the deployment; "
                               "needs RegistryRead, RegistryWrite and ServiceConnect (registryReadWrite lacks ServiceConnect)")

    @field_validator("access_policy")
    @classmethod
    def _a_policy_name(cls, value: str) -> str:
        # mldeploy reads the policy's key itself (listKeys); a connection string or key pasted here
        # would sit in the stack file in plain text.
        if any(c in value for c in ";=/ ") or looks_secret("access_policy", value) or not 0 < len(value) <= 64:
            raise ValueError("accessPolicy is the name of a shared access policy (iothubowner, service, or "
                             "your own), not a connection string or key: mldeploy reads its key at deploy")
        return value

    @model_validator(mode="after")
    def _group_only_for_existing(self):
        if self.resource_group is not None and not self.existing:
            raise ValueError("resourceGroup applies only to an existing hub (existing: true)")
        if self.existing:
            self._only_in_another_mode({"sku", "capacity"}, "only to a hub created here; an existing hub "
                                       "(existing: true) keeps its own tier and units", join=" and ")
        elif self.access_policy != "iothubowner":
            # mldeploy creates the hub with Azure's default policies only: "iothubowner: all permissions;
            # service: ServiceConnect; device: DeviceConnect; registryRead: RegistryRead;
            # registryReadWrite: RegistryRead and RegistryWrite" (iot-hub/iot-hub-devguide-security.md,
            # "a newly created IoT hub has the following default policies"). Of those only iothubowner
            # can apply a deployment; any other name is a policy the new hub does not have.
            raise ValueError(f"accessPolicy {self.access_policy!r} on a hub created here: a new hub has only Azure's "
                             "default policies, and of those only iothubowner has RegistryRead, RegistryWrite and "
                             "ServiceConnect (remove accessPolicy, or name a policy of an existing hub)")
        limit = MAX_UNITS[self.sku]
        if self.capacity > limit:
            raise ValueError(f"capacity {self.capacity}: an IoT hub of tier {self.sku} has at most {limit} "
                             f"unit{'s' if limit > 1 else ''} (F1 1, S1 and S2 200, S3 10)")
        return self


# A target condition is a query on device twins in IoT Hub's query language, which says "Query
# expressions can have a maximum length of 8192 characters" (learn.microsoft.com/azure/iot-hub/
# iot-hub-devguide-query-language, under its jobs queries; read 2026-12-05): the nearest documented
# limit - a target condition has none of its own - so nothing shorter is refused.
TARGET_CONDITION_MAX = 8192
# IoT Hub configuration (at-scale deployment) labels: "Both keys and values are case-sensitive strings
# (up to 128 char long) of ASCII 7-bit alphanumeric chars + {'-', ':', '.', '+', '%', '_', '#', '*',
# '?', '!', '(', ')', ',', '=', '@', ';', '''} (Note that $ is reserved)" (IoT Hub's Configuration
# object, learn.microsoft.com/javascript/api/azure-iothub/configuration, `labels`; read 2026-12-05).
LABEL_MAX = 128
LABEL_PUNCTUATION = "- : . + % _ # * ? ! ( ) , = @ ; '"
_LABEL_CHARS = r"[A-Za-z0-9\-:.+%_#*?!(),=@;']"
_LABEL_NAME = re.compile(_LABEL_CHARS + "{1,%d}" % LABEL_MAX)
_LABEL_VALUE = re.compile(_LABEL_CHARS + "{0,%d}" % LABEL_MAX)


class EdgeSettings(SectionSettings):
    """One edge deployment: the scoring module applied to a device or a target condition."""

    image: str = Field(description="name of an entry in `images`")
    iot_hub: IotHubSettings = Field(description="the IoT Hub the deployment goes through")
    registry_admin_user: bool = Field(False, description=ADMIN_USER_WHY)
    device_id: str | None = Field(None, description="one device to deploy to (or targetCondition)", pattern=r"^[A-Za-z0-9\-:.+%_#*?!(),=@$']{1,128}$")
    target_condition: str | None = Field(None, min_length=1, max_length=TARGET_CONDITION_MAX, description="devices of an at-scale deployment, e.g. `tags.environment='prod'`")
    priority: int | None = Field(None, ge=0, le=2_147_483_647, description="at-scale deployments; default 10")
    labels: dict[str, str] = Field(default_factory=dict, description="labels of the at-scale deployment")
    module_name: str | None = Field(None, pattern=MODULE_NAME_RE.pattern, description="the module's name on the devices; default: the image's name, so a new image renames the module (set it to keep one name)")
    port: int = Field(SCORER_PORT, ge=1, le=65535, description="the scorer's port in the container")
    host_port: int | None = Field(None, ge=1, le=65535, description="the device's port; default: port")
    restart_policy: Literal["always", "on-failure", "on-unhealthy", "never"] = Field("always", description="the module's restart policy")
    status: Literal["running", "stopped"] = Field("running", description="desired module status")
    env: EdgeEnvVars = Field(default_factory=dict, description="environment variables of the module")
    routes: dict[str, str] | None = Field(None, description="default: the module's outputs to $upstream")
    runtime_version: str = Field(DEFAULT_IOT_EDGE_RUNTIME, pattern=r"^\d+\.\d+(\.\d+)?$", description="IoT Edge runtime (edgeAgent/edgeHub) version, the images' tag: a release in mldeploy's dated table (mldeploy/plan/versions.py; another is refused); `1.6` follows Microsoft's newest 1.6.x (a rolling tag), `1.6.<patch>` pins one release; one past its support date is warned about at synth")
    # Last: its check needs port, hostPort and env (validated above) to size the whole value.
    create_options: dict[str, Any] = Field(default_factory=dict, validate_default=True, description="extra Docker createOptions merged into the module's (size-checked)")

    @field_validator("host_port")
    @classmethod
    def _free_host_port(cls, value: int | None) -> int | None:
        _not_edge_hubs("hostPort", value)
        return value

    @field_validator("target_condition")
    @classmethod
    def _selects_devices(cls, value: str | None) -> str | None:
        # A target condition selects devices by "deviceId (e.g. deviceId='{id}') ... device twin tag
        # criteria (e.g. tags.environment = 'prod' AND tags.location = 'westus') ... reported property
        # criteria (e.g. properties.reported.lastStatus='200')" (microsoft/vscode-azure-iot-toolkit wiki,
        # "Create Deployment at Scale"; learn.microsoft.com/azure/iot-edge/module-deployment-monitoring,
        # "Target condition"). A condition naming none of them (`environment='edge'`) matches no device.
        problem = None if value is None else condition_problem(value)
        if problem is not None:
            raise ValueError(f"{shown_condition(value)} does not parse as IoT Hub's query language, in which "
                             f"IoT Hub selects the devices: {problem} (a condition on the device twin such as "
                             "tags.environment='prod' AND tags.site IN ['a', 'b'])")
        if value is not None and not TARGET_CONDITION_FIELD.search(value):
            raise ValueError(f"{value!r} names no device field: a target condition selects devices by "
                             "tags.<name>, properties.reported.<name> or deviceId (e.g. tags.environment='prod')")
        return value

    @field_validator("device_id")
    @classmethod
    def _device_not_a_path(cls, value: str | None) -> str | None:
        if value in (".", ".."):
            raise ValueError(f"{value!r} is a path segment, not a device: the id goes into the IoT Hub URL "
                             "/devices/<deviceId>/applyConfigurationContent")
        return value

    @field_validator("routes")
    @classmethod
    def _route_names(cls, routes: dict[str, str] | None, info: ValidationInfo) -> dict[str, str] | None:
        for name, route in (routes or {}).items():
            # edgeHub builds each route with `RouteConfig(name, ...)`, whose `Preconditions.CheckNonWhiteSpace(name)`
            # throws for an empty name, and its config parser then refuses the whole routes map ("Error parsing
            # route"): Azure/iotedge edge-hub/core/src/Microsoft.Azure.Devices.Edge.Hub.Core/config/RouteConfig.cs
            # and EdgeHubConfigParser.cs ParseRoutesWithPriority.
            if not name.strip():
                raise ValueError("a route has an empty name: edgeHub refuses a route whose name is empty or whitespace "
                                 "(and with it every route of the deployment); name it, e.g. scoresToUpstream")
            if any(c in name for c in ".$# ") or not route.strip():
                raise ValueError(f"route {name!r}: names may not hold '.', '$', '#' or spaces; routes may not be empty")
            if not ROUTE_RE.match(route):
                raise ValueError(f"route {name!r} is not an IoT Edge route: `FROM <source> [WHERE <condition>] "
                                 "INTO <sink>`, e.g. FROM /messages/modules/diabetes/outputs/* INTO $upstream")
            sink = ROUTE_SINK_RE.search(route)
            where = ROUTE_WHERE_RE.match(route)
            problem = route_condition_problem(route[where.end():sink.start()]) if where and sink else None
            if problem is not None:
                raise ValueError(f"route {name!r}: its WHERE condition does not parse ({problem}); edgeHub refuses "
                                 "such a route, and with it every route of the deployment")
            if not sink:
                raise ValueError(f"route {name!r}: its sink (after INTO) must be $upstream or "
                                 "BrokeredEndpoint(\"/modules/<module>/inputs/<input>\") (IoT Edge has no other sink "
                                 "and no wildcard in one)")
            if len(name.encode()) > TWIN_KEY_MAX or len(route.encode()) > TWIN_STRING_MAX:
                raise ValueError(f"route {name[:40]!r}: its name is {len(name.encode())} bytes and the route "
                                 f"{len(route.encode())}; a route is a property of edgeHub's module twin, where IoT Hub "
                                 f"takes names up to {TWIN_KEY_MAX} bytes and strings up to {TWIN_STRING_MAX}")
            module = info.data.get("module_name") or info.data.get("image")
            other = next((m for m in ROUTE_MODULE_RE.findall(route) if m != module), None)
            if module is not None and other is not None:
                raise ValueError(f"route {name!r} names module {other!r}, which this deployment does not have: its "
                                 f"manifest holds edgeAgent, edgeHub and {module!r} only")
        size = EDGE_HUB_FIXED_TWIN_SIZE + sum(len(n.encode()) + len(r.encode()) for n, r in (routes or {}).items())
        if size > TWIN_DESIRED_MAX:
            raise ValueError(f"the routes make edgeHub's desired properties {size} bytes (IoT Hub's twin size: names "
                             f"and strings counted); a module twin's desired properties are at most {TWIN_DESIRED_MAX}: "
                             "use fewer or shorter routes")
        return routes

    @field_validator("create_options")
    @classmethod
    def _create_options_fit(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        data = info.data
        if "port" not in data or "env" not in data:
            return value  # an earlier field already failed; that error is reported
        _json_value(value, "")
        _docker_shape(value)
        port = data["port"]
        _one_place(value, port, data.get("host_port"), data["env"])
        if value:  # without createOptions, env alone fills them: _where names env (this default has no key to name)
            chunk_create_options(module_create_options(port, data.get("host_port") or port, data["env"], value))
        return value

    @model_validator(mode="after")
    def _where(self):
        if (self.device_id is None) == (self.target_condition is None):
            raise ValueError(
                "set exactly one of deviceId (one device) or targetCondition (an at-scale deployment, "
                "e.g. \"tags.environment='prod'\")"
            )
        if self.priority is not None and self.target_condition is None:
            raise ValueError("priority applies only to an at-scale deployment (targetCondition)")
        if self.host_port is None:
            _not_edge_hubs("port (the device's port when hostPort is omitted)", self.port)
        if not self.create_options:
            try:  # env is written into the module's createOptions as Env: its size counts there
                chunk_create_options(module_create_options(self.port, self.host_port or self.port, self.env, {}))
            except ValueError:
                size = len(serialize_create_options(module_create_options(self.port, self.host_port or self.port,
                                                                          self.env, {})))
                raise ValueError(f"env makes the module's createOptions {size} characters as JSON (env is written there "
                                 f"as Env); IoT Edge takes at most {CREATE_OPTIONS_MAX} (createOptions, createOptions01.."
                                 "createOptions07, 512 each): move large values into the image or a file") from None
        if self.labels and self.target_condition is None:
            raise ValueError("labels apply only to an at-scale deployment (targetCondition); a single device's "
                             "configuration has none")
        secret = sorted(k for k, v in self.labels.items() if looks_secret(k, v))
        if secret:
            raise ValueError(f"label {secret[0]!r} holds a password, key or token in plain text: deployment labels "
                             "are shown to anyone who can read the hub's configurations")
        reserved = sorted(k for k in self.labels if k.lower().startswith("mldeploy-"))
        if reserved:
            raise ValueError(f"label {reserved[0]!r} is reserved: mldeploy labels its deployments with "
                             "mldeploy-* names (mldeploy-entry)")
        for label, value in sorted(self.labels.items()):
            for what, text, pattern in (("name", label, _LABEL_NAME), ("value", value, _LABEL_VALUE)):
                if not pattern.fullmatch(text):
                    raise ValueError(f"label {label!r}: its {what} {text[:40]!r} is not an IoT Hub configuration label: "
                                     f"at most {LABEL_MAX} characters of ASCII letters, digits and {LABEL_PUNCTUATION} "
                                     "(no spaces; '$' is reserved)")

        if not self.registry_admin_user:
            raise ValueError(f"registryAdminUser must be true: {ADMIN_USER_WHY}")
        return self

    def image_references(self) -> list[tuple[str, str]]:
        return [("image", self.image)]

    def images_built(self) -> set[str]:
        return {self.image}  # the device pulls it from the workspace registry

    @property
    def registry_admin_user_need(self) -> str | None:
        return ADMIN_USER_NEED if self.registry_admin_user else None

    @property
    def module(self) -> str:
        return self.module_name or self.image

    @property
    def effective_priority(self) -> int:
        return 10 if self.priority is None else self.priority
