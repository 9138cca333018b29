"""The one way in: a stack's config parsed into settings by the targets' models (mldeploy/config:
shape, names, references), then checked against the plan layer's rules and each target's own
checks, all before anything is declared. `mldeploy synth`, the other CLI commands and the Pulumi
program load through here, so a stack either loads whole or stops with one ConfigError naming
the file and the key. It lives next to the table because config and plan sit below it.

Which mistake is reported when a file has several: a stack whose shape is wrong (an unknown key,
a wrong type, a reference to nothing) stops at that, since nothing else can be read; a stack that
reads stops at the rule-breaking key that comes FIRST IN THE FILE (config/order.py) - every
load-time rule runs, and the order in which the rules happen to run never decides."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from mldeploy.config import load as config_load
from mldeploy.config.errors import ConfigError
from mldeploy.config.order import file_position
from mldeploy.config.source_directory import check_source_directories
from mldeploy.config.stack import StackSettings
from mldeploy.plan import stack as plan_stack
from mldeploy.plan.batching import check_batching
from mldeploy.plan.memory import check_sample_fits_body
from mldeploy.plan.secret_env import check_secret_env
from mldeploy.plan.models import check_model_versions, resolve_model
from mldeploy.plan.model_libraries import check_model_libraries
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


def load_time_rules(settings: StackSettings, project_root: Path,
                    today: date | None = None) -> list[Callable[[], None]]:
    """Every rule a stack that reads must hold, each a call of its own (a ConfigError naming the
    key, or nothing): each section target's checks per entry, the plan's rules with each service's
    target checks, then the files the stack names (entry scripts, batching, model versions, the libraries a model needs)."""
    rules: list[Callable[[], None]] = [
        lambda target=target, name=name, entry=entry: target.check(name, entry, settings)
        for target in SECTION_TARGETS for name, entry in sorted(target.entries(settings).items())]
    rules += plan_stack.stack_rules(settings, _CHECKS, _STACK_CHECKS, today)
    rules.append(lambda: check_secret_env(settings, TARGETS))
    rules += [lambda: check_source_directories(settings, project_root),
              lambda: check_entry_scripts(settings, project_root), lambda: check_batching(settings, project_root),
              lambda: plan_stack.check_azure_built_environments(settings, project_root),
              lambda: plan_stack.check_azure_built_servers(settings, project_root),
              lambda: check_sample_fits_body(settings, project_root),
              lambda: check_model_versions({n: resolve_model(n, m, project_root) for n, m in settings.models.items()}),
              lambda: check_model_libraries(settings, project_root)]
    return rules


def broken_rules(rules: Iterable[Callable[[], None]]) -> list[ConfigError]:
    """Run every rule; the ConfigErrors they raise, in run order. A rule that fails otherwise after
    a mistake was found is taken to depend on what that mistake broke and is passed over; with
    no mistake found, its failure is mldeploy's own and propagates."""
    errors: list[ConfigError] = []
    for rule in rules:
        try:
            rule()
        except ConfigError as err:
            errors.append(err)
        except Exception:
            if not errors:
                raise
    return errors


def first_in_file(errors: list[ConfigError], config: Mapping[str, Any]) -> ConfigError:
    """The error whose key comes first in the stack file (ties: the rule that ran first)."""
    return min(enumerate(errors), key=lambda e: (file_position(e[1].key, config), e[0]))[1]


def check_stack(settings: StackSettings, project_root: Path, config: Mapping[str, Any],
                today: date | None = None) -> None:
    """Raise the ConfigError (key named, no file) of the first key in the file that breaks a rule."""
    errors = broken_rules(load_time_rules(settings, project_root, today))
    if errors:
        raise first_in_file(errors, config)


def parse_settings(stack: str, config: dict[str, Any], secret_keys: Iterable[str], project_root: Path,
                   source: str) -> StackSettings:
    """A stack's config map (`namespace:key` -> value) into settings every rule holds for."""
    settings = config_load.parse_settings(stack, config, secret_keys, project_root, source, SERVICE_MODELS,
                                           SECTION_MODELS)
    try:
        check_stack(settings, project_root, config)
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
