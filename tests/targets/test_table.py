"""The target table (mldeploy/targets/__init__.py): one row per target, each row whole."""
from __future__ import annotations

import subprocess
import sys
import typing

import pytest

from mldeploy.targets import BY_NAME, SECTION_TARGETS, SERVICE_TARGETS, TARGETS, target_of
from mldeploy.targets.target import Target
from tests.harness import ROOT


def test_names_are_unique():
    names = [t.name for t in TARGETS]
    assert len(names) == len(set(names)), f"a target is listed twice in TARGETS: {names}"


def test_a_service_targets_model_is_told_apart_by_its_name():
    for t in SERVICE_TARGETS:
        field = t.settings.model_fields.get("target")
        assert field is not None, f"{t.name}: a service target's settings need a `target` field"
        assert typing.get_args(field.annotation) == (t.name,), \
            f"{t.name}: its settings' `target` is {field.annotation}, must be Literal[{t.name!r}]"


def test_a_section_target_names_its_own_stack_key():
    from mldeploy.config.stack import STACK_KEYS
    keys = [t.section for t in SECTION_TARGETS]
    assert len(keys) == len(set(keys)), f"two section targets share a stack key: {keys}"
    for t in SECTION_TARGETS:
        assert t.section not in STACK_KEYS, f"{t.name}: its stack key {t.section!r} is a shared key of the stack"
        assert t.description, f"{t.name}: the config reference needs its stack key's description"


def test_every_row_provides_the_hooks():
    for t in TARGETS:
        assert isinstance(t, Target) and callable(t.deploy) and callable(t.check), f"{t.name}: an incomplete row"


def test_one_resource_type_has_one_mock_answer():
    seen: dict[str, str] = {}
    for t in TARGETS:
        for token in [*t.mocks.outputs, *t.mocks.calls]:
            other = seen.setdefault(token, t.name)
            shared = {other, t.name} == {"managed", "kubernetes-endpoint"}  # one endpoint resource, two targets
            assert other == t.name or shared, f"{token}: mocked by both {other} and {t.name}"


def test_a_service_finds_its_row():
    class Service:
        target = "aci"
    assert target_of(Service()) is BY_NAME["aci"]


def test_the_config_accepts_exactly_the_tables_service_targets():
    from mldeploy.config import ConfigError
    from mldeploy.targets.stack import parse_settings
    from tests.harness import ROOT, stack_values
    values, keys = stack_values("dev")
    values["mldeploy:services"] = {"web": {"target": "nowhere", "image": "diabetes"}}
    with pytest.raises(ConfigError) as info:
        parse_settings("dev", values, keys, ROOT, "stacks/Pulumi.dev.yaml")
    allowed = ", ".join(t.name for t in SERVICE_TARGETS)
    assert f"must be one of {allowed}; got" in info.value.message, info.value


def test_each_section_target_reads_its_own_section():
    from mldeploy.config.stack import StackSettings
    stack = StackSettings.model_construct(sections={t.section: {"x": t.name} for t in SECTION_TARGETS})
    for t in SECTION_TARGETS:
        assert t.entries(stack) == {"x": t.name}, f"{t.name}: reads another section than {t.section}"


def test_the_table_loads_without_pulumi():
    # The CLI reads the table for every command; the program steps (Pulumi, azure-native) load
    # only when the program runs.
    code = "import sys, mldeploy.targets; print(sorted(m for m in sys.modules if m.startswith(('pulumi', 'mldeploy.components'))))"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]", f"importing the table imported {run.stdout.strip()}"


def test_every_target_serve_runs_has_its_local_runner():
    # One way to be served here: the row's local_runner (a serve plan alone would never run).
    for t in SERVICE_TARGETS:
        if t.serve_plan is not None or t.served_by_default:
            assert t.local_runner is not None, f"{t.name}: `serve` runs a target only through its local_runner"


def test_serve_and_serve_containers_choose_nothing_by_the_type_of_a_plan_or_settings():
    import ast

    for rel in ("mldeploy/cli/serve.py", "mldeploy/cli/serve_containers.py"):
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
        checked = [ast.unparse(n.args[1]) for n in ast.walk(tree) if isinstance(n, ast.Call)
                   and getattr(n.func, "id", "") in ("isinstance", "issubclass")]
        by_kind = [c for c in checked if c.endswith(("Plan", "Settings"))]
        assert not by_kind, f"{rel}: isinstance/issubclass on {by_kind}: ask the target's row (local_runner, containers)"


def test_init_offers_the_targets_with_a_starting_point_in_deploy_order():
    from mldeploy.project import TARGET_STACKS

    rows = sorted((t for t in TARGETS if t.starting_point is not None), key=lambda t: t.starting_point.order)
    assert TARGET_STACKS == {t.name: t.starting_point.stack for t in rows}
    for t in rows:
        stack = t.starting_point.stack
        template = t.starting_point.template or ROOT / "mldeploy" / "project" / "templates" / "stacks" / f"{stack}.yaml.tmpl"
        assert template.is_file(), f"starting point {stack}: no template {template}"


def test_a_starting_point_is_production_exactly_when_its_stack_template_says_so():
    """The deploy workflow puts production starting points behind approval (project/__init__.py
    PRODUCTION_STACKS, from the rows); the stack they write must say the same."""
    import re

    for t in TARGETS:
        point = t.starting_point
        if point is None:
            continue
        template = point.template or ROOT / "mldeploy" / "project" / "templates" / "stacks" / f"{point.stack}.yaml.tmpl"
        said = re.search(r"^  mldeploy:production: (true|false)$", template.read_text(encoding="utf-8"), re.M)
        assert said and (said.group(1) == "true") is point.production, (t.name, point.stack)
