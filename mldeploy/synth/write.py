"""Write a synth result to its folder: resources.json, outputs.json, then each registered
artifact writer (Kubernetes manifests, IoT Edge manifests, gateway configs, policy results)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

from mldeploy.synth.run import SynthResult

MARKER = ".mldeploy-synth"  # says "this folder is a synth output": safe to replace
# (folder or file name, writer(result, out_dir)) - each later target adds its own.
ARTIFACT_WRITERS: list[Callable[[SynthResult, Path], None]] = []


def register_writer(fn: Callable[[SynthResult, Path], None]):
    ARTIFACT_WRITERS.append(fn)
    return fn


def dump_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def _previous(out: Path) -> Path:
    return out.with_name(f".{out.name}.previous")


def prepare_out_dir(out: Path) -> None:
    """Start from an empty folder, but never wipe a folder that is not ours. The previous
    output is set aside (not deleted) until the new one is complete: `discard_out_dir` puts it
    back, `commit_out_dir` drops it. Paths in the output stay those of `out` itself."""
    if out.exists():
        ours = (out / MARKER).exists() or (out / "resources.json").exists()
        if any(out.iterdir()) and not ours:
            raise FileExistsError(f"{out} exists, is not empty and is not a synth output: choose another --out")
        previous = _previous(out)
        shutil.rmtree(previous, ignore_errors=True)  # left by a run that was killed
        out.rename(previous)
    out.mkdir(parents=True)
    (out / MARKER).write_text("written by `mldeploy synth`; replaced by the next run\n", encoding="utf-8")


def discard_out_dir(out: Path) -> None:
    """A synth that failed half-way leaves the previous output as it was."""
    if (out / MARKER).exists():
        shutil.rmtree(out, ignore_errors=True)
    previous = _previous(out)
    if previous.exists() and not out.exists():
        previous.rename(out)


def commit_out_dir(out: Path) -> None:
    """The new output is complete: the previous one goes."""
    shutil.rmtree(_previous(out), ignore_errors=True)


def write_result(result: SynthResult, out: Path) -> None:
    dump_json(out / "resources.json", result.resources)
    dump_json(out / "outputs.json", result.outputs)
    for writer in ARTIFACT_WRITERS:
        writer(result, out)
