"""What shared code may ask an entry of a section target (`batch:`, `edge:`), whatever its target:
each target's model (mldeploy/targets/<name>/config.py) answers for itself, as a service's does
(config/service.py TargetSettings), so nothing outside the target reads its fields."""
from __future__ import annotations

from mldeploy.config.base import Settings


class SectionSettings(Settings):
    """Base of a section target's entry model; the answers below mean "nothing"."""

    def model_references(self) -> list[tuple[str, str]]:
        """(key under `<section>.<name>.`, model name) for every entry of `models` it names."""
        return []

    def image_references(self) -> list[tuple[str, str]]:
        """(key under `<section>.<name>.`, image name) for every entry of `images` it names."""
        return []

    def conda_files(self) -> list[tuple[str, str]]:
        """(key under `<section>.<name>.`, path) of every conda file of the user's the entry builds an
        environment from (plan/conda.py notes one that leaves python or pip to the solver)."""
        return []

    def model_environments(self) -> list[tuple[str, str, str, tuple[str, ...]]]:
        """(key under `<section>.<name>.`, path, "conda" or "pip", the models it loads) of every environment file
        of the user's that loads models (plan/model_libraries.py compares the libraries they were pickled by)."""
        return []

    def images_built(self) -> set[str]:
        """The images the program builds and pushes for this entry."""
        return set()

    def endpoint_name_claim(self, name: str, stack: str, resource_group: str) -> tuple[str, str] | None:
        """(the key under `<section>.<name>` that sets it, or "" when derived; the name) of the Azure ML
        endpoint the entry creates, if any: endpoint names are unique per region (plan/stack.py)."""
        return None

    def asset_name_claim(self, name: str) -> str | None:
        """The name of the Azure ML environment and code asset the entry creates, if any: asset names are
        unique per workspace (plan/stack.py)."""
        return None

    def compute_name_claim(self, name: str) -> tuple[str, str] | None:
        """(the key under `<section>.<name>` that sets it, or "" when derived; the name) of the workspace
        compute the entry creates, if any: compute names are unique per workspace (plan/stack.py)."""
        return None

    @property
    def registry_admin_user_need(self) -> str | None:
        """Why the workspace registry's admin user is on for this entry (the registry's tag), or None."""
        return None
