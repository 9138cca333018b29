"""Socket and context names across many reloads (runtime/swap.py ScorerSocket), on real processes:
after each swap the socket folder holds the links and one socket per scorer serving now, under the
same two names in turn, and the run folder one build context per scorer - nothing a retired scorer
had is left, and no name grows (a Unix socket's path is short: contract.UNIX_SOCKET_PATH_MAX).
Before, every reload named its socket and context after a counter (s1.sock, s2.sock, ...,
0-17.sock, context.17)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.runtime.swapping import swap_project

pytestmark = pytest.mark.slow
RELOADS = 3


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def _swap(server, script: Path, env, code: str) -> None:
    from tests.runtime.conftest import _context
    from tests.runtime.swapping import SCRIPT

    script.write_text(SCRIPT.replace("CODE", code))
    server.swap_images({"swap": (_context(script, [], root=script.parent.parent, scoring_server="mldeploy"), env)},
                       timeout=180)


def _answer(endpoint, headers=None) -> str:
    import requests

    reply = requests.post(endpoint.scoringUri, json={"data": 1}, timeout=30,
                          headers={"Authorization": f"Bearer {endpoint.primaryKey}", **(headers or {})})
    assert reply.status_code == 200, reply.text
    return reply.json()["code"]


def test_a_service_reloaded_many_times_keeps_two_socket_names_and_leaves_nothing_behind(tmp_path):
    from mldeploy.plan.serve import plan_serve
    from mldeploy.runtime.local import LocalServer
    from mldeploy.targets.local.settings import LocalServiceSettings

    script, context, env = swap_project(tmp_path)
    service = LocalServiceSettings.model_validate({"target": "local", "image": "swap"})
    server = LocalServer(plan_serve("swap", service, production=False), context, env, tmp_path / "run", port=0)
    endpoint = server.start(timeout=180)
    try:
        folder = server._socket_dir
        fixed = _names(folder) - {"s0.sock"}
        assert {"scorer.sock", "owner.pid"} <= fixed, fixed
        for reload in range(1, RELOADS + 1):
            _swap(server, script, env, f"v{reload}")
            assert _answer(endpoint) == f"v{reload}"
            serving = f"s{reload % 2}.sock"
            assert _names(folder) == fixed | {serving}, f"after reload {reload}: {sorted(_names(folder))}"
            assert os.readlink(folder / "scorer.sock") == serving
            contexts = {p.name for p in server.run_dir.iterdir() if p.name.startswith("context")}
            assert contexts == {("context", "context.1")[reload % 2]}, f"after reload {reload}: {sorted(contexts)}"
    finally:
        server.stop()
    assert not folder.exists()


def test_an_endpoint_reloaded_many_times_keeps_two_socket_names_a_deployment(tmp_path):
    from mldeploy.runtime.endpoint_local import LocalEndpoint
    from mldeploy.targets.managed.settings import ManagedEndpointSettings
    from mldeploy.targets.online_endpoint.settings import DeploymentSettings
    from tests.runtime.plans import plan_of

    script, context, env = swap_project(tmp_path)
    service = ManagedEndpointSettings(target="managed", deployments={
        "blue": DeploymentSettings(image="swap", traffic_percent=50),
        "green": DeploymentSettings(image="swap", traffic_percent=50)})
    server = LocalEndpoint(plan_of("swap", service), {"swap": context}, {"swap": env}, tmp_path / "run", port=0)
    endpoint = server.start(timeout=180)
    try:
        folder = server._socket_dir
        fixed = _names(folder) - {"0-0.sock", "1-0.sock"}
        for reload in range(1, RELOADS + 1):
            _swap(server, script, env, f"v{reload}")
            for deployment in ("blue", "green"):
                assert _answer(endpoint, {"azureml-model-deployment": deployment}) == f"v{reload}"
            serving = {f"{index}-{reload % 2}.sock" for index in (0, 1)}
            assert _names(folder) == fixed | serving, f"after reload {reload}: {sorted(_names(folder))}"
            for deployment in ("blue", "green"):
                contexts = {p.name for p in (server.run_dir / deployment).iterdir() if p.name.startswith("context")}
                assert contexts == {("context", "context.1")[reload % 2]}, f"{deployment}: {sorted(contexts)}"
    finally:
        server.stop()
