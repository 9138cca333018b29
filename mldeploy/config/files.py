"""Paths in a stack file: relative to the project root, checked to exist at parse time."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo


def _existing(kind: str):
    def check(value: str, info: ValidationInfo) -> str:
        root = Path((info.context or {}).get("root", "."))
        target = root / value
        if Path(value).is_absolute():
            raise ValueError(f"must be a path relative to the project root, got {value!r}")
        if kind == "file" and not target.is_file():
            raise ValueError(f"file not found: {value} (paths are relative to {root.resolve()})")
        if kind == "path" and not target.exists():
            raise ValueError(f"file or folder not found: {value} (paths are relative to {root.resolve()})")
        return value

    return AfterValidator(check)


ExistingFile = Annotated[str, _existing("file")]
"""A file that must exist, relative to the project root."""

ExistingPath = Annotated[str, _existing("path")]
"""A file or folder that must exist, relative to the project root."""
