"""`python -m mldeploy.targets.reference [docs/config-reference.md]`: print the config reference
(mldeploy/config/reference.py) for the targets of the table, or update that file."""
from __future__ import annotations

import sys
from pathlib import Path

from mldeploy.config.reference import doc_with_reference, render_reference
from mldeploy.targets.stack import SECTION_DESCRIPTIONS, SECTION_MODELS, SERVICE_MODELS


def main() -> None:
    if len(sys.argv) > 1:
        path = Path(sys.argv[1])
        doc = doc_with_reference(path.read_text(encoding="utf-8"), SERVICE_MODELS, SECTION_MODELS, SECTION_DESCRIPTIONS)
        path.write_text(doc, encoding="utf-8")
    else:
        print(render_reference(SERVICE_MODELS, SECTION_MODELS, SECTION_DESCRIPTIONS), end="")


if __name__ == "__main__":
    main()
