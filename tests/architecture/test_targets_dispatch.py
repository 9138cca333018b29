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
from collections import Counter
from pathlib import Path

from mldeploy.config.stack import StackSettings
from mldeploy.targets import SERVICE_TARGETS, TARGETS
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
