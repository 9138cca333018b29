"""The whole stack: every key a stack file may declare under the `mldeploy:` namespace."""
from __future__ import annotations

from typing import Literal, Union

from pydantic import Field, model_validator

from mldeploy.config.aks import AksServiceSettings, ClusterSettings
from mldeploy.config.base import Name, Settings
from mldeploy.config.batch import BatchSettings
from mldeploy.config.edge import EdgeSettings
from mldeploy.config.files import ExistingFile, ExistingPath
from mldeploy.config.fpga import FpgaServiceSettings
from mldeploy.config.service import AciServiceSettings, LocalServiceSettings

AnyService = Union[LocalServiceSettings, AciServiceSettings, AksServiceSettings, FpgaServiceSettings]

SERVICE_TARGETS: dict[str, type] = {
    "local": LocalServiceSettings,
    "aci": AciServiceSettings,
    "aks": AksServiceSettings,
    "fpga": FpgaServiceSettings,
}


class WorkspaceSettings(Settings):
    """The Azure ML workspace: created with its dependencies (default), or an existing one."""

    name: str | None = Field(None, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$")
    create: bool = True
    resource_group: str | None = None
    sku: Literal["Basic"] = "Basic"

    @model_validator(mode="after")
    def _existing_needs_name(self):
        if not self.create and not self.name:
            raise ValueError("an existing workspace (create: false) needs its name")
        return self


class ModelSettings(Settings):
    """A trained model to register (guide: `Model.register(path, name, tags, description)`)."""

    path: ExistingPath
    version: int | None = Field(
        None, ge=1, description="explicit version; omitted: derived from the content digest"
    )
    tags: dict[str, str] = Field(default_factory=dict)
    description: str = ""


class ImageSettings(Settings):
    """A scoring image (guide: `ContainerImage.image_configuration`)."""

    entry_script: ExistingFile
    runtime: Literal["python"] = "python"
    conda_file: ExistingFile | None = None
    requirements_file: ExistingFile | None = None
    models: list[str] = Field(min_length=1, description="names of entries in `models`")
    base_image: str | None = Field(
        None, description="omitted: a micromamba image for condaFile, python:<pythonVersion>-slim for requirementsFile"
    )
    version: int = Field(1, ge=1, description="the guide's image version (myimage:1); the tag adds a content digest")
    python_version: str = Field("3.11", pattern=r"^3\.\d+$")
    sample_request: ExistingFile | None = None
    description: str = ""

    @model_validator(mode="after")
    def _one_environment(self):
        if (self.conda_file is None) == (self.requirements_file is None):
            raise ValueError("set exactly one of condaFile or requirementsFile")
        return self


class StackSettings(Settings):
    """Everything one stack declares. Built once, validated once, then only read."""

    stack: str
    location: str
    production: bool = False
    resource_group: str | None = None
    workspace: WorkspaceSettings = WorkspaceSettings()
    tags: dict[str, str] = Field(default_factory=dict)
    models: dict[Name, ModelSettings] = Field(default_factory=dict)
    images: dict[Name, ImageSettings] = Field(default_factory=dict)
    services: dict[Name, AnyService] = Field(default_factory=dict)
    clusters: dict[Name, ClusterSettings] = Field(default_factory=dict)
    batch: dict[Name, BatchSettings] = Field(default_factory=dict)
    edge: dict[Name, EdgeSettings] = Field(default_factory=dict)

    @property
    def resource_group_name(self) -> str:
        return self.resource_group or f"rg-mldeploy-{self.stack}"


# The keys a stack file may set under `mldeploy:` (the rest of StackSettings is derived).
STACK_KEYS = ("production", "resourceGroup", "workspace", "tags", "models", "images",
              "services", "clusters", "batch", "edge")
