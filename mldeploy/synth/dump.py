"""The one way synth writes JSON: sorted keys, two-space indent, UTF-8, a final newline."""
from __future__ import annotations

import json
from pathlib import Path


def dump_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
