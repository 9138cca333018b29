"""LocalEndpoint.swap_image (`serve --reload` of a v2 online endpoint) on real processes (granian
scorers, the endpoint's nginx): once a deployment's socket link leads to its new scorer, every request
sent after it is answered by the new code, however long nginx's graceful reload takes to retire its
old workers - as tests/runtime/test_local_swap_e2e.py checks for LocalServer. Before, the endpoint
switched by rewriting nginx.conf with the new scorers' ports and reloading nginx: until the reload,
and for the >= 100 ms nginx's master runs old and new workers side by side, answers came from
either code."""
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


def test_every_request_sent_after_the_switch_reaches_the_new_scorers(tmp_path, monkeypatch):
    from mldeploy.runtime import endpoint_local
    from mldeploy.runtime.endpoint_local import LocalEndpoint
    from mldeploy.runtime.env import ensure_env
    from mldeploy.targets.managed.settings import ManagedEndpointSettings
    from mldeploy.targets.online_endpoint.settings import DeploymentSettings
    from tests.runtime.conftest import DIABETES, _context
    from tests.runtime.plans import plan_of

    script = tmp_path / "swap" / "score.py"
    script.parent.mkdir()
    script.write_text(SCRIPT.replace("CODE", "old"))
    (tmp_path / "examples" / "diabetes").mkdir(parents=True)
    (tmp_path / "examples" / "diabetes" / "myenv.yml").write_text((DIABETES / "myenv.yml").read_text())
    context = _context(script, [], root=tmp_path, scoring_server="mldeploy")
    env = ensure_env("conda", (DIABETES / "myenv.yml").read_text(), progress=lambda m: None, scoring_server="mldeploy")
    # Two deployments of the image, split 50/50: both are switched.
    service = ManagedEndpointSettings(target="managed", deployments={
        "blue": DeploymentSettings(image="swap", traffic_percent=50),
        "green": DeploymentSettings(image="swap", traffic_percent=50)})
    server = LocalEndpoint(plan_of("swap", service), {"swap": context}, {"swap": env}, tmp_path / "run", port=0)
    switched: list[float] = []
    real_reload = endpoint_local.reload_gateway

    def lingering_reload(gateway, scoring_timeout_ms):  # called right after the switch of the sockets
        switched.append(time.monotonic())
        time.sleep(LINGER_S)  # the old workers keep taking requests, as on a machine too busy to retire them
        real_reload(gateway, scoring_timeout_ms)

    monkeypatch.setattr(endpoint_local, "reload_gateway", lingering_reload)
    endpoint = server.start(timeout=180)
    headers = {"Authorization": f"Bearer {endpoint.primaryKey}"}
    answers: list[tuple[float, object]] = []  # (sent, answer)
    stop = threading.Event()

    def client() -> None:  # one request after the other (kept alive), as fast as they come back
        with requests.Session() as session:
            while not stop.is_set():
                sent = time.monotonic()
                try:
                    reply = session.post(endpoint.scoringUri, json={"data": 1}, headers=headers, timeout=30)
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
        f"{after.count('old')} of {len(after)} requests sent after the switch were answered by the old scorers"
    assert sum(1 for a, b in zip(codes, codes[1:]) if a != b) == 1, "old answers, then new ones only"
