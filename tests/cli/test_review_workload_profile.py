"""A GPU workload profile added to or removed from a deployed Container Apps environment: Azure
applies a GPU profile only as an environment is created (workload-profiles-overview.md), so
`mldeploy diff` warns of it, naming the environment, the profile, what Azure does and what to do
instead - checked on two synths of the containerapp stack - and synth / `pulumi preview` note it for
a stack on a GPU profile (the program cannot see what is deployed)."""
from __future__ import annotations

from mldeploy.cli.diffing import Side, compare
from mldeploy.cli.review import warnings
from mldeploy.targets.stack import parse_settings, target_notes
from tests.harness import ROOT, stack_values, synth

GPU = "Consumption-GPU-NC8as-T4"
ENVIRONMENT = "containerapp-diabetes-aca-environment"


def _containerapp(tmp_path, name: str, profile: str | None):
    values, secret_keys = stack_values("containerapp")
    service = values["mldeploy:services"]["diabetes-aca"]
    if profile is not None:
        service["workloadProfile"] = profile
    return synth("containerapp", tmp_path / name, values, secret_keys)


def _alerts(before, after):
    d = compare("containerapp", Side("`main`", before.resources, {}), Side("working tree", after.resources, {}))
    return [a for a in warnings(d) if a.kind == "workload-profile"]


def test_adding_and_removing_a_gpu_profile_on_a_deployed_environment_warns(tmp_path):
    consumption = _containerapp(tmp_path, "consumption", None)
    gpu = _containerapp(tmp_path, "gpu", GPU)

    (added,) = _alerts(consumption, gpu)
    assert added.resource == ENVIRONMENT, added
    # named by the key the user wrote, the environment (the resource in the list below) beside it
    assert added.message.startswith(f"`services.diabetes-aca.workloadProfile`: GPU profile {GPU} is added to its "
                                    f"Container Apps environment `{ENVIRONMENT}` (as workload profile `gpu`)"), added
    assert "only as an environment is created" in added.message and "`pulumi up` fails" in added.message, added
    assert "new service (its own environment" in added.message and "docs/containerapp.md#" in added.message, added

    (removed,) = _alerts(gpu, consumption)
    assert removed.message.startswith(f"`services.diabetes-aca.workloadProfile`: GPU profile {GPU} is removed from "
                                      f"its Container Apps environment `{ENVIRONMENT}`"), removed
    assert "profile in use" in removed.message and "new service" in removed.message, removed

    assert _alerts(consumption, consumption) == [] and _alerts(gpu, gpu) == [], "no change, no warning"


def test_changing_the_gpu_type_warns_and_a_new_environment_does_not(tmp_path):
    t4 = _containerapp(tmp_path, "t4", GPU)
    values, secret_keys = stack_values("containerapp")
    service = values["mldeploy:services"]["diabetes-aca"]
    service.update(workloadProfile="Consumption-GPU-NC24-A100", cpuCores=4, memoryGb=16)
    a100 = synth("containerapp", tmp_path / "a100", values, secret_keys)
    (changed,) = _alerts(t4, a100)
    assert f"the profile's type changes {GPU} → Consumption-GPU-NC24-A100 on its" in changed.message, changed

    empty = Side("`main`", [], {}, exists=False)
    created = compare("containerapp", empty, Side("working tree", t4.resources, {}))
    assert [a for a in warnings(created) if a.kind == "workload-profile"] == [], "created with it: Azure accepts"


def _notes(values, secret_keys) -> list[str]:
    settings = parse_settings("containerapp", values, secret_keys, ROOT, "stacks/Pulumi.containerapp.yaml")
    return [n for n in target_notes(settings) if "workloadProfile" in n]


def test_synth_and_preview_note_a_gpu_profile_naming_environment_and_profile():
    values, secret_keys = stack_values("containerapp")
    values["mldeploy:services"]["diabetes-aca"]["workloadProfile"] = GPU
    notes = _notes(values, secret_keys)
    assert len(notes) == 1 and notes[0].startswith("mldeploy:services.diabetes-aca.workloadProfile: environment "
                                                   f"`{ENVIRONMENT}` runs the app on GPU workload profile `gpu` ({GPU})"), notes
    values["mldeploy:services"]["diabetes-aca"].pop("workloadProfile")
    assert _notes(values, secret_keys) == [], "no GPU profile, no note"
