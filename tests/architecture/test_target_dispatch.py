"""The tools dispatch through the target table (mldeploy/targets): the CLI's serve, test, logs
and serve --containers, the local runtime and the policy pack never compare a service's
`target` with a name, never name a target in a comparison, and never probe a settings object
with hasattr/getattr for the attributes one target happens to have (issue 22)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mldeploy.targets import TARGETS

ROOT = Path(__file__).resolve().parents[2]
DISPATCHING = [*(ROOT / "mldeploy/cli" / f for f in ("serve.py", "test.py", "logs.py", "serve_containers.py")),
               *sorted((ROOT / "mldeploy/runtime").glob("*.py")), *sorted((ROOT / "policies").glob("*.py"))]
NAMES = {t.name for t in TARGETS}


def _strings(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _problems(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(s, ast.Attribute) and s.attr == "target" for s in sides):
                found.append(f"line {node.lineno}: compares `.target`")
            named = set().union(*(_strings(s) for s in sides)) & NAMES
            if named:
                found.append(f"line {node.lineno}: compares with target name(s) {sorted(named)}")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("hasattr", "getattr") \
                and len(node.args) >= 2 and isinstance(node.args[0], ast.Name) \
                and node.args[0].id in ("svc", "service", "settings", "entry", "s"):
            found.append(f"line {node.lineno}: {node.func.id}({node.args[0].id}, ...) probes a settings object")
    return found


@pytest.mark.parametrize("path", DISPATCHING, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_tools_ask_the_table_not_the_target_name(path):
    problems = _problems(path.read_text(encoding="utf-8"))
    assert not problems, f"{path.relative_to(ROOT)} dispatches on targets itself (use mldeploy/targets): {problems}"


def test_the_guard_finds_what_the_old_cli_did():
    old = ('local = svc.target == "local" or (use_local and hasattr(svc, "deployments"))\n'
           'if svc.target not in ("aks", "fpga", "aci"):\n    pass\n')
    assert len(_problems(old)) == 5, _problems(old)


def test_every_target_policy_module_is_in_the_pack():
    from mldeploy.policies.rules import POLICIES
    import importlib

    names = {p.name for p in POLICIES}
    for target in TARGETS:
        for module in target.policies:
            registered = {p.name for p in importlib.import_module(module).POLICIES}
            assert registered <= names, f"target {target.name}: {module}'s policies are not in the pack"
