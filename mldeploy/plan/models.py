"""Model versions: explicit in config, or derived from the model's content."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mldeploy.config.stack import ModelSettings
from mldeploy.plan.digest import digest_path, files_of


@dataclass(frozen=True)
class ResolvedModel:
    """A model with its files, content digest and the version it registers as."""

    name: str
    version: str
    digest: str
    path: Path
    files: tuple[tuple[str, Path], ...]
    is_folder: bool


def model_version(settings: ModelSettings, digest: str) -> str:
    """Explicit `version` wins; otherwise the first 12 hex digits of the content's sha256,
    so new content always gets a new version and an old version is never overwritten."""
    return str(settings.version) if settings.version is not None else digest[:12]


def resolve_model(name: str, settings: ModelSettings, project_root: Path) -> ResolvedModel:
    path = project_root / settings.path
    digest = digest_path(path)
    return ResolvedModel(
        name=name,
        version=model_version(settings, digest),
        digest=digest,
        path=path,
        files=tuple(files_of(path)),
        is_folder=path.is_dir(),
    )
