"""The one writer of a conda environment file around pip requirements: what Azure ML builds an
environment from (EnvironmentVersion.condaFile) when a project gives a requirements.txt."""
from __future__ import annotations

from typing import Iterable

# The Python of an online endpoint's environment built from a requirements.txt (a conda file
# given by the project names its own).
ENDPOINT_PYTHON = "3.11"


def requirement_lines(text: str) -> list[str]:
    """A requirements.txt's requirements: stripped, without blank lines and comments."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def conda_with_pip(env_name: str, python: str, requirements: Iterable[str]) -> str:
    """A conda file: `python=<python>` and pip from conda-forge, the requirements under pip."""
    pip = "\n".join(f"      - {line}" for line in requirements)
    return (f"name: {env_name}\nchannels:\n  - conda-forge\ndependencies:\n"
            f"  - python={python}\n  - pip\n  - pip:\n{pip}\n")
