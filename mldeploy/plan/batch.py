"""Decide everything about one batch entry before anything is declared: names, content-derived
versions, the environment's conda text and the cluster's and job's settings. No Pulumi here;
`components/batch.py` declares exactly what the BatchPlan says."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from mldeploy import PROJECT
from mldeploy.config.batch import BatchSettings
from mldeploy.config.errors import ConfigError
from mldeploy.config.stack import StackSettings
from mldeploy.plan.conda import conda_with_pip, requirement_lines
from mldeploy.plan.digest import digest_path
from mldeploy.plan.models import ResolvedModel, resolve_model
from mldeploy.plan.naming import hash_suffix

CODE_BLOB_PREFIX = "mldeploy/batch-code"


@dataclass(frozen=True)
class BatchPlan:
    """What BatchScoring declares, decided up front by pure code."""

    compute_name: str
    endpoint_name: str
    deployment_name: str
    environment_name: str
    environment_version: str
    base_image: str
    conda_text: str
    code_name: str
    code_version: str
    code_blob_prefix: str
    code_files: tuple[tuple[str, Path], ...]
    scoring_script: str
    # The AmlCompute cluster.
    vm_size: str
    vm_priority: str  # "dedicated" or "lowPriority"
    min_nodes: int
    max_nodes: int
    idle_time: str  # ISO 8601, e.g. PT120S
    # The batch deployment's job.
    instance_count: int
    max_concurrency_per_instance: int
    mini_batch_size: int
    max_retries: int
    timeout: str  # ISO 8601
    error_threshold: int
    output_action: str  # "appendRow" or "summaryOnly"
    output_file_name: str
    description: str  # the user's free text; "" when none


def compute_name(name: str) -> str:
    """AmlCompute names: 2-16 letters, digits and '-', starting with a letter."""
    if len(name) <= 16:
        return name
    return f"{name[:9].rstrip('-')}-{hash_suffix(name)}"


def endpoint_name(stack: str, resource_group: str, name: str) -> str:
    """Batch endpoint names are unique per Azure region, so they carry a stack-derived suffix."""
    return f"{name[:24].rstrip('-')}-{hash_suffix(stack, resource_group)}"


def iso_seconds(seconds: int) -> str:
    return f"PT{seconds}S"


def conda_text(settings: BatchSettings, root: Path) -> str:
    """The batch environment's conda file: given as is, or built from requirements.txt.

    Azure ML batch deployments need `azureml-core` in the environment (their job driver
    imports it); a requirements file gets it added if missing."""
    if settings.conda_file is not None:
        return (root / settings.conda_file).read_text(encoding="utf-8")
    lines = requirement_lines((root / settings.requirements_file).read_text(encoding="utf-8"))
    if not any(re.match(r"^azureml-core\b", line) for line in lines):
        lines.append("azureml-core")
    return conda_with_pip("batch-environment", settings.python_version, lines)


def plan_batch(stack: str, resource_group: str, name: str, settings: BatchSettings, root: Path) -> BatchPlan:
    """Names, versions, content and settings of one batch entry."""
    env_text = conda_text(settings, root)
    env_digest = hashlib.sha256(f"{settings.base_image}\n{env_text}".encode()).hexdigest()
    script = root / settings.entry_script
    code_digest = digest_path(script)
    return BatchPlan(
        compute_name=compute_name(name),
        endpoint_name=endpoint_name(stack, resource_group, name),
        deployment_name=name,
        environment_name=f"mldeploy-batch-{name}",
        environment_version=env_digest[:12],
        base_image=settings.base_image,
        conda_text=env_text,
        code_name=f"mldeploy-batch-{name}",
        code_version=code_digest[:12],
        code_blob_prefix=f"{CODE_BLOB_PREFIX}/{name}/{code_digest[:12]}",
        code_files=((script.name, script),),
        scoring_script=script.name,
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
    )


# -- `mldeploy batch`: the entry run on this machine ----------------------------------------------

@dataclass(frozen=True)
class LocalBatchPlan:
    """A batch entry as `mldeploy batch` runs it here (runtime/batch_local.py): the driver
    script, the model's files, and the job's mini-batch size, retries and error threshold."""

    name: str
    script: Path
    model: ResolvedModel
    mini_batch_size: int
    max_retries: int
    error_threshold: int  # -1: never fail on errors


def plan_local_batch(settings: StackSettings, name: str | None, root: Path) -> LocalBatchPlan:
    """The named batch entry's local run, or the only entry's; ConfigError naming the known ones."""
    entries = settings.batch
    if not entries:
        raise ConfigError(f"{PROJECT}:batch", "this stack declares no batch entry")
    if name is None:
        if len(entries) > 1:
            raise ConfigError(f"{PROJECT}:batch", f"several entries ({', '.join(sorted(entries))}): choose one with --name")
        name = next(iter(entries))
    if name not in entries:
        raise ConfigError(f"{PROJECT}:batch", f"no entry {name!r}; known: {', '.join(sorted(entries))}")
    entry = entries[name]
    return LocalBatchPlan(name=name, script=root / entry.entry_script,
                          model=resolve_model(entry.model, settings.models[entry.model], root),
                          mini_batch_size=entry.mini_batch_size, max_retries=entry.max_retries,
                          error_threshold=entry.error_threshold)
