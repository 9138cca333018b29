"""`target: local`'s settings: the scorer and the gateway on this machine."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mldeploy.config.service import ServiceSettings
from mldeploy.contract import GATEWAY_PORT


class LocalServiceSettings(ServiceSettings):
    """The embedded default: scorer + gateway as processes on this machine."""

    target: Literal["local"] = Field(description="`local`: scorer + gateway as processes on this machine")
    port: int = Field(GATEWAY_PORT, ge=1024, le=65535, description="the gateway's port on 127.0.0.1")

    @property
    def in_azure(self) -> bool:
        return False

    @model_validator(mode="after")
    def _no_azure_telemetry(self):
        if self.app_insights_enabled:
            raise ValueError("appInsightsEnabled applies to Azure targets (aci, aks, fpga); a local service "
                             "has no workspace Application Insights: its logs are in .mldeploy/local/")
        return self
