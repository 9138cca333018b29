"""The `batch:` section's config model (guide: "inference with Azure ML compute"): an AmlCompute
cluster that scales to zero, and a batch endpoint + deployment for one registered model."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from mldeploy.config.base import ImageRef, ScorerEnvVars, matching
from mldeploy.config.cluster import VmSize
from mldeploy.config.files import SUPPORTED_PYTHONS, AzureMLRequirementsFile, BatchCondaFile, SourceDirectory
from mldeploy.config.source_directory import ShipsSourceDirectory, check_entry_script
from mldeploy.config.section import SectionSettings
from mldeploy.contract import AZUREML_BASE_IMAGE
from mldeploy.plan.assets import batch_asset_name
from mldeploy.plan.batch import compute_name, endpoint_name


# Azure ML builds a batch job's environment in two steps: "Downloading a base image ... Building a conda
# environment according to conda dependencies specified in the environment definition" (MicrosoftDocs/
# azure-docs, articles/machine-learning/concept-environments.md, "Building environments as Docker images";
# the generated Dockerfile runs `conda env create`: azure.github.io/azureml-cheatsheets, "Azure ML
# Containers"). So the base image must bring conda. These plain OS and language images never do; any other
# image is the user's to know (mldeploy cannot look inside it offline).
CONDALESS_IMAGES = ("python", "debian", "ubuntu", "alpine", "busybox", "gcr.io/distroless/")


def _repository(image: str) -> str:
    """An image reference's repository, without tag, digest and Docker Hub's own prefixes."""
    name = image.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        name = name.removeprefix(prefix)
    return name.removeprefix("library/")


class BatchSettings(ShipsSourceDirectory, SectionSettings):
    """An AmlCompute cluster plus a batch endpoint/deployment for one registered model."""

    model: str = Field(description="name of an entry in `models`")
    # Before entryScript, which is relative to it (its validator reads it).
    source_directory: SourceDirectory | None = Field(
        None, description="a folder uploaded whole as the batch deployment's code (v2's `CodeConfiguration(code=...)`): "
        "the modules beside the driver import; `entryScript` is then relative to it (v2's `scoring_script`). The same "
        "rules as an image's `sourceDirectory` (.amlignore, secrets, models, 2000 files / 300 MB)")
    entry_script: str = Field(description="batch driver with init() and run(mini_batch); with `sourceDirectory`, "
                              "relative to it")
    conda_file: BatchCondaFile | None = Field(None, description="conda environment of the batch job; exactly one of condaFile and requirementsFile")
    requirements_file: AzureMLRequirementsFile | None = Field(None, description="pip requirements of the batch job, instead of condaFile; may include others with `-r` (not `-c`)")
    base_image: ImageRef = Field(AZUREML_BASE_IMAGE, description="Azure ML base image the environment is built on")
    python_version: str = Field("3.11", pattern=r"^3\.\d+$", description="for requirementsFile only")
    # The guide: "dedicated" or "low-priority" VMs. Low priority is cheaper and can be preempted.
    vm_size: VmSize = Field("Standard_DS3_v2", description="VM size of the AmlCompute nodes")
    vm_priority: Literal["dedicated", "lowPriority"] = Field("dedicated", description="dedicated, or low-priority VMs (cheaper, can be preempted)")
    min_nodes: int = Field(0, ge=0, le=1000, description="nodes kept when idle; 0 scales to zero")
    max_nodes: int = Field(4, ge=1, le=1000, description="most nodes the cluster scales to")
    idle_seconds_before_scaledown: int = Field(120, ge=0, le=86_400, description="idle time before a node is released")
    instance_count: int = Field(1, ge=1, le=1000, description="nodes one batch job uses")
    max_concurrency_per_instance: int = Field(1, ge=1, le=64, description="parallel run() processes per node")
    # BatchDeploymentProperties (mfe.json): miniBatchSize int64; errorThreshold "Range is
    # [-1, int.MaxValue]"; retrySettings.maxRetries int32.
    mini_batch_size: int = Field(10, ge=1, le=2**63 - 1, description="input files per run() call")
    max_retries: int = Field(3, ge=0, le=100, description="retries of a failed mini-batch")
    timeout_seconds: int = Field(300, ge=1, le=86_400, description="per mini-batch")
    error_threshold: int = Field(-1, ge=-1, le=2_147_483_647, description="failed files before the job aborts; -1: never")
    output_action: Literal["appendRow", "summaryOnly"] = Field("appendRow", description="append run() results to the output file, or keep only a summary")
    # A file name in the job's output folder: '.' and '..' name a folder, not a file.
    output_file_name: Annotated[str, Field(max_length=255), matching(
        r"[A-Za-z0-9_.-]*[A-Za-z0-9_-][A-Za-z0-9_.-]*", "a file name of letters, digits, '_', '.' and '-' ('.' and "
        "'..' name folders, not the output file)")] = Field("predictions.csv", description="name of the output file")
    environment_variables: ScorerEnvVars = Field(
        default_factory=dict, description="environment variables of the batch job's driver (the batch deployment's "
        "`environmentVariables`): strings, no secrets (no `secure:` value either: a batch deployment has no secret "
        "field; read one in init() from Key Vault), no names Azure ML or mldeploy set (AZUREML_*, ...)")
    description: str = Field("", description="free text, for people")

    @field_validator("entry_script")
    @classmethod
    def _entry_script(cls, value: str, info: ValidationInfo) -> str:
        check_entry_script(value, info.data.get("source_directory"), Path((info.context or {}).get("root", ".")),
                           "batch-python")
        return value

    @model_validator(mode="after")
    def _checks(self):
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"minNodes ({self.min_nodes}) must be <= maxNodes ({self.max_nodes})")
        if self.instance_count > self.max_nodes:
            raise ValueError(f"instanceCount ({self.instance_count}) must be <= maxNodes ({self.max_nodes})")
        if (self.conda_file is None) == (self.requirements_file is None):
            raise ValueError("set exactly one of condaFile or requirementsFile (the batch job's environment)")
        if self.python_version not in SUPPORTED_PYTHONS:
            # The same range as a batch conda file's `python=` (config/files.py): one rule for both environments.
            raise ValueError(f"pythonVersion {self.python_version}: use one of {', '.join(SUPPORTED_PYTHONS)} (the "
                             "Pythons a condaFile's `python=` may pin, config/files.py)")
        if self.conda_file is not None and "python_version" in self.model_fields_set:
            raise ValueError("pythonVersion applies only with requirementsFile; with condaFile the conda "
                             "file's own `python=` dependency picks the Python")
        if self.output_action == "summaryOnly" and "output_file_name" in self.model_fields_set:
            # The API: outputFileName is the "customized output file name for append_row output action".
            raise ValueError("outputFileName applies only to outputAction appendRow; summaryOnly writes no "
                             "predictions file")
        return self

    @field_validator("base_image")
    @classmethod
    def _base_image_has_conda(cls, value: str) -> str:
        repository = _repository(value)
        if any(repository == c or (c.endswith("/") and repository.startswith(c)) for c in CONDALESS_IMAGES):
            raise ValueError(f"{value} has no conda, but Azure ML builds the batch job's environment with conda on "
                             f"the base image (conda env create): use an image with conda, e.g. {AZUREML_BASE_IMAGE} "
                             "(the default)")
        return value

    def model_references(self) -> list[tuple[str, str]]:
        return [("model", self.model)]

    def conda_files(self) -> list[tuple[str, str]]:
        return [] if self.conda_file is None else [("condaFile", str(self.conda_file))]

    def model_environments(self) -> list[tuple[str, str, str, tuple[str, ...]]]:
        if self.conda_file is not None:
            return [("condaFile", str(self.conda_file), "conda", (self.model,))]
        return [("requirementsFile", str(self.requirements_file), "pip", (self.model,))]

    def endpoint_name_claim(self, name: str, stack: str, resource_group: str) -> tuple[str, str] | None:
        return "", endpoint_name(stack, resource_group, name)  # derived: a batch entry has no endpointName

    def compute_name_claim(self, name: str) -> tuple[str, str] | None:
        return "", compute_name(name)

    def asset_name_claim(self, name: str) -> str | None:
        return batch_asset_name(name)
