"""IoT Edge: the model module deployed through IoT Hub (guide: "deploy to Azure IoT Edge")."""
from __future__ import annotations

from pydantic import Field, model_validator

from mldeploy.config.base import Settings


class IotHubSettings(Settings):
    name: str = Field(min_length=3, max_length=50)
    sku: str = "S1"
    existing: bool = False


class EdgeSettings(Settings):
    """One edge deployment: the scoring module applied to a device or a target condition."""

    image: str = Field(description="name of an entry in `images`")
    iot_hub: IotHubSettings
    device_id: str | None = None
    target_condition: str | None = None
    priority: int = Field(10, ge=0)
    port: int = Field(5001, ge=1, le=65535)

    @model_validator(mode="after")
    def _where(self):
        if (self.device_id is None) == (self.target_condition is None):
            raise ValueError("set exactly one of deviceId or targetCondition")
        return self
