"""Run the real Pulumi program under mocks for one stack and collect what it declared.

Used by `mldeploy synth` and by the tests: one harness for both. Pulumi under mocks needs a fresh
root stack per run (or exports and URNs leak between runs), thread-safe recording (the mock
monitor is called from a thread pool, so results are sorted), and mocks that name Kubernetes
objects and mark secrets as the providers would (synth/mocks.py).
"""
from __future__ import annotations

import logging
import os
import shutil
from contextlib import chdir
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from unittest import mock

import pulumi
from pydantic import BaseModel

from mldeploy import PROJECT
from mldeploy.config import StackSettings, to_pulumi_config
from mldeploy.config.load import read_stack, stack_source
from mldeploy.targets.stack import parse_settings
from mldeploy.config.base import Secret, SecureValue
from mldeploy.config.source_directory import walks_cached
from mldeploy.nested import leaves
from mldeploy.pulumi_internals import run_mocked_program
from mldeploy.synth.mask import Masker
from mldeploy.synth.mocks import RecordingMonitor, Registration, SecretLedger, SynthMocks, offline_acr_exchange


class DuplicateUrnError(Exception):
    """The program declared two resources with one URN: `pulumi up` and `preview` would refuse
    the whole stack ("Duplicate resource URN"), so synth refuses it too, naming both."""

    def __init__(self, duplicates: list[tuple[Registration, Registration]]):
        self.duplicates = duplicates
        lines = [f"{a.urn}: declared twice, under {a.parent or 'the stack'} and under {b.parent or 'the stack'}"
                 for a, b in sorted(duplicates, key=lambda d: d[0].urn)]
        super().__init__(f"{len(lines)} duplicate resource URN(s) (the Pulumi engine refuses the stack; "
                         "name each child from its component's name):\n  " + "\n  ".join(lines))


class EngineLog(logging.Logger):
    """The Pulumi engine's log under mocks: keeps what the program logs at warning level or above,
    prints nothing (the SDK's MockEngine calls logger.warning/.error for pulumi.log.warn/.error)."""

    def __init__(self) -> None:
        super().__init__("mldeploy.synth.engine", logging.WARNING)
        self.propagate = False
        self.messages: list[tuple[str, str]] = []

    def handle(self, record: logging.LogRecord) -> None:
        self.messages.append((record.levelname.lower(), record.getMessage()))


@dataclass
class SynthResult:
    """Every resource the program registered (masked, sorted by URN) and its stack outputs."""

    stack: str
    settings: StackSettings
    resources: list[dict[str, Any]]
    outputs: dict[str, Any]
    leaks: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    project_root: Path | None = None
    # The nginx.conf the program declared for each gateway container (service name -> text).
    gateway_confs: dict[str, str] = field(default_factory=dict)
    # The metadata.name the mocks gave each Kubernetes object (SynthMocks.kubernetes_names).
    kubernetes_names: dict[tuple[str, str], str | None] = field(default_factory=dict)
    # What the program logged through pulumi.log at warning level or above, as (level, message): under
    # `pulumi up` the CLI shows these; synth prints them (cli/synth.py), once each.
    engine_log: list[tuple[str, str]] = field(default_factory=list)

    def of_type(self, type_token: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_token]

    def one(self, type_token: str, name: str | None = None) -> dict[str, Any]:
        found = [r for r in self.of_type(type_token) if name is None or r["name"] == name]
        if len(found) != 1:
            names = [r["name"] for r in self.of_type(type_token)]
            raise AssertionError(f"expected one {type_token} named {name!r}, found {names}")
        return found[0]

    def types(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.resources:
            counts[r["type"]] = counts.get(r["type"], 0) + 1
        return dict(sorted(counts.items()))


def _secret_texts(value: Any) -> Iterator[str]:
    """Every secret text of the config or the settings: `secure:` placeholders and every value
    the settings hold as `Secret`, so the leak check sees each one wherever it lands."""
    def fields(item: Any) -> list[Any] | None:
        return [getattr(item, name) for name in type(item).model_fields] if isinstance(item, BaseModel) else None

    for item in leaves(value, children=fields):
        if isinstance(item, SecureValue):
            yield item.placeholder()
        elif isinstance(item, Secret):
            yield item.reveal()


def synth_build_dir(project_root: Path, stack: str) -> Path:
    """Where the program under synth writes the build contexts (`.mldeploy/synth/<stack>/images`)."""
    return project_root / ".mldeploy" / "synth" / stack / "images"


def synthesize(
    project_root: Path,
    stack: str,
    build_dir: Path,
    *,
    lookups: dict[str, dict] | None = None,
    stack_values: tuple[dict[str, Any], set[str]] | None = None,
    settings: StackSettings | None = None,
) -> SynthResult:
    """Validate the stack file, then run the Pulumi program for it under mocks.

    `stack_values` replaces the stack file's content (tests use it for variations); `settings`,
    when the caller already parsed them, are what the program runs on (one parse per synth).
    Raises ConfigError for an invalid stack, before any resource is declared.
    """
    with walks_cached():  # the load-time rule and the program's build contexts: one walk of each sourceDirectory
        return _synthesize(project_root.resolve(), stack, build_dir, lookups, stack_values, settings)


def _synthesize(project_root: Path, stack: str, build_dir: Path, lookups: dict[str, dict] | None,
                stack_values: tuple[dict[str, Any], set[str]] | None, settings: StackSettings | None) -> SynthResult:
    from mldeploy.program import BUILD_DIR_ENV, PROJECT_ROOT_ENV, RunContext, run_from_pulumi_config

    values, secret_keys = stack_values if stack_values is not None else read_stack(project_root, stack)
    if settings is None:
        settings = parse_settings(stack, values, secret_keys, project_root, stack_source(project_root, stack))

    ledger = SecretLedger()
    for text in [*_secret_texts(list(values.values())), *_secret_texts(settings)]:
        ledger.add(text)
    mocks = SynthMocks(stack, ledger, lookups)
    engine_log = EngineLog()
    monitor = RecordingMonitor(mocks)

    collected: dict[str, tuple[Any, bool]] = {}

    # No registry to call under mocks: the run's ACR token exchange is an offline stand-in.
    run = RunContext(acr_exchange=offline_acr_exchange(ledger))

    def program():
        outputs = run_from_pulumi_config(engine_errors=False, run=run, settings=settings)

        async def collect() -> None:
            for key, value in outputs.items():
                out = pulumi.Output.from_input(value)
                collected[key] = (await out.future(), await out.is_secret())

        return collect()

    # The program writes the build contexts to a folder fixed by the project and stack, not by
    # `--out`: the contexts' paths are inputs of the image resources (and so of the mock digests
    # every service pulls), and two synths of one stack must record the same resources.json
    # wherever their output goes. The contexts are then copied to `build_dir` for review.
    program_build = synth_build_dir(project_root, stack)
    shutil.rmtree(program_build, ignore_errors=True)
    program_build.mkdir(parents=True)
    # Like the Pulumi CLI: the project root as working directory, plus the program's variables.
    with chdir(project_root), mock.patch.dict(os.environ, {BUILD_DIR_ENV: str(program_build),
                                                           PROJECT_ROOT_ENV: str(project_root)}):
        run_mocked_program(program, mocks, monitor, project=PROJECT, stack=stack,
                           config=to_pulumi_config(values), secret_keys=sorted(secret_keys), logger=engine_log)
    build_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(program_build, build_dir, dirs_exist_ok=True)
    if monitor.duplicates:
        raise DuplicateUrnError(monitor.duplicates)

    masker = Masker(ledger.values())
    resources = []
    for reg in sorted(monitor.registrations, key=lambda r: r.urn):
        resources.append({
            "urn": reg.urn,
            "type": reg.type,
            "name": reg.name,
            "parent": reg.parent,
            "inputs": masker.scrub(reg.inputs, where=reg.urn),
            # What Pulumi waits for before creating it (explicit depends_on and input references).
            "dependsOn": list(reg.dependencies),
            # Only what the program set: most resources have no options and no key.
            **({"options": reg.options} if reg.options else {}),
        })
    outputs = {}
    for key in sorted(collected):
        value, is_secret = collected[key]
        outputs[key] = masker.scrub_output(value, is_secret, where=f"output {key}")
    return SynthResult(stack, settings, resources, outputs, masker.leaks, ledger.values(), project_root,
                       run.gateway_confs, mocks.kubernetes_names, engine_log.messages)
