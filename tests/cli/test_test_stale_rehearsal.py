"""`mldeploy test --stack` says what its answer may be read against: the stack file saved after `serve`
began serving (below), and a model pickled by another scikit-learn than its image pins. The first: the
running copy still serves what the file said then. hday2's day 2: `serve --stack managed` at
50/50, the file moved to 0/100, and `test --local` kept answering from blue without a word."""
from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from mldeploy.cli import cli
from mldeploy.cli.serve import run_dir
from mldeploy.project import ProjectChoices, render_project
from mldeploy.runtime.local import ENDPOINT_FILE


class _Scorer(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"[1]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path):
    """A project whose local service 'clf' is "being served" by a stand-in scorer."""
    files = render_project(ProjectChoices(project="p", name="clf", model_path="models/model.pkl",
                                          model_file="model.pkl", features=4, targets=("aci",)))
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "models" / "model.pkl").write_bytes(b"model")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Scorer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    folder = run_dir(tmp_path, "local", "clf")
    folder.mkdir(parents=True)
    (folder / ENDPOINT_FILE).write_text(json.dumps({"scoringUri": f"http://127.0.0.1:{server.server_port}/score",
                                                     "primaryKey": "k" * 32}))
    yield tmp_path
    server.shutdown()


def _test(root: Path):
    return CliRunner().invoke(cli, ["test", "--stack", "local", "--service", "clf", "--project-dir", str(root)])


def _age(path: Path, seconds: float) -> None:
    now = path.stat().st_mtime
    os.utime(path, (now - seconds, now - seconds))


def test_a_stack_file_saved_after_serve_started_is_noted(served):
    _age(run_dir(served, "local", "clf") / ENDPOINT_FILE, 60)
    run = _test(served)
    assert run.exit_code == 0, run.output
    assert "[1]" in run.stdout
    assert run.stderr.strip() == (
        "note: stacks/Pulumi.local.yaml changed after `mldeploy serve` started serving 'clf', which still serves what "
        "the file said then (traffic split, models, settings): stop it and run `mldeploy serve --stack local` again "
        "to rehearse the change"), run.stderr


def test_no_note_while_the_stack_file_is_as_serve_read_it(served):
    _age(served / "stacks" / "Pulumi.local.yaml", 60)
    run = _test(served)
    assert run.exit_code == 0 and run.stderr == "", run.output


def test_a_model_pickled_by_another_scikit_learn_than_the_image_pins_is_said_once(served):
    # synth and serve said it; `mldeploy test` of the service, whose answers it explains, did not.
    import pickle

    import sklearn
    from sklearn.linear_model import LinearRegression

    (served / "models" / "model.pkl").write_bytes(pickle.dumps(LinearRegression()))
    env = served / "environment.yml"
    env.write_text(env.read_text().replace(f"scikit-learn=={sklearn.__version__}", "scikit-learn==1.0.2"))
    _age(served / "stacks" / "Pulumi.local.yaml", 60)
    run = _test(served)
    assert run.exit_code == 0 and "[1]" in run.stdout, run.output
    assert run.stderr == (
        "warning: stacks/Pulumi.local.yaml: images.clf.condaFile: environment.yml pins scikit-learn==1.0.2, but model "
        f"'clf' (models/model.pkl) was pickled by scikit-learn {sklearn.__version__}: loading it there warns "
        "InconsistentVersionWarning, and an estimator from another release may fail to load or predict otherwise; "
        "pin scikit-learn==" f"{sklearn.__version__} in environment.yml, or retrain and save the model with the "
        "pinned release\n"), run.stderr
