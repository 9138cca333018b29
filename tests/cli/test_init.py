"""`mldeploy init` as a user runs it, in an empty folder of their own with a model of their own
(an iris LogisticRegression this test trains): the files, the refusal to overwrite, every
generated stack through `mldeploy synth`, the workflows through actionlint, and the local stack
served with no further edits."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import joblib
import pytest

from mldeploy.runtime.client import score
from tests.test_workflows import _actionlint

MLDEPLOY = str(Path(sys.executable).parent / "mldeploy")


def mldeploy(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([MLDEPLOY, *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


def _next_commands(stdout: str) -> list[str]:
    return [line.split("#")[0].strip() for line in stdout.split("\nnext:\n", 1)[1].strip().splitlines()]


@pytest.fixture(scope="module")
def iris_pickle(tmp_path_factory) -> Path:
    """The user's own model, trained elsewhere: outside the project folder."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    path = tmp_path_factory.mktemp("training") / "iris-classifier.pkl"
    joblib.dump(LogisticRegression(max_iter=500).fit(x, y), path)
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory, iris_pickle) -> tuple[Path, subprocess.CompletedProcess]:
    folder = tmp_path_factory.mktemp("user") / "iris-service"
    done = mldeploy("init", folder.name, "--model", str(iris_pickle), cwd=folder.parent)
    assert done.returncode == 0, done.stderr
    return folder, done


def test_init_writes_the_project_around_the_model_and_prints_the_next_commands(project, iris_pickle):
    folder, done = project
    assert (folder / "models" / "iris-classifier.pkl").read_bytes() == iris_pickle.read_bytes()
    for name in ("Pulumi.yaml", "__main__.py", "requirements.txt", "score.py", "environment.yml",
                 "sample-request.json", ".gitignore", "stacks/Pulumi.local.yaml", "stacks/Pulumi.dev.yaml",
                 "stacks/Pulumi.managed.yaml", "stacks/Pulumi.prod.yaml", ".github/workflows/pull-request.yml",
                 ".github/workflows/deploy.yml", "policies/PulumiPolicy.yaml", "policies/__main__.py",
                 "policies/config.json"):
        assert (folder / name).is_file(), f"init did not write {name}"
    assert [len(r) for r in json.loads((folder / "sample-request.json").read_text())["data"]] == [4, 4], \
        "the sample must have the iris model's 4 inputs (read from the pickle)"
    me = "mldeploy" if shutil.which("mldeploy") == MLDEPLOY else MLDEPLOY  # see the test below
    assert _next_commands(done.stdout) == [
        f"cd iris-service && {me} serve --stack local", f"cd iris-service && {me} synth --stack dev",
        "cd iris-service && pulumi stack init dev && pulumi up"], done.stdout


def test_the_next_commands_run_mldeploy_as_the_user_can(tmp_path):
    """`mldeploy` when the virtualenv is on PATH; its script's path when it is not (a virtualenv
    not activated, as the README's `.venv/bin/mldeploy init`), so the commands work as printed."""
    bin_dir = str(Path(MLDEPLOY).parent)
    rest = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p != bin_dir]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    on_path = mldeploy("init", "--target", "aci", cwd=tmp_path / "a",
                       env={**os.environ, "PATH": os.pathsep.join([bin_dir, *rest])})
    off_path = mldeploy("init", "--target", "aci", cwd=tmp_path / "b", env={**os.environ, "PATH": os.pathsep.join(rest)})
    assert on_path.returncode == off_path.returncode == 0, on_path.stderr + off_path.stderr
    assert _next_commands(on_path.stdout)[0] == "mldeploy serve --stack local", on_path.stdout
    assert _next_commands(off_path.stdout)[0] == f"{MLDEPLOY} serve --stack local", off_path.stdout


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path, iris_pickle):
    (tmp_path / "score.py").write_text("mine\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.local.yaml").write_text("config: {}\n")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    done = mldeploy("init", "--model", str(iris_pickle), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: .: would overwrite score.py, stacks/Pulumi.local.yaml; nothing was written (init writes a new "
        "project: use an empty folder, or move these away)"], done.stderr
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "score.py").read_text() == "mine\n"


def test_init_in_a_repository_of_your_own_adds_its_lines_to_your_gitignore(tmp_path, iris_pickle):
    """Every git repository has a .gitignore: init keeps it and appends only the lines it lacks (not
    a refusal to overwrite); a refused init leaves it as it was."""
    (tmp_path / ".gitignore").write_text("# mine\n.venv/\n*.pyc")  # no newline at the end
    done = mldeploy("init", "--model", str(iris_pickle), "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "kept your .gitignore; added .mldeploy/, build/, __pycache__/" in done.stdout, done.stdout
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[:3] == ["# mine", ".venv/", "*.pyc"], lines
    assert [line for line in lines if not line.startswith("#")] == [
        ".venv/", "*.pyc", ".mldeploy/", "build/", "__pycache__/"], lines
    before = (tmp_path / ".gitignore").read_bytes()
    again = mldeploy("init", "--model", str(iris_pickle), "--target", "aci", cwd=tmp_path)
    assert again.returncode == 2 and ".gitignore" not in again.stderr, again.stderr
    assert (tmp_path / ".gitignore").read_bytes() == before, "a refused init changed .gitignore"


def test_a_model_inside_the_project_is_used_where_it_is(tmp_path, iris_pickle):
    (tmp_path / "artifacts" / "v1").mkdir(parents=True)
    (tmp_path / "artifacts" / "v1" / "clf.pkl").write_bytes(iris_pickle.read_bytes())
    done = mldeploy("init", "--model", "artifacts/v1/clf.pkl", "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "models").exists(), "a model inside the project must not be copied"
    assert "path: artifacts/v1/clf.pkl" in (tmp_path / "stacks" / "Pulumi.local.yaml").read_text()
    assert sorted(p.name for p in (tmp_path / "stacks").iterdir()) == ["Pulumi.dev.yaml", "Pulumi.local.yaml"]


@pytest.mark.parametrize("args, line", [
    (["--model", "nowhere.pkl"], "error: --model: nowhere.pkl: no such file or folder"),
    (["--model", ".", "x"], "error: --model: . is or holds the project folder; name the model file or the folder "
                            "with only the model's files"),
    (["--name", "Bad_Name"], "error: --name: 'Bad_Name': lowercase letters, digits and '-', starting with a letter, "
                             "2-32 characters"),
    (["--target", "edge"], None),
])
def test_bad_options_are_one_line_and_write_nothing(tmp_path, args, line):
    done = mldeploy("init", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    if line:
        assert done.stderr.strip().splitlines() == [line], done.stderr
    assert list(tmp_path.iterdir()) == [], "a refused init wrote files"


def test_the_generated_workflows_pass_actionlint(project):
    folder, _ = project
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    run = _actionlint(folder)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["local", "dev", "managed", "prod"])
def test_every_generated_stack_synthesizes_with_no_policy_violation(project, stack):
    folder, _ = project
    done = mldeploy("synth", "--stack", stack, cwd=folder)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    policy = json.loads((folder / "build" / "synth" / stack / "policy.json").read_text())
    assert policy["violations"] == [], policy["violations"]


@pytest.mark.slow
def test_serve_local_serves_the_user_s_model_with_no_further_edits(project):
    folder, _ = project
    proc = subprocess.Popen([MLDEPLOY, "serve", "--stack", "local", "--port", "0", "--json"], cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        line = proc.stdout.readline()
        assert line, f"serve printed no endpoint: {proc.stderr.read()[-2000:] if proc.poll() is not None else ''}"
        endpoint = json.loads(line)
        setosa, virginica = [5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]
        reply = score(endpoint["scoringUri"], endpoint["primaryKey"], json.dumps({"data": [setosa, virginica]}).encode())
        assert reply.status == 200 and json.loads(reply.text()) == [0, 2], reply.text()
        bad = score(endpoint["scoringUri"], endpoint["primaryKey"], b'{"data": [[1, 2]]}')
        assert bad.status == 400 and "4 numbers" in bad.text(), bad.text()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
    assert code == 0, proc.stderr.read()[-1000:]
