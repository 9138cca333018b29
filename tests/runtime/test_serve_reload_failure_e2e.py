"""`serve --reload` of an online endpoint whose reload fails halfway, as a user runs it: the managed
stack (blue: image diabetes with diabetes:1; green and its shadow: image diabetes-v2 with diabetes:2;
one score.py). A saved score.py whose init() fails only with version 2 switches nothing - blue's new
scorer was ready, yet blue answers with the old code too - stops every new scorer, and says which
deployment failed and why; the fix then reloads both images together. Before, the images were
reloaded one after the other: blue served the new code, green the old, and the error line said
"diabetes still serves the previous code"."""
from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from tests.harness import MLDEPLOY, copy_project, descendants
from tests.runtime.test_serve_reload_e2e import ROWS, Serve

pytestmark = pytest.mark.slow
ROUNDED = "    return [round(p, 1) for p in predictions.tolist()]"
BROKEN_WITH_VERSION_2 = ("    global model\n"
                         "    if os.environ['AZUREML_MODEL_DIR'].rstrip('/').endswith('2'):\n"
                         "        raise RuntimeError('version 2 broken on purpose')\n")


def _scorers(served: Serve) -> set[int]:
    return {p for p in descendants(served.proc.pid) if b"scorer_host" in Path(f"/proc/{p}/cmdline").read_bytes()}


def test_an_endpoint_reload_that_fails_on_one_deployment_switches_none(tmp_path):
    root = copy_project(tmp_path / "project", "managed")
    score = root / "examples" / "diabetes" / "score.py"
    working = score.read_text()
    assert "    return predictions.tolist()" in working and "    global model\n" in working
    proc = subprocess.Popen([*MLDEPLOY, "serve", "--stack", "managed", "--port", "0", "--json", "--reload"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        served = Serve(proc)
        served.wait_for("^serving;.*--reload")
        key = {"Authorization": f"Bearer {served.endpoint['primaryKey']}"}

        def answers() -> dict[str, list[float]]:
            out = {}
            for deployment in ("blue", "green"):
                reply = requests.post(served.endpoint["scoringUri"], json={"data": ROWS}, timeout=30,
                                      headers={**key, "azureml-model-deployment": deployment})
                assert reply.status_code == 200, reply.text
                out[deployment] = reply.json()
            return out

        before, scorers = answers(), _scorers(served)
        mark = len(served.lines)
        score.write_text(working.replace("    return predictions.tolist()", ROUNDED)
                         .replace("    global model\n", BROKEN_WITH_VERSION_2))
        line = served.wait_for("^error: ", after=mark)
        assert re.fullmatch(r"error: reload of diabetes's images diabetes, diabetes-v2: the new scorer of deployment "
                            r"'(green|shadow)' exited \(code 3\) before it was ready: RuntimeError: version 2 broken on "
                            r"purpose; diabetes still serves the previous code: save a fix to reload", line), line
        assert not [x for x in served.lines[mark:] if "serves the new code" in x], served.lines[mark:]
        assert answers() == before, "nothing was switched: blue answers with the old code too"
        assert _scorers(served) == scorers, "the new scorers are stopped, the old ones serve on"
        mark = len(served.lines)
        score.write_text(working.replace("    return predictions.tolist()", ROUNDED))
        for image in ("diabetes", "diabetes-v2"):
            served.wait_for(f"^reload: diabetes's image {image} serves the new code", after=mark)
        assert answers() == {d: [round(v, 1) for v in values] for d, values in before.items()}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, "\n".join(served.lines)
