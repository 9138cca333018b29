"""LocalServer.swap_image on real processes (granian scorer, nginx gateway): once the scorer socket
leads to the new scorer, every request sent after it is answered by the new code, however long
nginx's graceful reload takes to retire its old workers (on a busy machine: its master alone waits
100 ms between starting the new workers and stopping the old ones, and more when it is not
scheduled). Before, the old worker reused its kept connection to the old scorer meanwhile, and a
client looping across the reload read old answers after new ones (14 flips in one CI run)."""
from __future__ import annotations

import threading
import time

import pytest
import requests

pytestmark = pytest.mark.slow

SCRIPT = """def init():
    pass

def run(raw_data):
    return {"code": "CODE"}
"""
LINGER_S = 1.5  # how long nginx's old workers still take requests after the switch, here on purpose


def test_every_request_sent_after_the_switch_reaches_the_new_scorer(tmp_path, monkeypatch):
    from mldeploy.plan.serve import plan_serve
    from mldeploy.runtime import local
    from mldeploy.runtime.env import ensure_env
    from mldeploy.runtime.local import LocalServer
    from mldeploy.targets.local.settings import LocalServiceSettings
    from tests.runtime.conftest import DIABETES, _context

    script = tmp_path / "swap" / "score.py"
    script.parent.mkdir()
    script.write_text(SCRIPT.replace("CODE", "old"))
    (tmp_path / "examples" / "diabetes").mkdir(parents=True)
    (tmp_path / "examples" / "diabetes" / "myenv.yml").write_text((DIABETES / "myenv.yml").read_text())
    context = _context(script, [], root=tmp_path, scoring_server="mldeploy")
    env = ensure_env("conda", (DIABETES / "myenv.yml").read_text(), progress=lambda m: None, scoring_server="mldeploy")
    service = LocalServiceSettings.model_validate({"target": "local", "image": "swap"})
    server = LocalServer(plan_serve("swap", service, production=False), context, env, tmp_path / "run", port=0)
    switched: list[float] = []
    real_reload = local.reload_gateway

    def lingering_reload(gateway, scoring_timeout_ms):  # called right after the switch of the socket
        switched.append(time.monotonic())
        time.sleep(LINGER_S)  # the old worker keeps taking requests, as on a machine too busy to retire it
        real_reload(gateway, scoring_timeout_ms)

    monkeypatch.setattr(local, "reload_gateway", lingering_reload)
    endpoint = server.start(timeout=180)
    headers = {"Authorization": f"Bearer {endpoint.primaryKey}"}
    answers: list[tuple[float, object]] = []  # (sent, answer)
    stop = threading.Event()

    def client() -> None:  # one request after the other, as fast as they come back
        while not stop.is_set():
            sent = time.monotonic()
            try:
                reply = requests.post(endpoint.scoringUri, json={"data": 1}, headers=headers, timeout=30)
                answers.append((sent, reply.json()["code"] if reply.status_code == 200 else reply.status_code))
            except (requests.RequestException, ValueError) as err:
                answers.append((sent, err))

    thread = threading.Thread(target=client)
    try:
        thread.start()
        script.write_text(SCRIPT.replace("CODE", "new"))
        server.swap_image("swap", _context(script, [], root=tmp_path, scoring_server="mldeploy"), env, timeout=180)
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join()
        server.stop()
    codes = [a for _, a in answers]
    assert set(codes) <= {"old", "new"}, f"failed requests: {[a for a in codes if a not in ('old', 'new')][:3]}"
    after = [a for sent, a in answers if sent > switched[0]]
    assert after and set(after) == {"new"}, \
        f"{after.count('old')} of {len(after)} requests sent after the switch were answered by the old scorer"
    assert sum(1 for a, b in zip(codes, codes[1:]) if a != b) == 1, "old answers, then new ones only"
