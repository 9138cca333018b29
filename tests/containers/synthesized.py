"""The test side of running synthesized pods: synth of a stack (or a variation of it) into a
folder, and the stand-ins in place of the mirrored third-party images (their upstream digests
cannot be stood in for). The rest is mldeploy/runtime/synthesized_pod.py, as users run it."""
from __future__ import annotations

from pathlib import Path

from mldeploy.runtime import synthesized_pod as sp
from mldeploy.runtime.synthesized_pod import SynthesizedPod, build_images, load_objects  # noqa: F401


def synth_to(stack: str, out: Path, values: dict | None = None) -> Path:
    """`mldeploy synth` of `stack` (optionally a variation of its config) into `out`."""
    from mldeploy.synth.write import prepare_out_dir, write_result
    from tests.harness import synth

    prepare_out_dir(out)
    write_result(synth(stack, out / "images", values=values), out)
    return out


def standin_for(upstream: str, standins: dict[str, str]) -> str:
    from tests.containers.standins import STANDS_FOR

    name = upstream.split("@")[0]
    full = name if "." in name.split("/")[0] and "/" in name else (
        f"docker.io/{name}" if "/" in name else f"docker.io/library/{name}")
    recipe = next((r for r, names in STANDS_FOR.items() if full in names), None)
    assert recipe, f"{upstream}: no stand-in for it (tests/containers/standins.py)"
    return standins[recipe]


def synthesized_pod(synth_dir: Path, namespace: str, deployment: str, built: dict[str, str],
                    standins: dict[str, str], tls: tuple[str, str] | None = None) -> SynthesizedPod:
    images = lambda ref: sp.local_image(ref, built, synth_dir, lambda up: standin_for(up, standins))  # noqa: E731
    return sp.synthesized_pod(synth_dir, namespace, deployment, images, tls=tls)


def synth_and_build(engine, stack: str, server: str, work_dir: Path) -> tuple[Path, dict[str, str]]:
    """`stack` synthesized with every image on scoring server `server` (mldeploy or azmlinfsrv),
    and its images built: the synth folder and the built images."""
    from tests.harness import stack_values

    values, _ = stack_values(stack)
    for image in values["mldeploy:images"].values():
        image["scoringServer"] = server
    synth = synth_to(stack, work_dir / f"synth-{stack}-{server}", values=values)
    return synth, build_images(engine, synth, work_dir / "logs")
