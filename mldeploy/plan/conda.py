"""The one writer of a conda environment file around pip requirements: what Azure ML builds an
environment from (EnvironmentVersion.condaFile) when a project gives a requirements.txt."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

import yaml

from mldeploy.plan.versions import CONDA_AS_OF, CONDA_PYTHONS, conda_python_lines

# The Python of an online endpoint's environment built from a requirements.txt (a conda file
# given by the project names its own).
ENDPOINT_PYTHON = "3.11"


def requirement_lines(text: str) -> list[str]:
    """A requirements.txt's requirements: stripped, without blank lines and comments."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def conda_with_pip(env_name: str, python: str, requirements: Iterable[str]) -> str:
    """A conda file: python and pip from conda-forge at the exact versions of the dated table for the minor
    `python` (plan/versions.py CONDA_PYTHONS: a rebuild later solves the same ones), the requirements under pip."""
    pip = "\n".join(f"      - {line}" for line in requirements)
    python_line, pip_line = conda_python_lines(python)
    return (f"name: {env_name}\nchannels:\n  - conda-forge\ndependencies:\n"
            f"  - {python_line}\n  - {pip_line}\n  - pip:\n{pip}\n")


# An exact version in a conda match spec's version part: `==26.0.1`, `==25.2`, or a full patch release with
# `=` or none (`=3.11.15`, `3.11.15`: conda's fuzzy `3.11.15.*`, which no Python or pip release extends), each
# maybe with a build string (`=3.11.15=h9e4cc4f_0`). `=3.11`, `=25.2` (a 25.2.1 matches), `3.11.*`, `>=3.9`
# and no version at all are ranges (conda's MatchSpec: https://docs.conda.io/projects/conda-build/en/latest/
# resources/package-spec.html#package-match-specifications).
_EXACT = re.compile(r"^(?:==\s*\d+(?:\.\d+)*|=?\s*\d+(?:\.\d+){2,})(?:[=\s]+\S+)?$")
_NAMED = {name: re.compile(rf"^(?:[\w.-]+::)?{name}(?![\w.-])\s*(.*)$", re.IGNORECASE) for name in ("python", "pip")}


def unpinned_interpreter(text: str) -> list[str]:
    """What a conda file leaves to the solver among python and pip, as the file writes it (`python=3.11`,
    `pip`; `pip (not listed)`: conda adds one of its choosing). [] when both are exact versions, or the file
    is not a conda file (its own check reports that)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    if not isinstance(doc, dict) or not isinstance(doc.get("dependencies"), list):
        return []
    deps = [dep.strip() for dep in doc["dependencies"] if isinstance(dep, str)]
    loose = []
    for name, pattern in _NAMED.items():
        specs = [(dep, m.group(1).strip()) for dep in deps if (m := pattern.match(dep))]
        if not specs and name == "python":
            continue  # no python at all: the image's base brings one (config/stack.py checks the default base)
        if not specs:
            loose.append("pip (not listed)")
        elif not any(_EXACT.match(version) for _, version in specs):
            loose += [f"`{dep}`" for dep, _ in specs]
    return loose


def unpinned_environment_notes(settings, root: Path) -> list[str]:
    """One line per conda file of the stack (an image's, a section entry's such as a batch deployment's)
    whose python or pip is no exact version: a rebuild next month may solve newer ones, so the same commit
    builds another environment. A note, not an error: the file is the user's, and mldeploy does not rewrite
    it (docs/deploying.md)."""
    files: dict[str, list[str]] = {}
    for name, image in sorted(settings.images.items()):
        if image.conda_file is not None:
            files.setdefault(str(image.conda_file), []).append(f"images.{name}.condaFile")
    for section, entries in settings.sections.items():
        for name, entry in sorted(entries.items()):
            for key, path in entry.conda_files():
                files.setdefault(path, []).append(f"{section}.{name}.{key}")
    notes = []
    for path, keys in sorted(files.items()):
        try:
            text = (root / path).read_text(encoding="utf-8")
        except (OSError, ValueError):
            continue
        loose = unpinned_interpreter(text)
        if not loose:
            continue
        pinned = CONDA_PYTHONS["3.11"]
        notes.append(f"{', '.join(keys)}: {path} leaves {' and '.join(loose)} to conda's solver, so rebuilding this "
                     "environment later may install newer ones than today's build: pin exact versions, e.g. "
                     f"`- python=={pinned.python}` and `- pip=={pinned.pip}` (conda-forge's, in mldeploy's dated table "
                     f"as of {CONDA_AS_OF.isoformat()}: mldeploy/plan/versions.py CONDA_PYTHONS)")
    return notes
