"""A service target is one package and one row (issue 22), proved as test_targets_dispatch.py proves it
for a section target: a throw-away `target: kiosk`, written the way a new one would be - its package
under mldeploy/targets/kiosk/ and its row in the table, in a copy of mldeploy, nothing else edited -
is parsed by its model, checked by its check, deployed by its program step in `synth`, refused by
`serve` (its row has no local runner), offered by `init --target` and listed in the config reference.
"""
from __future__ import annotations

import json

from tests.architecture.throwaway_target import copy_with_target, run_against_copy
from tests.harness import ROOT

KIOSK_SETTINGS = '''"""`target: kiosk`'s settings: a throw-away service target of tests/architecture."""
from typing import Literal

from pydantic import Field

from mldeploy.config.service import ServiceSettings


class KioskServiceSettings(ServiceSettings):
    """A scorer shown on a lobby screen."""

    target: Literal["kiosk"] = Field(description="`kiosk`: a lobby screen")
    screen: str = Field(description="which screen shows the scores")
'''

KIOSK_CHECKS = '''"""`target: kiosk`'s load-time checks."""
from mldeploy.config.errors import ConfigError


def check(name, service, stack):
    if service.screen.isupper():
        raise ConfigError(f"mldeploy:services.{name}.screen", "no shouting on a kiosk screen")
'''

KIOSK_PLAN = '''"""`target: kiosk`'s plan: the scorer's environment (a plan type of mldeploy/plan/)."""
from mldeploy.plan.scorer import scorer_env


def plan_kiosk(name, service):
    return scorer_env(service)
'''

KIOSK_PROGRAM = '''"""`target: kiosk`'s program step: one resource per service."""
from pulumi_azure_native import resources

from mldeploy.targets.foundation import ServiceOutputs
from mldeploy.targets.kiosk.plan import plan_kiosk


def deploy_kiosk(name, service, f):
    env = dict(plan_kiosk(name, service))
    tag = resources.TagAtScope(f"kiosk-{name}", scope=f.resource_group_name.apply(lambda g: f"/resourceGroups/{g}"),
                               properties={"tags": {**f.tags(), "screen": service.screen, **env}})
    uri = tag.name.apply(lambda n: f"https://{n}.kiosk.example/score")
    return ServiceOutputs(uri, uri.apply(lambda u: u.replace("/score", "/swagger.json")),
                          extra={"kiosk": tag.name})
'''

KIOSK_STACK_TEMPLATE = """# kiosk: a starting point for a lobby screen.
config:
  azure-native:location: westeurope
  mldeploy:production: false
  mldeploy:resourceGroup: rg-%{name}-kiosk
  mldeploy:workspace:
    name: mlw-%{name}-kiosk
%{models_and_images}
  mldeploy:services:
    %{name}-kiosk:
      target: kiosk
      image: %{name}
      screen: hall
"""

KIOSK_INIT = '''"""`target: kiosk`: a throw-away service target of tests/architecture/test_service_target_package.py."""
from importlib import resources

from mldeploy.targets.kiosk.checks import check
from mldeploy.targets.kiosk.settings import KioskServiceSettings
from mldeploy.targets.target import MockDefaults, StartingPoint, Target


def deploy(name, entry, foundation):
    from mldeploy.targets.kiosk.program import deploy_kiosk
    return deploy_kiosk(name, entry, foundation)


TARGET = Target(name="kiosk", settings=KioskServiceSettings, deploy=deploy, check=check,
                mocks=MockDefaults(outputs={"azure-native:resources:TagAtScope": lambda n, i, m: {"name": f"mocked-{n}"}}),
                starting_point=StartingPoint("kiosk", order=9, template=resources.files(__name__) / "stack.yaml.tmpl"))
'''

KIOSK_CHECK = '''
import json, sys
from pathlib import Path

import mldeploy
from click.testing import CliRunner
from mldeploy.cli import cli
from mldeploy.config import ConfigError
from mldeploy.config.reference import render_reference
from mldeploy.targets.stack import SECTION_DESCRIPTIONS, SECTION_MODELS, SERVICE_MODELS, load_stack

copy, project = Path(sys.argv[1]), Path(sys.argv[2])
assert Path(mldeploy.__file__).resolve().is_relative_to(copy), mldeploy.__file__
found = {}
stack = load_stack(project, "kiosk")
found["services"] = {n: [s.target, type(s).__name__, s.screen] for n, s in stack.services.items()}
errors = {}
for bad in sorted(project.glob("stacks/Pulumi.bad-*.yaml")):
    try:
        load_stack(project, bad.name.removeprefix("Pulumi.").removesuffix(".yaml"))
        errors[bad.name] = "loaded"
    except ConfigError as err:
        errors[bad.name] = str(err)
found["errors"] = errors
runner = CliRunner()
synth = runner.invoke(cli, ["synth", "--stack", "kiosk", "--project-dir", str(project), "--out", str(project / "out")])
found["synth"] = [synth.exit_code, synth.stderr, repr(synth.exception)]
serve = runner.invoke(cli, ["serve", "--stack", "kiosk", "--service", "lobby", "--project-dir", str(project)])
found["serve"] = [serve.exit_code, serve.stderr, repr(serve.exception)]
found["init_help"] = runner.invoke(cli, ["init", "--help"]).stdout
init = runner.invoke(cli, ["init", str(project / "new"), "--target", "kiosk", "--name", "diabetes",
                           "--model", str(project / "examples/diabetes/outputs/sklearn_regression_model.pkl")])
found["init"] = [init.exit_code, init.stderr, repr(init.exception)]
found["init_stack"] = load_stack(project / "new", "kiosk").services["diabetes-kiosk"].screen if init.exit_code == 0 else None
found["reference"] = render_reference(SERVICE_MODELS, SECTION_MODELS, SECTION_DESCRIPTIONS)
print(json.dumps(found))
'''

KIOSK = "    lobby:\n      target: kiosk\n      image: diabetes\n      screen: hall\n"


def _with_kiosk(block: str = KIOSK) -> str:
    """The dev example stack with its ACI service replaced by a kiosk one."""
    text = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text(encoding="utf-8")
    head, services = text.split("  mldeploy:services:\n")
    return head + "  mldeploy:services:\n" + block


def test_a_new_service_target_is_its_package_and_its_row(tmp_path):
    copy = copy_with_target(tmp_path, "kiosk", {
        "__init__.py": KIOSK_INIT, "settings.py": KIOSK_SETTINGS, "checks.py": KIOSK_CHECKS, "plan.py": KIOSK_PLAN,
        "program.py": KIOSK_PROGRAM, "stack.yaml.tmpl": KIOSK_STACK_TEMPLATE}, after_row="containerapp")
    stacks = {
        "kiosk": _with_kiosk(),
        "bad-key": _with_kiosk(KIOSK + "      brightness: 11\n"),
        "bad-check": _with_kiosk(KIOSK.replace("hall", "HALL")),
        "bad-target": _with_kiosk(KIOSK.replace("target: kiosk", "target: kiosks")),
    }
    project, found = run_against_copy(tmp_path, copy, KIOSK_CHECK, stacks)

    # config: `target: kiosk` picks the row's model; its errors are named like the others'
    assert found["services"] == {"lobby": ["kiosk", "KioskServiceSettings", "hall"]}
    errors = found["errors"]
    assert errors["Pulumi.bad-key.yaml"] == (
        "stacks/Pulumi.bad-key.yaml: mldeploy:services.lobby.brightness: unknown key 'brightness'; allowed: "
        "appInsightsEnabled, authEnabled, cors, cpuCores, environmentVariables, image, keys, maxRequestBodyMb, "
        "memoryGb, sampleRequest, scoringTimeoutMs, screen, target, tls, workerCount"), errors  # `screen`: the row's model's own key
    assert errors["Pulumi.bad-target.yaml"] == (
        "stacks/Pulumi.bad-target.yaml: mldeploy:services.lobby.target: must be one of local, aci, aks, fpga, "
        "managed, kubernetes-endpoint, containerapp, kiosk; got 'kiosks'"), errors  # the new row among the allowed
    assert errors["Pulumi.bad-check.yaml"] == ("stacks/Pulumi.bad-check.yaml: mldeploy:services.lobby.screen: "
                                               "no shouting on a kiosk screen"), errors
    # synth: its program step declares its resource, answered by its mocks
    code, stderr, exception = found["synth"]
    assert code == 0, (stderr, exception)
    out = project / "out"
    assert json.loads((out / "outputs.json").read_text())["services"]["lobby"] == {
        "scoringUri": "https://mocked-kiosk-lobby.kiosk.example/score",
        "swaggerUri": "https://mocked-kiosk-lobby.kiosk.example/swagger.json", "kiosk": "mocked-kiosk-lobby"}
    resources = json.loads((out / "resources.json").read_text())
    tags = [r for r in (resources if isinstance(resources, list) else resources["resources"])
            if r["type"] == "azure-native:resources:TagAtScope"]
    assert len(tags) == 1 and tags[0]["inputs"]["properties"]["tags"]["screen"] == "hall", tags
    # serve: a row without a local runner is refused by name, as a usage error
    code, stderr, exception = found["serve"]
    assert code == 2 and "service 'lobby' (target kiosk) is not served on this machine" in stderr, found["serve"]
    # init: --target's choices come from the table's starting points; the stack file it writes comes
    # from the package's own template (StartingPoint.template) and loads
    assert "[aci|managed|aks|containerapp|kubernetes-endpoint|edge|batch|kiosk]" in found["init_help"], found["init_help"]
    assert found["init"][0] == 0, found["init"]
    assert found["init_stack"] == "hall", found
    # the config reference: its target and its own key
    reference = found["reference"]
    assert "kiosk" in reference and "screen" in reference and "which screen shows the scores" in reference
