"""Batch scoring on Azure ML compute (guide: "inference with Azure ML compute"): an AmlCompute
cluster that scales to zero, and a batch endpoint + deployment for one registered model."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mldeploy.config.base import Settings
from mldeploy.config.files import ExistingFile

# The Azure ML base image batch jobs run on (conda environment built on top of it).
DEFAULT_BATCH_BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"


class BatchSettings(Settings):
    """An AmlCompute cluster plus a batch endpoint/deployment for one registered model."""

    model: str = Field(description="name of an entry in `models`")
    entry_script: ExistingFile = Field(description="batch driver with init() and run(mini_batch)")
    conda_file: ExistingFile | None = None
    requirements_file: ExistingFile | None = None
    base_image: str = DEFAULT_BATCH_BASE_IMAGE
    python_version: str = Field("3.11", pattern=r"^3\.\d+$", description="for requirementsFile only")
    # The guide: "dedicated" or "low-priority" VMs. Low priority is cheaper and can be preempted.
    vm_size: str = Field("Standard_DS3_v2", pattern=r"^[A-Za-z0-9_]+$")
    vm_priority: Literal["dedicated", "lowPriority"] = "dedicated"
    min_nodes: int = Field(0, ge=0, le=1000)
    max_nodes: int = Field(4, ge=1, le=1000)
    idle_seconds_before_scaledown: int = Field(120, ge=0, le=86_400)
    instance_count: int = Field(1, ge=1, le=1000, description="nodes one batch job uses")
    max_concurrency_per_instance: int = Field(1, ge=1, le=64)
    mini_batch_size: int = Field(10, ge=1, description="input files per run() call")
    max_retries: int = Field(3, ge=0, le=100, description="retries of a failed mini-batch")
    timeout_seconds: int = Field(300, ge=1, le=86_400, description="per mini-batch")
    error_threshold: int = Field(-1, ge=-1, description="failed files before the job aborts; -1: never")
    output_action: Literal["appendRow", "summaryOnly"] = "appendRow"
    output_file_name: str = Field("predictions.csv", pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""

    @model_validator(mode="after")
    def _checks(self):
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"minNodes ({self.min_nodes}) must be <= maxNodes ({self.max_nodes})")
        if self.instance_count > self.max_nodes:
            raise ValueError(f"instanceCount ({self.instance_count}) must be <= maxNodes ({self.max_nodes})")
        if (self.conda_file is None) == (self.requirements_file is None):
            raise ValueError("set exactly one of condaFile or requirementsFile (the batch job's environment)")
        return self
