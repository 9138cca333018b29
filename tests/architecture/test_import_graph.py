"""The package graph reads as the pipeline: config -> plan -> render -> components -> program,
with synth, cli and runtime as the tools around it (docs/development.md, "Layout").

The contracts are in pyproject.toml ([tool.importlinter]); import-linter (grimp's import graph,
every import statement including those inside functions) checks them.
"""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def contracts() -> list[dict]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]["contracts"]


def test_every_import_contract_is_kept():
    run = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, f"import contracts broken (pyproject.toml [tool.importlinter]):\n{run.stdout}{run.stderr}"


def test_the_contracts_say_what_the_layout_promises():
    by_type = {}
    for c in contracts():
        by_type.setdefault(c["type"], []).append(c)
    assert [c["ancestors"] for c in by_type["acyclic_siblings"]] == [["mldeploy"]], "no cycle between packages"
    forbidden = {tuple(c["source_modules"]): set(c["forbidden_modules"]) for c in by_type["forbidden"]}
    assert "mldeploy.config" in forbidden[("mldeploy.components",)], "components import nothing from config"
    assert {"mldeploy.runtime", "mldeploy.synth", "mldeploy.components", "mldeploy.cli"} <= forbidden[
        ("mldeploy.plan", "mldeploy.render")]


def test_the_gateway_renderer_is_kept_from_settings():
    forbidden = {tuple(c["source_modules"]): set(c["forbidden_modules"])
                 for c in contracts() if c["type"] == "forbidden"}
    assert "mldeploy.config" in forbidden.get(("mldeploy.render.gateway",), set()), \
        "pyproject.toml: a contract must keep mldeploy.render.gateway from importing mldeploy.config"


def test_the_runtime_takes_plans():
    forbidden = {tuple(c["source_modules"]): set(c["forbidden_modules"])
                 for c in contracts() if c["type"] == "forbidden"}
    assert {"mldeploy.config", "mldeploy.targets"} <= forbidden.get(("mldeploy.runtime",), set()), \
        "pyproject.toml: a contract must keep mldeploy.runtime from importing mldeploy.config (it takes plans)"


def test_no_import_is_waived():
    waived = {c["name"]: c["ignore_imports"] for c in contracts() if c.get("ignore_imports")}
    assert not waived, f"contracts kept only by waiving imports: {waived}"
