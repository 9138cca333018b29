"""Pointers in the code lead somewhere: a doc a docstring or comment names is in the repository."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = re.compile(r"\b([A-Z][A-Z_]+\.md)\b")


def test_every_named_markdown_file_is_in_the_repository():
    present = {p.name for p in ROOT.rglob("*.md") if ".venv" not in p.parts}
    missing = sorted(f"{path.relative_to(ROOT)}: {name}"
                     for folder in ("mldeploy", "components", "policies")
                     for path in (ROOT / folder).rglob("*.py")
                     for name in DOC.findall(path.read_text(encoding="utf-8")) if name not in present)
    assert not missing, f"code names docs that are not in the repository: {missing}"
