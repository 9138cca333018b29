"""plan/memory.py and its use on the settings: body limit, memory and workers stay coherent."""
from __future__ import annotations

import pytest

from mldeploy.config import ConfigError
from mldeploy.targets.aks.settings import AksServiceSettings
from mldeploy.targets.local.settings import LocalServiceSettings
from mldeploy.targets.aci.settings import AciServiceSettings
from mldeploy.plan.memory import body_limit_mb, check_body_limit, derived_body_limit_mb, memory_needed_mb

KEY = "mldeploy:services.web"


def test_the_issues_case_is_refused_with_the_arithmetic():
    # memoryGb 1, maxRequestBodyMb 100: one 97 MB body took a worker to 933 MiB (issue 9).
    s = LocalServiceSettings.model_validate({"target": "local", "image": "i", "memoryGb": 1, "maxRequestBodyMb": 100})
    with pytest.raises(ConfigError, match=rf"^{KEY}: maxRequestBodyMb 100 MB needs 1 scorer worker\(s\) × "
                                          r"\(160 MB idle \+ 10 × 100 MB\) = 1160 MB > memoryGb 1 \(1024 MB\): "
                                          r"set maxRequestBodyMb to 86 or less"):
        check_body_limit("web", s)


def test_aks_derives_the_limit_from_one_worker_per_concurrent_request():
    s = {"target": "aks", "cluster": "c", "image": "i", "memoryGb": 1, "replicaMaxConcurrentRequests": 2}
    assert body_limit_mb(AksServiceSettings.model_validate(s)) == 35, "(512 - 160) / 10"


def test_aks_refuses_a_body_two_workers_cannot_hold():
    s = {"target": "aks", "cluster": "c", "image": "i", "memoryGb": 1, "replicaMaxConcurrentRequests": 2,
         "maxRequestBodyMb": 40}
    with pytest.raises(ConfigError, match=rf"^{KEY}: maxRequestBodyMb 40 MB needs 2 scorer worker"):
        check_body_limit("web", AksServiceSettings.model_validate(s))


def test_aci_leaves_the_gateways_share_out():
    s = AciServiceSettings.model_validate({"target": "aci", "image": "i", "memoryGb": 1})
    assert body_limit_mb(s) == derived_body_limit_mb(0.9 * 1024, 1) == 76, "ACI's limit: memoryGb less 0.1 GB"


def test_too_many_workers_for_the_memory_is_refused():
    s = LocalServiceSettings.model_validate({"target": "local", "image": "i", "memoryGb": 0.5, "workerCount": 4})
    with pytest.raises(ConfigError, match=rf"^{KEY}: maxRequestBodyMb .* leaves no room for a 1 MB request"):
        check_body_limit("web", s)


@pytest.mark.parametrize("memory_mb, workers", [(1024, 1), (1024, 2), (4096, 3), (16384, 8), (262144, 1)])
def test_the_derived_limit_always_fits(memory_mb, workers):
    body = derived_body_limit_mb(memory_mb, workers)
    assert 1 <= body <= 100 and memory_needed_mb(workers, body) <= memory_mb
