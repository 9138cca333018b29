"""A target is one package (STYLE.md, issue 22): code outside mldeploy/targets/ finds a target
through the table (mldeploy/targets/__init__.py) or asks the settings object (its model answers
for itself), never by naming a target or probing for an attribute one target happens to have.

Checked on the source, not hoped for:
- a service target's name in dispatch position - compared with a `.target`
  (`s.target == "aci"`, `s.target in ("aks", "fpga")`), as a key of a dict literal, in a
  `Literal[...]` or bound to a constant (`MANAGED = "managed"`) - outside mldeploy/targets/;
- `getattr`/`hasattr` with the name of a target settings field or property (`getattr(s, "cluster", None)`).

REMAINING lists what is still left, file by file, as a ratchet: a new occurrence fails, and so
does one fixed but still listed (shrink the list). It is not a waiver: each entry is work to do.
"""
from __future__ import annotations

import ast
import json
import re

from mldeploy.config.stack import StackSettings
from mldeploy.targets import SERVICE_TARGETS, TARGETS
from tests.architecture.throwaway_target import copy_with_target, run_against_copy
from tests.harness import ROOT

TARGET_NAMES = {t.name for t in SERVICE_TARGETS}
SCANNED = ("mldeploy", "components", "policies")
EXEMPT = ("mldeploy/targets/", "mldeploy/scoring/", "mldeploy/components/", "mldeploy/policies/")  # the last two: links

# file -> how many target-name literals / settings probes it still has (see the module docstring).
REMAINING_LITERALS: dict[str, int] = {}
REMAINING_PROBES: dict[str, int] = {}

def _settings_attributes() -> set[str]:
    names = set(StackSettings.model_fields)
    for t in TARGETS:
        names |= set(t.settings.model_fields)
        names |= {n for n in dir(t.settings) if isinstance(getattr(t.settings, n, None), property)}
    return names


def _is_target_attribute(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "target"


def _names_in(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and n.value in TARGET_NAMES]


def _literals(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(_is_target_attribute(x) for x in [node.left, *node.comparators]):
            found += [(node.lineno, n) for x in [node.left, *node.comparators] for n in _names_in(x)]
        elif isinstance(node, ast.Dict):
            found += [(node.lineno, k.value) for k in node.keys
                      if isinstance(k, ast.Constant) and k.value in TARGET_NAMES]
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value in TARGET_NAMES:
            found.append((node.lineno, node.value.value))  # a constant naming a target: MANAGED = "managed"
        elif isinstance(node, ast.Subscript) and getattr(node.value, "id", getattr(node.value, "attr", "")) == "Literal":
            found += [(node.lineno, n) for n in _names_in(node.slice)]
    return found


def _probes(tree: ast.AST, attributes: set[str]) -> list[tuple[int, str]]:
    return [(node.lineno, node.args[1].value) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")
            and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and node.args[1].value in attributes]


def _scan() -> tuple[dict[str, list], dict[str, list]]:
    attributes = _settings_attributes()
    literals, probes = {}, {}
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(EXEMPT):
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if found := _literals(tree):
                literals[rel] = found
            if found := _probes(tree, attributes):
                probes[rel] = found
    return literals, probes


def _ratchet(found: dict[str, list], remaining: dict[str, int], what: str) -> list[str]:
    problems = []
    for rel in sorted(set(found) | set(remaining)):
        have, allowed = len(found.get(rel, [])), remaining.get(rel, 0)
        if have > allowed:
            problems.append(f"{rel}: {what} {sorted(found[rel])} - dispatch through mldeploy/targets "
                            "(the table) or ask the settings object")
        elif have < allowed:
            problems.append(f"{rel}: {allowed - have} fewer {what} than REMAINING lists: shrink the list to {have}")
    return problems


def test_no_target_is_named_outside_its_package():
    literals, _ = _scan()
    problems = _ratchet(literals, REMAINING_LITERALS, "target-name literals")
    assert not problems, "\n".join(problems)


def test_no_settings_object_is_probed_for_one_targets_attributes():
    _, probes = _scan()
    problems = _ratchet(probes, REMAINING_PROBES, "getattr/hasattr probes")
    assert not problems, "\n".join(problems)


def test_the_scan_sees_what_it_looks_for():
    # The scanner's own check: each form it must catch, caught.
    source = ('s.target == "aci"\nx = s.target in ("aks", "fpga")\nd = {"managed": 1}\n'
              't: Literal["local"]\nK = "kubernetes-endpoint"\ngetattr(s, "cluster", None)\nhasattr(s, "deployments")\n')
    tree = ast.parse(source)
    assert sorted(_literals(tree)) == [(1, "aci"), (2, "aks"), (2, "fpga"), (3, "managed"), (4, "local"),
                                       (5, "kubernetes-endpoint")], _literals(tree)
    assert [n for _, n in _probes(tree, _settings_attributes())] == ["cluster", "deployments"]


# -- a section target is one package and one row (issue 22) ---------------------------------------
# A throw-away section target, `shelf:`, written the way a new one would be: its package under
# mldeploy/targets/shelf/ and its row in the table, in a copy of mldeploy - nothing else edited.
SHELF_PACKAGE = '''"""`shelf:`: a throw-away section target of tests/architecture/test_targets_dispatch.py."""
from pathlib import Path

import click
from pydantic import Field

from mldeploy.config.errors import ConfigError
from mldeploy.config.section import SectionSettings
from mldeploy.targets.target import MockDefaults, Target, TargetCommand


class ShelfSettings(SectionSettings):
    """One shelf."""

    greeting: str = Field(description="what the shelf says")
    model: str = Field(description="name of an entry in `models`")

    def model_references(self):
        return [("model", self.model)]

    def compute_name_claim(self, name):
        return ".greeting", self.greeting  # two shelves with one greeting claim one compute name


def check(name, entry, stack):
    if entry.greeting.isupper():
        raise ConfigError(f"mldeploy:shelf.{name}.greeting", "no shouting")


def deploy(name, entry, foundation):
    from pulumi_azure_native import resources
    tag = resources.TagAtScope(f"shelf-{name}", scope=f"/subscriptions/s/resourceGroups/{foundation.resource_group_name}",
                               properties={"tags": {"shelf": entry.greeting}})
    return {"tag": tag.name}


def run(settings, name, root, loud):
    for entry_name, entry in sorted(settings.sections["shelf"].items()):
        click.echo(f"{entry_name} says {entry.greeting.upper() if loud else entry.greeting}")


TARGET = Target(
    name="shelf", section="shelf", description="shelves of greetings", settings=ShelfSettings, deploy=deploy,
    check=check, warnings=lambda stack: [f"mldeploy:shelf.{n}: dusty" for n in stack.sections["shelf"]],
    mocks=MockDefaults(outputs={"azure-native:resources:TagAtScope": lambda n, i, m: {"name": f"mocked-{n}"}}),
    artifacts=lambda outputs: {f"shelf/{n}.json": o for n, o in (outputs.get("shelf") or {}).items()},
    command=TargetCommand(help="Read the shelves aloud.", run=run,
                          options=(click.option("--loud", is_flag=True, help="Shout."),)))
'''

SHELF_CHECK = '''
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
stack = load_stack(project, "shelf")
found["entries"] = {n: e.greeting for n, e in stack.sections["shelf"].items()}
errors = {}
for bad in sorted(project.glob("stacks/Pulumi.bad-*.yaml")):
    try:
        load_stack(project, bad.name.removeprefix("Pulumi.").removesuffix(".yaml"))
        errors[bad.name] = "loaded"
    except ConfigError as err:
        errors[bad.name] = str(err)
found["errors"] = errors
runner = CliRunner()
found["help"] = runner.invoke(cli, ["--help"]).stdout
read = runner.invoke(cli, ["shelf", "--stack", "shelf", "--project-dir", str(project), "--loud"])
found["command"] = [read.exit_code, read.stdout]
synth = runner.invoke(cli, ["synth", "--stack", "shelf", "--project-dir", str(project), "--out", str(project / "out")])
found["synth"] = [synth.exit_code, synth.stderr, repr(synth.exception)]
found["reference"] = render_reference(SERVICE_MODELS, SECTION_MODELS, SECTION_DESCRIPTIONS)
print(json.dumps(found))
'''


SHELF = "  mldeploy:shelf:\n    one:\n      greeting: hello\n      model: diabetes\n"


def _with_shelf(block: str = SHELF) -> str:
    """The batch example stack with a `shelf:` section in front of its `batch:`."""
    text = (ROOT / "stacks" / "Pulumi.batch.yaml").read_text(encoding="utf-8")
    return text.replace("  mldeploy:batch:\n", block + "  mldeploy:batch:\n")


def test_a_new_section_target_is_its_package_and_its_row(tmp_path):
    copy = copy_with_target(tmp_path, "shelf", {"__init__.py": SHELF_PACKAGE}, after_row="edge")
    stacks = {
        "shelf": _with_shelf(),
        "bad-key": _with_shelf(SHELF + "      colour: red\n"),
        "bad-model": _with_shelf(SHELF.replace("diabetes", "nowhere")),
        "bad-check": _with_shelf(SHELF.replace("hello", "HELLO")),
        "bad-claim": _with_shelf(SHELF.replace("hello", "hi") + "    two:\n      greeting: hi\n      model: diabetes\n"),
        "bad-top": _with_shelf(SHELF.replace("mldeploy:shelf:", "mldeploy:shelve:")),
    }
    project, found = run_against_copy(tmp_path, copy, SHELF_CHECK, stacks)

    # config: the stack key, its entries parsed by the row's model, its errors named like the others'
    assert found["entries"] == {"one": "hello"}
    errors = found["errors"]
    assert errors["Pulumi.bad-key.yaml"].startswith("stacks/Pulumi.bad-key.yaml: mldeploy:shelf.one.colour: "
                                                    "unknown key 'colour'; allowed: greeting, model"), errors
    assert "mldeploy:shelf.one.model: " in errors["Pulumi.bad-model.yaml"] and "nowhere" in errors["Pulumi.bad-model.yaml"]
    assert errors["Pulumi.bad-check.yaml"] == "stacks/Pulumi.bad-check.yaml: mldeploy:shelf.one.greeting: no shouting"
    # plan/stack.py's workspace-name rule: the row's model claims a compute name
    assert errors["Pulumi.bad-claim.yaml"].startswith("stacks/Pulumi.bad-claim.yaml: mldeploy:shelf.two.greeting: "
                                                      "compute name 'hi' is also shelf.one.greeting's"), errors
    assert "unknown key 'shelve' (did you mean 'shelf'?)" in errors["Pulumi.bad-top.yaml"], errors
    # the CLI: its own command, listed and run
    assert "\n  shelf " in found["help"], found["help"]
    assert found["command"] == [0, "one says HELLO\n"], found["command"]
    # synth: its program step, its mocks, its warnings, its files
    code, stderr, exception = found["synth"]
    assert code == 0, (stderr, exception)
    assert "mldeploy:shelf.one: dusty" in stderr, stderr
    out = project / "out"
    assert json.loads((out / "outputs.json").read_text())["shelf"] == {"one": {"tag": "mocked-shelf-one"}}
    assert json.loads((out / "shelf" / "one.json").read_text()) == {"tag": "mocked-shelf-one"}
    # the config reference
    assert "| `shelf` | map of object | — | shelves of greetings |" in found["reference"]
    assert "| `shelf.<name>.greeting` | string | **required** | what the shelf says |" in found["reference"]


SECTION_KEYS = {t.section for t in TARGETS if not t.is_service}
# (file, string) that names no section: another thing spelt like one, with why.
NOT_A_SECTION = {("mldeploy/render/k8s.py", "batch"): "Vector's azure_blob sink option `batch` (the log shipper)"}


def _section_names(tree: ast.AST) -> list[tuple[int, str]]:
    """Where a section target's stack key is named: `settings.batch`, "batch", "mldeploy:batch.x", f"{p}batch.{n}"."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in SECTION_KEYS:
            found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if any(text == k or text.startswith(f"{k}.") or re.search(rf":{k}(\.|$)", text) for k in SECTION_KEYS):
                found.append((node.lineno, text))
    return found


def test_no_section_target_is_named_outside_its_package():
    problems = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(EXEMPT):
                continue
            found = [(line, text) for line, text in _section_names(ast.parse(path.read_text(encoding="utf-8")))
                     if (rel, text) not in NOT_A_SECTION]
            if found:
                problems.append(f"{rel}: names a section target's key {sorted(found)} - ask the table "
                                "(StackSettings.sections, the row's hooks) or the entry's model")
    assert not problems, "\n".join(problems)


def test_the_section_scan_sees_what_it_looks_for():
    source = ('settings.batch\nx = stack.edge.items()\ns["batch"]\nk = f"{p}batch.{name}"\nm = "mldeploy:edge"\n'
              't = "mldeploy:batch:BatchScoring"\nj = "kubernetes:batch/v1:Job"\nh = "edgeHub"\n')
    assert sorted(_section_names(ast.parse(source))) == [(1, ".batch"), (2, ".edge"), (3, "batch"), (4, "batch."),
                                                         (5, "mldeploy:edge")]
