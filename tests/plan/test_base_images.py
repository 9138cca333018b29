"""The note for an image built on a tag that moves (mldeploy/plan/base_images.py), and the dated table's
digests it offers (mldeploy/plan/versions.py PYTHON_SLIM_PINS)."""
from __future__ import annotations

import re
from pathlib import Path

from mldeploy.config.stack import ImageSettings
from mldeploy.plan.base_images import moving_base_image_notes
from mldeploy.plan.versions import PYTHON_SLIM_AS_OF, PYTHON_SLIM_PINS
from tests.harness import ROOT


class _Settings:
    def __init__(self, root: Path, **images: dict):
        (root / "score.py").write_text("def init():\n    pass\n\n\ndef run(data):\n    return data\n")
        (root / "requirements.txt").write_text("scikit-learn==1.9.1\n")
        (root / "env.yml").write_text("dependencies:\n  - python==3.11.15\n  - pip==26.0.1\n")
        self.needs_azure = True
        self.images = {name: ImageSettings.model_validate({"entryScript": "score.py", "models": ["m"], **extra},
                                                          context={"root": root})
                       for name, extra in images.items()}


def test_a_requirements_image_on_the_rolling_slim_tag_gets_one_note_with_a_digest_to_pin(tmp_path):
    notes = moving_base_image_notes(_Settings(tmp_path, iris={"requirementsFile": "requirements.txt"}))
    assert len(notes) == 1, notes
    note = notes[0]
    assert note.startswith("mldeploy:images.iris.requirementsFile: the image builds FROM python:3.11-slim, "), note
    assert f"baseImage: {PYTHON_SLIM_PINS['3.11'].reference}" in note, note
    assert "docker-library/repo-info" in note and PYTHON_SLIM_AS_OF.isoformat() in note, note


def test_a_base_image_by_tag_gets_the_note_a_digest_or_azure_ml_s_dated_image_none(tmp_path):
    pinned = PYTHON_SLIM_PINS["3.12"].reference
    notes = moving_base_image_notes(_Settings(
        tmp_path,
        tagged={"requirementsFile": "requirements.txt", "baseImage": "python:3.12-slim-bookworm"},
        digest={"requirementsFile": "requirements.txt", "baseImage": pinned},
        conda={"condaFile": "env.yml"},  # mldeploy's micromamba: a frozen tag (versions.py DEFAULT_IMAGES)
        azureml={"condaFile": "env.yml", "baseImage": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20260715.v1"}))
    assert [n.split(":", 2)[1] for n in notes] == ["images.tagged.baseImage"], notes
    assert "`baseImage: python:3.12-slim-bookworm@sha256:<digest>`" in notes[0], notes
    assert "docker buildx imagetools inspect python:3.12-slim-bookworm" in notes[0], notes


def test_a_stack_that_deploys_nothing_to_azure_gets_no_note(tmp_path):
    settings = _Settings(tmp_path, iris={"requirementsFile": "requirements.txt"})
    settings.needs_azure = False
    assert moving_base_image_notes(settings) == []


def test_each_pinned_slim_build_is_a_digest_of_that_python_with_its_source():
    for minor, row in PYTHON_SLIM_PINS.items():
        assert re.fullmatch(rf"python:{re.escape(row.python)}-slim-[a-z]+@sha256:[0-9a-f]{{64}}", row.reference), row
        assert row.python.startswith(f"{minor}.") and row.built <= PYTHON_SLIM_AS_OF, row
        assert re.fullmatch(r"https://github\.com/docker-library/repo-info/blob/[0-9a-f]{40}/repos/python/remote/"
                            rf"{re.escape(minor)}-slim-[a-z]+\.md", row.source), row.source


def test_docs_deploying_shows_the_pinned_slim_builds():
    text = (ROOT / "docs" / "deploying.md").read_text()
    for minor, row in PYTHON_SLIM_PINS.items():
        assert row.reference in text, f"docs/deploying.md does not show {minor}'s {row.reference}"
