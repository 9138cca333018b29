"""The dev stack's ACI container group (gateway + scorer) with its image's sourceDirectory set to
examples/diabetes-src/src, run as one pod from what synth wrote: through the gateway, with a key,
score.py's answer carries what its helper module computes (bands.band) - the module is in the
image ACI runs, as the stack's target ships it (the shared build context, not the local copy)."""
from __future__ import annotations

from mldeploy.runtime.client import score
from mldeploy.runtime.pod import LocalPod
from mldeploy.runtime.synthesized_pod import local_image, synthesized_group
from tests.containers import RUN_PREFIX
from tests.containers.synthesized import build_images, standin_for, synth_to
from tests.containers.test_source_directory_image import SAMPLE, assert_banded_predictions
from tests.harness import stack_values
SERVICE = "diabetes-aci"


def test_the_aci_group_scores_with_the_helper_module_of_its_source_directory(engine, standins, work_dir,
                                                                             trained_model):
    values, _ = stack_values("dev")
    values["mldeploy:images"]["diabetes"].update(sourceDirectory="examples/diabetes-src/src", entryScript="score.py")
    out = synth_to("dev", work_dir / "synth-dev-src", values=values)
    built = build_images(engine, out, work_dir / "logs")
    src = synthesized_group(out, SERVICE, lambda ref: local_image(ref, built, out,
                                                                  lambda up: standin_for(up, standins.images)))
    pod = LocalPod(engine, f"{RUN_PREFIX}-aci-src", src.inputs, work_dir / "aci-src-pod")
    pod.start()
    try:
        pod.wait_ready(240)
        reply = score(f"http://{pod.ip}:{src.port}/score", src.keys[0], SAMPLE.read_bytes())
        assert reply.status == 200, f"{reply.status} {reply.error or reply.text()[:300]} {pod.describe()}"
        assert_banded_predictions(reply.body, trained_model)
    finally:
        pod.remove()
