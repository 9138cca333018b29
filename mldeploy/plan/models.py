"""Model versions: explicit in config, or derived from the model's content."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError
from mldeploy.config.stack import ModelSettings
from mldeploy.plan.digest import digest_path, files_of


@dataclass(frozen=True)
class ResolvedModel:
    """A model entry with its files, content digest and the registered model and version it
    registers as (`name` is the entry's key: images, services, batch and edge refer to it)."""

    name: str
    version: str
    digest: str
    path: Path
    files: tuple[tuple[str, Path], ...]
    is_folder: bool
    registered_name: str = ""  # default: `name`

    def __post_init__(self) -> None:
        if not self.registered_name:
            object.__setattr__(self, "registered_name", self.name)

    @property
    def label(self) -> str:
        """`<registered name>:<version>`, as `az ml` writes a model version."""
        return f"{self.registered_name}:{self.version}"


def model_version(settings: ModelSettings, digest: str) -> str:
    """Explicit `version` wins; otherwise the first 12 hex digits of the content's sha256,
    so new content always gets a new version and an old version is never overwritten."""
    return str(settings.version) if settings.version is not None else digest[:12]


def resolve_model(name: str, settings: ModelSettings, project_root: Path) -> ResolvedModel:
    path = project_root / settings.path
    digest = digest_path(path)
    return ResolvedModel(
        name=name,
        registered_name=settings.registered_name or name,
        version=model_version(settings, digest),
        digest=digest,
        path=path,
        files=tuple(files_of(path)),
        is_folder=path.is_dir(),
    )


def check_model_versions(models: dict[str, ResolvedModel]) -> None:
    """Refuse two entries registering one (registeredName, version) with different content: Azure
    ML model versions are immutable, so one of them would silently not be what it says."""
    seen: dict[tuple[str, str], ResolvedModel] = {}
    for key, model in sorted(models.items()):
        first = seen.setdefault((model.registered_name, model.version), model)
        if first is not model and first.digest != model.digest:
            raise ConfigError(f"{PROJECT}:models.{key}.version",
                              f"models {first.name!r} and {key!r} both register {model.label} with different "
                              f"files ({first.path.name} sha256 {first.digest[:12]}, {model.path.name} sha256 "
                              f"{model.digest[:12]}): a registered version is immutable; give one of them "
                              "another version (or omit version: it is then derived from the content)")
