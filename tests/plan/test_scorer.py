"""The scorer's share of a service, per target (mldeploy/plan/scorer.py)."""
from __future__ import annotations

import pytest

from mldeploy.plan.scorer import scorer_memory_mb, scorer_workers
from mldeploy.targets.stack import parse_settings
from tests.harness import ROOT, stack_values


def _service(target_stack: str, name: str, **changes):
    values, secret_keys = stack_values(target_stack)
    values["mldeploy:services"][name].update(changes)
    return parse_settings(target_stack, values, secret_keys, ROOT, f"stacks/Pulumi.{target_stack}.yaml").services[name]


def test_worker_count_wins_everywhere():
    assert scorer_workers(_service("dev", "diabetes-aci", workerCount=3)) == 3, "services.<name>.workerCount"


def test_aci_leaves_the_gateway_its_share():
    service = _service("dev", "diabetes-aci", cpuCores=2, memoryGb=1.5)
    assert scorer_workers(service) == 1, "ACI: int(2 - 0.1) workers"
    assert scorer_memory_mb(service) == pytest.approx(1.4 * 1024), "ACI: memoryGb - 0.1 GB for the scorer"


def test_local_uses_every_core_and_all_memory():
    service = _service("local", "diabetes", cpuCores=2, memoryGb=2)
    assert (scorer_workers(service), scorer_memory_mb(service)) == (2, 2048), "local: one worker per core, all memory"


def test_aks_runs_one_worker_per_admitted_request():
    service = _service("prod", "diabetes", replicaMaxConcurrentRequests=3)
    assert scorer_workers(service) == 3, "AKS: replicaMaxConcurrentRequests workers"
