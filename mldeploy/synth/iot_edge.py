"""Synth artifact: `iot-edge/<name>.json`, each edge entry's deployment manifest as applied
(registry credentials masked), taken from the program's `edge` output."""
from __future__ import annotations

from pathlib import Path

from mldeploy.synth.dump import dump_json
from mldeploy.synth.run import SynthResult


def write_edge_manifests(result: SynthResult, out_dir: Path) -> None:
    """`iot-edge/<name>.json`: each entry's manifest as applied, registry credentials masked."""
    for name, outputs in sorted((result.outputs.get("edge") or {}).items()):
        if isinstance(outputs, dict) and isinstance(outputs.get("manifest"), dict):
            dump_json(out_dir / "iot-edge" / f"{name}.json", outputs["manifest"])
