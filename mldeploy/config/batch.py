"""Batch scoring on Azure ML compute (guide: "inference with Azure ML compute")."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mldeploy.config.base import Settings
from mldeploy.config.files import ExistingFile


class BatchSettings(Settings):
    """An AmlCompute cluster plus a batch endpoint/deployment for one registered model."""

    model: str = Field(description="name of an entry in `models`")
    entry_script: ExistingFile
    conda_file: ExistingFile | None = None
    requirements_file: ExistingFile | None = None
    vm_size: str = "Standard_DS3_v2"
    vm_priority: Literal["dedicated", "lowPriority"] = "dedicated"
    min_nodes: int = Field(0, ge=0, le=1000)
    max_nodes: int = Field(4, ge=1, le=1000)
    idle_seconds_before_scaledown: int = Field(120, ge=0)
    mini_batch_size: int = Field(10, ge=1)
    max_retries: int = Field(3, ge=0)
    error_threshold: int = Field(-1, ge=-1)

    @model_validator(mode="after")
    def _nodes(self):
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"minNodes ({self.min_nodes}) must be <= maxNodes ({self.max_nodes})")
        return self
