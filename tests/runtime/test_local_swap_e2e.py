"""LocalServer.swap_images on real processes (granian scorer, nginx gateway): once the scorer socket
leads to the new scorer, every request sent after it is answered by the new code, however long
nginx's graceful reload takes to retire its old workers (on a busy machine: its master alone waits
100 ms between starting the new workers and stopping the old ones, and more when it is not
scheduled). Before, the old worker reused its kept connection to the old scorer meanwhile, and a
client looping across the reload read old answers after new ones (14 flips in one CI run)."""
from __future__ import annotations

import pytest

from tests.runtime.swapping import answers_across_a_swap, assert_one_way, linger_after_the_switch, swap_project

pytestmark = pytest.mark.slow


def test_every_request_sent_after_the_switch_reaches_the_new_scorer(tmp_path, monkeypatch):
    from mldeploy.plan.serve import plan_serve
    from mldeploy.runtime import local
    from mldeploy.runtime.local import LocalServer
    from mldeploy.targets.local.settings import LocalServiceSettings

    script, context, env = swap_project(tmp_path)
    service = LocalServiceSettings.model_validate({"target": "local", "image": "swap"})
    server = LocalServer(plan_serve("swap", service, production=False), context, env, tmp_path / "run", port=0)
    switched = linger_after_the_switch(monkeypatch, local)
    answers = answers_across_a_swap(server, script, env, kept_alive=False)
    assert_one_way(answers, switched, "the old scorer")
