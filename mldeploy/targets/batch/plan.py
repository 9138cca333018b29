"""Decide everything about one batch entry before anything is declared: names, content-derived
versions, the environment's conda text and the cluster's and job's settings (the BatchPlan of
mldeploy/plan/batch.py); and the entry `mldeploy batch` runs on this machine. No Pulumi here."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError
from mldeploy.config.stack import StackSettings
from mldeploy.plan.assets import AssetPlan, batch_asset_name
from mldeploy.plan.batch import CODE_BLOB_PREFIX, BatchPlan, LocalBatchPlan, compute_name, endpoint_name
from mldeploy.config.requirements import read_requirements
from mldeploy.plan.conda import conda_with_pip
from mldeploy.plan.versions import BATCH_EXECUTOR_PIN
from mldeploy.scoring.environment import pip_requirements
from mldeploy.plan.digest import digest_files
from mldeploy.config.source_directory import source_files
from mldeploy.plan.models import resolve_model
from mldeploy.targets.batch.config import BatchSettings


def iso_seconds(seconds: int) -> str:
    return f"PT{seconds}S"


def conda_text(settings: BatchSettings, root: Path) -> str:
    """The batch environment's conda file: given as is, or built from requirements.txt.

    Azure ML batch deployments need `azureml-core` in the environment (their job driver
    imports it); a requirements file gets it added if missing, at the dated table's version."""
    if settings.conda_file is not None:
        return (root / settings.conda_file).read_text(encoding="utf-8")
    lines = list(read_requirements(settings.requirements_file, root).requirements)  # `-r` files inlined
    if not any(re.match(r"^azureml-core\b", line) for line in lines):
        lines.append(BATCH_EXECUTOR_PIN)  # exact: plan/versions.py
    return conda_with_pip("batch-environment", settings.python_version, lines)


def code_files(settings: BatchSettings, root: Path) -> tuple[tuple[str, Path], ...]:
    """v2's code folder of the entry: the driver first, then every other file its sourceDirectory
    ships (none without one; checked at load: models, secrets, links)."""
    shipped = source_files(settings.source_directory, root)
    return ((settings.script_in_source, root / settings.script_path),
            *((rel, path) for rel, path in shipped if rel != settings.script_in_source))


def plan_batch(stack: str, resource_group: str, name: str, settings: BatchSettings, root: Path) -> BatchPlan:
    """Names, versions, content and settings of one batch entry."""
    env_text = conda_text(settings, root)
    env_digest = hashlib.sha256(f"{settings.base_image}\n{env_text}".encode()).hexdigest()
    files = code_files(settings, root)
    # The version is the digest of every file of the folder: a change to any is a new code version.
    code_digest = digest_files([(rel, path.read_bytes()) for rel, path in files])
    return BatchPlan(
        compute_name=compute_name(name),
        endpoint_name=endpoint_name(stack, resource_group, name),
        deployment_name=name,
        assets=AssetPlan(
            environment_name=batch_asset_name(name),
            environment_version=env_digest[:12],
            base_image=settings.base_image,
            conda_text=env_text,
            code_name=batch_asset_name(name),
            code_version=code_digest[:12],
            code_blob_prefix=f"{CODE_BLOB_PREFIX}/{name}/{code_digest[:12]}",
            code_files=files,
            scoring_script=settings.script_in_source,
        ),
        vm_size=settings.vm_size,
        vm_priority=settings.vm_priority,
        min_nodes=settings.min_nodes,
        max_nodes=settings.max_nodes,
        idle_time=iso_seconds(settings.idle_seconds_before_scaledown),
        instance_count=settings.instance_count,
        max_concurrency_per_instance=settings.max_concurrency_per_instance,
        mini_batch_size=settings.mini_batch_size,
        max_retries=settings.max_retries,
        timeout=iso_seconds(settings.timeout_seconds),
        error_threshold=settings.error_threshold,
        output_action=settings.output_action,
        output_file_name=settings.output_file_name,
        description=settings.description,
        environment_variables=tuple(sorted(settings.environment_variables.items())),
    )


def plan_local_batch(settings: StackSettings, name: str | None, root: Path) -> LocalBatchPlan:
    """The named batch entry's local run, or the only entry's; ConfigError naming the known ones."""
    entries = settings.sections.get("batch", {})
    if not entries:
        raise ConfigError(f"{PROJECT}:batch", "this stack declares no batch entry")
    if name is None:
        if len(entries) > 1:
            raise ConfigError(f"{PROJECT}:batch", f"several entries ({', '.join(sorted(entries))}): choose one with --name")
        name = next(iter(entries))
    if name not in entries:
        raise ConfigError(f"{PROJECT}:batch", f"no entry {name!r}; known: {', '.join(sorted(entries))}")
    entry = entries[name]
    return LocalBatchPlan(name=name, script=root / entry.script_path, script_in_source=entry.script_in_source,
                          code_files=code_files(entry, root) if entry.source_directory is not None else (),
                          model=resolve_model(entry.model, settings.models[entry.model], root),
                          mini_batch_size=entry.mini_batch_size, max_retries=entry.max_retries,
                          error_threshold=entry.error_threshold,
                          environment_variables=tuple(sorted(entry.environment_variables.items())),
                          environment_file=("condaFile" if entry.conda_file is not None else "requirementsFile")
                          + f" {entry.conda_file or entry.requirements_file}",
                          environment_pins=local_pins(entry, root))


def local_pins(settings: BatchSettings, root: Path) -> tuple[str, ...]:
    """The job environment's pip requirements a local run needs: azureml-core left out (the job's
    driver needs it; a local run has mldeploy's stand-in for an SDK v1 driver's imports)."""
    return tuple(line for line in pip_requirements("conda", conda_text(settings, root))
                 if not re.match(r"^azureml-core\b", line))
