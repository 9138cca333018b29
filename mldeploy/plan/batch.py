"""What is decided about one batch entry before anything is declared (the plan types), and the
names other rules derive from an entry. The plan function is the batch target's own
(mldeploy/targets/batch/plan.py); `components/batch.py` declares exactly what the BatchPlan says."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mldeploy.plan.assets import AssetPlan
from mldeploy.plan.models import ResolvedModel
from mldeploy.plan.naming import hash_suffix

CODE_BLOB_PREFIX = "mldeploy/batch-code"


@dataclass(frozen=True)
class BatchPlan:
    """What BatchScoring declares, decided up front by pure code."""

    compute_name: str
    endpoint_name: str
    deployment_name: str
    assets: AssetPlan  # the driver script's environment and code
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
    environment_variables: tuple[tuple[str, str], ...] = ()  # the job's environmentVariables


def compute_name(name: str) -> str:
    """AmlCompute names: 2-16 letters, digits and '-', starting with a letter."""
    if len(name) <= 16:
        return name
    return f"{name[:9].rstrip('-')}-{hash_suffix(name)}"


def endpoint_name(stack: str, resource_group: str, name: str) -> str:
    """Batch endpoint names are unique per Azure region, so they carry a stack-derived suffix."""
    return f"{name[:24].rstrip('-')}-{hash_suffix(stack, resource_group)}"


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
    # With a sourceDirectory: its shipped files (path in it, file) and the driver's path in it; the
    # run imports from a copy of them, as the job does from its code folder.
    code_files: tuple[tuple[str, Path], ...] = ()
    script_in_source: str = ""
    environment_variables: tuple[tuple[str, str], ...] = ()  # set around init() and run(), as the job's
    # The job's environment file as the stack names it (`condaFile: batch-env.yml`) and its pip
    # requirements: `mldeploy batch` runs the driver in mldeploy's own Python, and an import it lacks
    # is named with the packages to install there.
    environment_file: str = ""
    environment_pins: tuple[str, ...] = ()
