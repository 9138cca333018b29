"""Write a synth result to its folder: resources.json, outputs.json, then each artifact writer
of ARTIFACT_WRITERS (Kubernetes manifests, each target's own files, gateway configs, policy results)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from mldeploy.synth.dump import dump_json
from mldeploy.synth.gateway_configs import write_gateway_configs
from mldeploy.synth.k8s import write_kubernetes
from mldeploy.synth.policy import write_policy_json
from mldeploy.synth.run import SynthResult
from mldeploy.targets import TARGETS


def write_target_artifacts(result: SynthResult, out_dir: Path) -> None:
    """Each target's own files (its row's `artifacts`), from the program's outputs."""
    for target in TARGETS:
        for path, document in target.artifacts(result.outputs).items():
            if Path(path).is_absolute() or ".." in Path(path).parts:
                raise ValueError(f"target {target.name}: artifact path {path!r} is not a file inside the output folder")
            dump_json(out_dir / path, document)


MARKER = ".mldeploy-synth"  # says "this folder is a synth output": safe to replace
# Every artifact beside resources.json and outputs.json: writer(result, out_dir), each its own files.
ARTIFACT_WRITERS: tuple[Callable[[SynthResult, Path], None], ...] = (
    write_kubernetes,        # k8s/<namespace>/<kind>-<name>.yaml, replicas.json
    write_target_artifacts,  # each target row's `artifacts` (the edge's iot-edge/<name>.json)
    write_gateway_configs,   # gateway/<service>/nginx.conf
    write_policy_json,       # policy.json
)


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
