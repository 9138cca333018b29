"""docs/config-reference.md is generated from the settings classes and must match them."""
from __future__ import annotations

from mldeploy.config.reference import doc_with_reference, render_reference as render
from mldeploy.targets.stack import SECTION_DESCRIPTIONS, SECTION_MODELS, SERVICE_MODELS
from tests.harness import ROOT


def render_reference() -> str:
    return render(SERVICE_MODELS, SECTION_MODELS, SECTION_DESCRIPTIONS)


def test_the_docs_reference_is_up_to_date():
    doc = (ROOT / "docs" / "config-reference.md").read_text(encoding="utf-8")
    assert doc == doc_with_reference(doc, SERVICE_MODELS, SECTION_MODELS, SECTION_DESCRIPTIONS), (
        "docs/config-reference.md is stale: run "
        "`.venv/bin/python -m mldeploy.targets.reference docs/config-reference.md`"
    )


def test_every_key_has_a_type_default_and_meaning():
    rows = [line for line in render_reference().splitlines() if line.startswith("| `")]
    assert len(rows) > 100, "the reference lists too few keys"
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert len(cells) == 4 and all(cells), f"incomplete row: {row}"


def test_the_guides_parameter_names_are_there():
    text = render_reference()
    for key in ("cpuCores", "memoryGb", "authEnabled", "autoscaleEnabled", "autoscaleTargetUtilization",
                "autoscaleMinReplicas", "autoscaleMaxReplicas", "vmSize", "agentCount", "entryScript",
                "condaFile", "tags", "description"):
        assert f".{key}`" in text, f"{key} missing from the config reference"
