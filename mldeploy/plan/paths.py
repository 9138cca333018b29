"""Paths the program hands to providers (file assets, docker build contexts)."""
from __future__ import annotations

import os
from pathlib import Path


def state_path(path: Path | str) -> str:
    """`path` relative to the working directory - the project root, where Pulumi runs the
    program - so the stack's state and synth output do not depend on where the clone lives."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows): nothing relative exists
        return str(path)
