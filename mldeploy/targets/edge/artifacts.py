"""The edge row's `artifacts`: `iot-edge/<name>.json`, each entry's deployment manifest as applied
(registry credentials masked), taken from the program's `edge` output; synth writes them."""
from __future__ import annotations

from typing import Any, Mapping


def manifests(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """(path under synth's output folder, JSON document) of each entry's manifest, by the program's outputs."""
    return {f"iot-edge/{name}.json": entry["manifest"]
            for name, entry in sorted((outputs.get("edge") or {}).items())
            if isinstance(entry, dict) and isinstance(entry.get("manifest"), dict)}
