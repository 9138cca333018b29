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

    def images_built(self) -> set[str]:
        """The images the program builds and pushes for this entry."""
        return set()

    @property
    def registry_admin_user_need(self) -> str | None:
        """Why the workspace registry's admin user is on for this entry (the registry's tag), or None."""
        return None
