"""What tests/runtime/test_local_swap_e2e.py and test_endpoint_swap_e2e.py share: a scoring script
whose answer names its code, the project folder its environment file needs, nginx's graceful reload
made to linger after the switch, and a client looping across a swap_images whose answers must switch
from the old code to the new one exactly once - none from the old after the switch."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import requests

SCRIPT = """def init():
    pass

def run(raw_data):
    return {"code": "CODE"}
"""
LINGER_S = 1.5  # how long nginx's old workers still take requests after the switch, here on purpose


def swap_project(tmp_path: Path):
    """score.py answering "old", its build context and the diabetes environment: (script, context, env)."""
    from mldeploy.runtime.env import ensure_env
    from tests.runtime.conftest import DIABETES, _context

    script = tmp_path / "swap" / "score.py"
    script.parent.mkdir()
    script.write_text(SCRIPT.replace("CODE", "old"))
    (tmp_path / "examples" / "diabetes").mkdir(parents=True)
    (tmp_path / "examples" / "diabetes" / "myenv.yml").write_text((DIABETES / "myenv.yml").read_text())
    context = _context(script, [], root=tmp_path, scoring_server="mldeploy")
    env = ensure_env("conda", (DIABETES / "myenv.yml").read_text(), progress=lambda m: None, scoring_server="mldeploy")
    return script, context, env


def linger_after_the_switch(monkeypatch, module) -> list[float]:
    """Make `module.reload_gateway` (called right after the switch of the sockets) wait LINGER_S before
    nginx's graceful reload, so the old workers keep taking requests, as on a machine too busy to retire
    them. Returns the list the switch's time is appended to."""
    switched: list[float] = []
    real_reload = module.reload_gateway

    def lingering_reload(gateway, scoring_timeout_ms):
        switched.append(time.monotonic())
        time.sleep(LINGER_S)
        real_reload(gateway, scoring_timeout_ms)

    monkeypatch.setattr(module, "reload_gateway", lingering_reload)
    return switched


def answers_across_a_swap(server, script: Path, env, *, kept_alive: bool) -> list[tuple[float, object]]:
    """Start `server`, loop one client (a kept-alive session or a connection a request) while score.py
    is changed to answer "new" and swap_images swaps it in, stop the server; (sent, answer) a request."""
    from tests.runtime.conftest import _context

    endpoint = server.start(timeout=180)
    headers = {"Authorization": f"Bearer {endpoint.primaryKey}"}
    answers: list[tuple[float, object]] = []
    stop = threading.Event()

    def client() -> None:  # one request after the other, as fast as they come back
        with requests.Session() as session:
            post = session.post if kept_alive else requests.post
            while not stop.is_set():
                sent = time.monotonic()
                try:
                    reply = post(endpoint.scoringUri, json={"data": 1}, headers=headers, timeout=30)
                    answers.append((sent, reply.json()["code"] if reply.status_code == 200 else reply.status_code))
                except (requests.RequestException, ValueError) as err:
                    answers.append((sent, err))

    thread = threading.Thread(target=client)
    try:
        thread.start()
        script.write_text(SCRIPT.replace("CODE", "new"))
        server.swap_images({"swap": (_context(script, [], root=script.parent.parent, scoring_server="mldeploy"),
                                     env)}, timeout=180)
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join()
        server.stop()
    return answers


def assert_one_way(answers: list[tuple[float, object]], switched: list[float], who: str) -> None:
    """No failed request, only new answers for requests sent after the switch, one switch in all."""
    codes = [a for _, a in answers]
    assert set(codes) <= {"old", "new"}, f"failed requests: {[a for a in codes if a not in ('old', 'new')][:3]}"
    after = [a for sent, a in answers if sent > switched[0]]
    assert after and set(after) == {"new"}, \
        f"{after.count('old')} of {len(after)} requests sent after the switch were answered by {who}"
    assert sum(1 for a, b in zip(codes, codes[1:]) if a != b) == 1, "old answers, then new ones only"
