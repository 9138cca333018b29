"""The one way in: a stack's config parsed into settings by the targets' models (mldeploy/config:
shape, names, references), then checked against the plan layer's rules and each target's own
checks, all before anything is declared. `mldeploy synth`, the other CLI commands and the Pulumi
program load through here, so a stack either loads whole or stops with one ConfigError naming
the file and the key. It lives next to the table because config and plan sit below it."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Iterable, Mapping

from mldeploy.config import load as config_load
from mldeploy.config.errors import ConfigError
from mldeploy.config.stack import StackSettings
from mldeploy.plan import stack as plan_stack
from mldeploy.plan.batching import check_batching
from mldeploy.plan.models import check_model_versions, resolve_model
from mldeploy.plan.v1_script import check_entry_scripts
from mldeploy.targets import SECTION_TARGETS, SERVICE_TARGETS, TARGETS

# target name -> its settings model: what `services.<name>.target` may say, in the table's order.
SERVICE_MODELS: Mapping[str, type] = {t.name: t.settings for t in SERVICE_TARGETS}
# a section target's stack key -> the model of each of its entries (`batch.<name>`).
SECTION_MODELS: Mapping[str, type] = {t.section: t.settings for t in SECTION_TARGETS}
# a section target's stack key -> what it holds (the config reference's "meaning").
SECTION_DESCRIPTIONS: Mapping[str, str] = {t.section: t.description for t in SECTION_TARGETS}
_CHECKS = {t.name: t.check for t in SERVICE_TARGETS}
_STACK_CHECKS = tuple(t.check_stack for t in TARGETS)


def check_stack(settings: StackSettings, today: date | None = None) -> None:
    """Raise a ConfigError (key named, no file) for the first plan rule the stack breaks: each
    section target's checks per entry (in name order), then the plan's rules with each service's."""
    for target in SECTION_TARGETS:
        for name, entry in sorted(target.entries(settings).items()):
            target.check(name, entry, settings)
    plan_stack.check_stack(settings, _CHECKS, _STACK_CHECKS, today)


def parse_settings(stack: str, config: dict[str, Any], secret_keys: Iterable[str], project_root: Path,
                   source: str) -> StackSettings:
    """A stack's config map (`namespace:key` -> value) into settings every rule holds for."""
    settings = config_load.parse_settings(stack, config, secret_keys, project_root, source, SERVICE_MODELS,
                                           SECTION_MODELS)
    try:
        check_stack(settings)
        check_entry_scripts(settings, project_root)
        check_batching(settings, project_root)
        check_model_versions({n: resolve_model(n, m, project_root) for n, m in settings.models.items()})
    except ConfigError as err:
        raise err.with_source(source) from None
    return settings


def load_stack(project_root: Path, stack: str) -> StackSettings:
    """`stacks/Pulumi.<stack>.yaml` into settings every rule holds for."""
    values, secret_keys = config_load.read_stack(project_root, stack)
    return parse_settings(stack, values, secret_keys, project_root, config_load.stack_source(project_root, stack))


def target_warnings(settings: StackSettings) -> list[str]:
    """Every target's warnings about a stack (lines naming their key), in the table's order."""
    return [line for t in TARGETS for line in t.warnings(settings)]


def target_notes(settings: StackSettings) -> list[str]:
    """Every target's notes about a stack (lines naming their key), in the table's order."""
    return [line for t in TARGETS for line in t.notes(settings)]


def target_reports(settings: StackSettings) -> list[tuple[str, list[str]]]:
    """`synth`'s blocks of the targets that have one for this stack: (heading, lines)."""
    return [block for t in TARGETS if (block := t.report(settings)) is not None]
