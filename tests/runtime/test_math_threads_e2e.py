"""Math libraries' threads per scorer worker (scoring/scorer_host.py, change 13), on both scoring
servers with 2 workers: every worker's environment holds its share of the cores in each variable
the libraries read, and numpy's BLAS - loaded by the host before the workers fork (preload) -
runs that many threads. Before, nothing was set: each worker's BLAS ran one thread per core, and
ONNX Runtime's pool one per core in every session."""
from __future__ import annotations

import pytest
import requests

from mldeploy.scoring.scorer_host import MATH_THREAD_ENV, available_cpus
from mldeploy.targets.local.settings import LocalServiceSettings
from tests.runtime.conftest import _script_context, _serve

pytestmark = pytest.mark.slow
THREADS_SCRIPT = """\
import os

import numpy as np
from threadpoolctl import threadpool_info

NAMES = %r


def init():
    pass


def run(data):
    blas = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    return {"pid": os.getpid(), "environ": {n: os.environ.get(n) for n in NAMES}, "blas": blas,
            "numpy": np.__version__}
""" % (MATH_THREAD_ENV,)


@pytest.mark.parametrize("server", ["mldeploy", "azmlinfsrv"])
def test_each_worker_runs_its_share_of_the_cores_in_math_libraries(scoring_env, tmp_path_factory, server):
    share = str(max(1, int(available_cpus() // 2)))
    context = _script_context(tmp_path_factory, f"threads-{server}", THREADS_SCRIPT, scoring_server=server)
    service = LocalServiceSettings.model_validate({"target": "local", "image": f"threads-{server}", "workerCount": 2})
    local = _serve(f"threads-{server}", service, context, scoring_env, tmp_path_factory)
    try:
        ep = local.endpoint()
        answers = {}
        for _ in range(40):  # both workers answer sooner or later
            reply = requests.post(ep.scoringUri, json={"data": [1.0, 2.0]}, timeout=30,
                                  headers={"Authorization": f"Bearer {ep.primaryKey}"})
            assert reply.status_code == 200, reply.text[:500]
            answers[reply.json()["pid"]] = reply.json()
    finally:
        local.stop()
    for pid, answer in answers.items():
        assert answer["environ"] == dict.fromkeys(MATH_THREAD_ENV, share), \
            f"{server} worker {pid}: each variable set to the worker's share of the cores ({share}): {answer['environ']}"
        assert answer["blas"] and set(answer["blas"]) == {int(share)}, \
            f"{server} worker {pid}: numpy's BLAS must run {share} thread(s), runs {answer['blas']}"
