"""The plan of an Azure ML environment and code asset (components/assets.py declares it): what a
batch deployment's driver and an online deployment's score.py each run with, decided up front."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mldeploy.contract import AZUREML_BASE_IMAGE, AZUREML_IMAGE_REPOSITORY


@dataclass(frozen=True)
class AssetPlan:
    """One environment (conda file on an Azure ML base image) and one code asset (the script and
    its files), each versioned by a digest of its content."""

    environment_name: str
    environment_version: str
    conda_text: str
    base_image: str
    code_name: str
    code_version: str
    code_blob_prefix: str
    code_files: tuple[tuple[str, Path], ...]
    scoring_script: str


def is_azureml_image(reference: str) -> bool:
    """An Azure ML base image (mcr.microsoft.com/azureml/...): one Azure ML can build a conda environment on."""
    return reference.startswith(AZUREML_IMAGE_REPOSITORY)


def endpoint_base_image(base_image: str | None) -> str:
    """The base image Azure ML builds a v2 online endpoint's environment on: the image's own `baseImage`
    when it is an Azure ML image (a team's own dated tag), else mldeploy's pinned default (a
    `baseImage` mldeploy builds on, such as micromamba, is for mldeploy's build of the same image)."""
    return base_image if base_image is not None and is_azureml_image(base_image) else AZUREML_BASE_IMAGE


# An environment's and a code asset's name is its ARM resource name in the workspace (Environment/Code
# Containers - Create Or Update: PUT .../workspaces/{workspaceName}/environments/{name}, .../codes/{name}):
# one name is one asset, so two entries deriving one name would declare the same Azure resource twice.
def endpoint_asset_name(service: str) -> str:
    """`mldeploy-<service>`: the environment and the code of an online endpoint service, one asset each
    whose versions are content digests (per service: two endpoints never declare one asset twice).
    Images whose environment or code is the same share that version (blue and green differing only in
    the model): the name depends on no image, so adding or removing one renames nothing another uses
    (docs/endpoints.md, "One content, one asset")."""
    return f"mldeploy-{service}"


def batch_asset_name(name: str) -> str:
    """`mldeploy-batch-<entry>`: the environment and code of a batch entry."""
    return f"mldeploy-batch-{name}"
