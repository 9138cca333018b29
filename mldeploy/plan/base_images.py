"""Which images mldeploy builds start from a tag that moves, and the note that says so.

A requirementsFile image builds FROM `python:<pythonVersion>-slim` unless baseImage names another: Docker
rebuilds that tag for every Python patch and Debian point release (mldeploy/plan/versions.py DEFAULT_IMAGES),
so the same commit builds on another base next month, and nothing in the stack file shows it. Only a digest
fixes a build; a note (not an error: the rolling tag is a valid, security-friendly choice) names the key and
a digest to pin from the dated table.
"""
from __future__ import annotations

from mldeploy import PROJECT
from mldeploy.plan.assets import is_azureml_image
from mldeploy.plan.versions import PYTHON_SLIM_AS_OF, PYTHON_SLIM_PINS

DIGEST_MARK = "@sha256:"


def moving_base_image_notes(settings) -> list[str]:
    """One line per image mldeploy builds on a base given by tag alone: the default python:<v>-slim of a
    requirementsFile image, or a baseImage without `@sha256:`. Azure ML's own images (dated tags, the base a v2
    endpoint's environment is built on) and the micromamba default (a frozen tag: versions.py) are left out, and
    so is a stack that deploys nothing to Azure (only `serve --containers` builds its images, on this machine)."""
    if not settings.needs_azure:
        return []
    notes = []
    for name, image in sorted(settings.images.items()):
        base = image.base_image
        if base is None and image.requirements_file is None:
            continue  # condaFile on mldeploy's micromamba: versions.py DEFAULT_IMAGES says why that tag stays
        if base is not None and (DIGEST_MARK in base or is_azureml_image(base)):
            continue
        shown = base or f"python:{image.python_version}-slim"
        pinned = PYTHON_SLIM_PINS.get(image.python_version) if base is None else None
        example = (f"e.g. `baseImage: {pinned.reference}` (Python {pinned.python}, built {pinned.built.isoformat()}: "
                   f"{pinned.source}; mldeploy's dated table as of {PYTHON_SLIM_AS_OF.isoformat()}, "
                   "mldeploy/plan/versions.py PYTHON_SLIM_PINS)" if pinned is not None else
                   f"`baseImage: {shown.split('@')[0]}@sha256:<digest>` (`docker buildx imagetools inspect {shown}` "
                   "prints the digest of today's build)")
        key = "baseImage" if base is not None else "requirementsFile"
        notes.append(f"{PROJECT}:images.{name}.{key}: the image builds FROM {shown}, a tag its publisher moves to "
                     "each new build, so rebuilding it later (a new model version, a changed script) starts from "
                     f"another base than today's: pin a digest, {example}")
    return notes
