"""IoT Edge: the model module deployed through IoT Hub (guide: "deploy to Azure IoT Edge")."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from mldeploy.config.base import ResourceGroupName, Settings
from mldeploy.contract import (DEFAULT_IOT_EDGE_RUNTIME, ENV_NAME_RE, MODULE_NAME_RE, SCORER_PORT, chunk_create_options,
                               module_create_options)

ADMIN_USER_WHY = (
    "IoT Edge devices pull the model image with the workspace registry's admin user name and "
    "password (as the guide's script does with `az acr credential show`); set "
    "registryAdminUser: true to declare that need - it enables the registry's admin user and puts "
    "its credentials, as secrets, into the deployment manifest"
)


class IotHubSettings(Settings):
    """The IoT Hub the deployment is applied through: created here, or an existing one."""

    name: str = Field(pattern=r"^[A-Za-z0-9-]{3,50}$", description="IoT Hub name (globally unique)")
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

    @model_validator(mode="after")
    def _group_only_for_existing(self):
        if self.resource_group is not None and not self.existing:
            raise ValueError("resourceGroup applies only to an existing hub (existing: true)")
        return self


class EdgeSettings(Settings):
    """One edge deployment: the scoring module applied to a device or a target condition."""

    image: str = Field(description="name of an entry in `images`")
    iot_hub: IotHubSettings = Field(description="the IoT Hub the deployment goes through")
    registry_admin_user: bool = Field(False, description=ADMIN_USER_WHY)
    device_id: str | None = Field(None, description="one device to deploy to (or targetCondition)", pattern=r"^[A-Za-z0-9\-:.+%_#*?!(),=@$']{1,128}$")
    target_condition: str | None = Field(None, min_length=1, max_length=4096, description="devices of an at-scale deployment, e.g. `tags.environment='prod'`")
    priority: int | None = Field(None, ge=0, le=2_147_483_647, description="at-scale deployments; default 10")
    labels: dict[str, str] = Field(default_factory=dict, description="labels of the at-scale deployment")
    module_name: str | None = Field(None, pattern=MODULE_NAME_RE.pattern, description="default: the entry's name")
    port: int = Field(SCORER_PORT, ge=1, le=65535, description="the scorer's port in the container")
    host_port: int | None = Field(None, ge=1, le=65535, description="the device's port; default: port")
    restart_policy: Literal["always", "on-failure", "on-unhealthy", "never"] = Field("always", description="the module's restart policy")
    status: Literal["running", "stopped"] = Field("running", description="desired module status")
    env: dict[str, str] = Field(default_factory=dict, description="environment variables of the module")
    routes: dict[str, str] | None = Field(None, description="default: the module's outputs to $upstream")
    runtime_version: str = Field(DEFAULT_IOT_EDGE_RUNTIME, pattern=r"^\d+\.\d+$", description="IoT Edge runtime (edgeAgent/edgeHub) version; one past its support date is warned about at synth")
    # Last: its check needs port, hostPort and env (validated above) to size the whole value.
    create_options: dict[str, Any] = Field(default_factory=dict, validate_default=True, description="extra Docker createOptions merged into the module's (size-checked)")

    @field_validator("env")
    @classmethod
    def _env_names(cls, env: dict[str, str]) -> dict[str, str]:
        for name in env:
            if not ENV_NAME_RE.match(name):
                raise ValueError(f"environment variable name {name!r} may not hold '+', '#', '$', '.' or spaces")
        return env

    @field_validator("routes")
    @classmethod
    def _route_names(cls, routes: dict[str, str] | None) -> dict[str, str] | None:
        for name, route in (routes or {}).items():
            if any(c in name for c in ".$# ") or not route.strip():
                raise ValueError(f"route {name!r}: names may not hold '.', '$', '#' or spaces; routes may not be empty")
        return routes

    @field_validator("create_options")
    @classmethod
    def _create_options_fit(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        data = info.data
        if "port" not in data or "env" not in data:
            return value  # an earlier field already failed; that error is reported
        port = data["port"]
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
        if not self.registry_admin_user:
            raise ValueError(f"registryAdminUser must be true: {ADMIN_USER_WHY}")
        return self

    @property
    def module(self) -> str:
        return self.module_name or self.image

    @property
    def effective_priority(self) -> int:
        return 10 if self.priority is None else self.priority
