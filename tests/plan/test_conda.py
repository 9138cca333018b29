"""The python and pip of the conda files mldeploy writes (exact, from the dated table), and the note for a
user's conda file that leaves them to the solver."""
from __future__ import annotations

import re

import pytest
import yaml

from mldeploy.config.files import SUPPORTED_PYTHONS
from mldeploy.plan.conda import conda_with_pip, unpinned_environment_notes, unpinned_interpreter
from mldeploy.plan.versions import CONDA_PYTHONS
from tests.harness import ROOT


def test_the_table_has_an_exact_python_and_pip_for_every_python_the_scorer_runs_on():
    assert tuple(CONDA_PYTHONS) == SUPPORTED_PYTHONS
    for minor, pinned in CONDA_PYTHONS.items():
        assert re.fullmatch(rf"{re.escape(minor)}\.\d+", pinned.python), (minor, pinned)
        assert re.fullmatch(r"\d+\.\d+(\.\d+)?", pinned.pip), (minor, pinned)


@pytest.mark.parametrize("minor", SUPPORTED_PYTHONS)
def test_a_generated_conda_file_names_exact_versions(minor):
    doc = yaml.safe_load(conda_with_pip("scoring", minor, ["numpy==2.4.6"]))
    pinned = CONDA_PYTHONS[minor]
    assert doc["dependencies"] == [f"python=={pinned.python}", f"pip=={pinned.pip}", {"pip": ["numpy==2.4.6"]}]
    assert unpinned_interpreter(conda_with_pip("scoring", minor, [])) == []


@pytest.mark.parametrize(("deps", "loose"), [
    (["python=3.11.15", "pip=26.0.1"], []),
    (["python==3.11.15", "pip==26.0.1"], []),
    (["python==3.9.23", "pip==25.2"], []),
    (["python=3.9.23", "pip=25.2"], ["`pip=25.2`"]),  # conda's fuzzy 25.2.*: a 25.2.1 would match
    (["conda-forge::python=3.11.15=h9e4cc4f_0_cpython", "pip 26.0.1"], []),
    (["python=3.11", "pip"], ["`python=3.11`", "`pip`"]),
    (["python=3.11.*", "pip=26.0.1"], ["`python=3.11.*`"]),
    (["python>=3.9,<3.12", "pip>=24"], ["`python>=3.9,<3.12`", "`pip>=24`"]),
    (["python=3.11.15"], ["pip (not listed)"]),
    (["python", "pipx", "pip=26.0.1"], ["`python`"]),
])
def test_what_a_conda_file_leaves_to_the_solver(deps, loose):
    text = yaml.safe_dump({"name": "x", "dependencies": [*deps, {"pip": ["numpy==2.4.6"]}]})
    assert unpinned_interpreter(text) == loose


class _Entry:
    def __init__(self, conda_file=None):
        self.conda_file = conda_file

    def conda_files(self):
        return [] if self.conda_file is None else [("condaFile", self.conda_file)]


class _Settings:
    def __init__(self, images, sections=None):
        self.images = images
        self.sections = sections or {}


def test_the_note_names_the_keys_and_the_file_once_and_says_what_to_write(tmp_path):
    (tmp_path / "env.yml").write_text("name: x\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - numpy\n")
    (tmp_path / "pinned.yml").write_text("name: x\ndependencies:\n  - python==3.11.15\n  - pip==26.0.1\n")
    settings = _Settings({"a": _Entry("env.yml"), "b": _Entry("env.yml"), "c": _Entry("pinned.yml"), "d": _Entry()},
                         {"batch": {"nightly": _Entry("env.yml")}})
    (note,) = unpinned_environment_notes(settings, tmp_path)
    assert note.startswith("images.a.condaFile, images.b.condaFile, batch.nightly.condaFile: env.yml leaves "
                           "`python=3.11` and `pip` to conda's solver"), note
    assert "`- python==3.11.15` and `- pip==26.0.1`" in note and "CONDA_PYTHONS" in note, note


def test_the_examples_get_no_note():
    settings = _Settings({"diabetes": _Entry("examples/diabetes/myenv.yml"), "forest": _Entry("examples/forest/myenv.yml")},
                         {"batch": {"nightly": _Entry("examples/diabetes/batch-env.yml")}})
    assert unpinned_environment_notes(settings, ROOT) == []
