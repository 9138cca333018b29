"""LocalEndpoint.swap_images (`serve --reload` of a v2 online endpoint) on real processes (granian
scorers, the endpoint's nginx): once a deployment's socket link leads to its new scorer, every request
sent after it is answered by the new code, however long nginx's graceful reload takes to retire its
old workers - as tests/runtime/test_local_swap_e2e.py checks for LocalServer. Before, the endpoint
switched by rewriting nginx.conf with the new scorers' ports and reloading nginx: until the reload,
and for the >= 100 ms nginx's master runs old and new workers side by side, answers came from
either code."""
from __future__ import annotations

import pytest

from tests.runtime.swapping import answers_across_a_swap, assert_one_way, linger_after_the_switch, swap_project

pytestmark = pytest.mark.slow


def test_every_request_sent_after_the_switch_reaches_the_new_scorers(tmp_path, monkeypatch):
    from mldeploy.runtime import endpoint_local
    from mldeploy.runtime.endpoint_local import LocalEndpoint
    from mldeploy.targets.managed.settings import ManagedEndpointSettings
    from mldeploy.targets.online_endpoint.settings import DeploymentSettings
    from tests.runtime.plans import plan_of

    script, context, env = swap_project(tmp_path)
    # Two deployments of the image, split 50/50: both are switched.
    service = ManagedEndpointSettings(target="managed", deployments={
        "blue": DeploymentSettings(image="swap", traffic_percent=50),
        "green": DeploymentSettings(image="swap", traffic_percent=50)})
    server = LocalEndpoint(plan_of("swap", service), {"swap": context}, {"swap": env}, tmp_path / "run", port=0)
    switched = linger_after_the_switch(monkeypatch, endpoint_local)
    answers = answers_across_a_swap(server, script, env, kept_alive=True)
    assert_one_way(answers, switched, "the old scorers")
