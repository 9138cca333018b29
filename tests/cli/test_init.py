"""`mldeploy init` as a user runs it, in an empty folder of their own with a model of their own
(an iris LogisticRegression this test trains): the files, the refusal to overwrite, every
generated stack through `mldeploy synth`, the workflows through actionlint, and the local stack
served with no further edits."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import pytest

from mldeploy.runtime.client import score
from tests.harness import serving
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
                 "sample-request.json", ".gitignore", ".github/dependabot.yml", "stacks/Pulumi.local.yaml",
                 "stacks/Pulumi.dev.yaml",
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
    # (a score.py of your own is kept, not overwritten: test_init_in_a_v1_project_keeps_its_score_py_and_myenv_yml)
    (tmp_path / "sample-request.json").write_text("mine\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.local.yaml").write_text("config: {}\n")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    done = mldeploy("init", "--model", str(iris_pickle), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: .: would overwrite sample-request.json, stacks/Pulumi.local.yaml; nothing was written (init writes a "
        "new project: use an empty folder, or move these away)"], done.stderr
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "sample-request.json").read_text() == "mine\n"


def test_init_with_a_target_in_an_existing_project_says_how_to_add_that_stack(tmp_path, iris_pickle):
    """Day 2 (hwalk2): a stack of another target for a project init wrote. init still writes nothing
    there, and says how to get that stack file alone."""
    first = mldeploy("init", "--model", str(iris_pickle), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = mldeploy("init", "--model", "models/iris-classifier.pkl", "--target", "containerapp", cwd=tmp_path)
    assert again.returncode == 2 and not (tmp_path / "stacks" / "Pulumi.containerapp.yaml").exists()
    assert again.stderr.strip().endswith(
        "move these away; to add a stack to this project, init one in an empty folder and copy its stack file here: "
        "`mldeploy init --model models/iris-classifier.pkl --target containerapp <empty folder>`, then "
        "<empty folder>/stacks/Pulumi.containerapp.yaml (check its models' `path`), and each stack's job in "
        "<empty folder>/.github/workflows/deploy.yml)"), again.stderr
    # what it says works: the stack file, copied, synthesizes in this project
    other = tmp_path.parent / (tmp_path.name + "-other")
    made = mldeploy("init", "--model", "models/iris-classifier.pkl", "--target", "containerapp", str(other), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert f"copied the model models/iris-classifier.pkl to {other}/models/iris-classifier.pkl\n" in made.stdout, \
        "the copy named from here, not as the same path twice"
    (tmp_path / "stacks" / "Pulumi.containerapp.yaml").write_bytes((other / "stacks" / "Pulumi.containerapp.yaml").read_bytes())
    from mldeploy.targets.stack import load_stack
    assert "iris-classifier-aca" in load_stack(tmp_path, "containerapp").services


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


def test_init_keeps_your_dependabot_configuration_and_says_what_to_add(tmp_path, iris_pickle):
    """A repository's Dependabot configuration is one file for every ecosystem: init neither refuses the
    folder nor replaces it, and names the entry requirements.txt's pins need."""
    mine = "version: 2\nupdates:\n  - package-ecosystem: npm\n    directory: /\n    schedule: {interval: daily}\n"
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "dependabot.yml").write_text(mine)
    done = mldeploy("init", "--model", str(iris_pickle), "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / ".github" / "dependabot.yml").read_text() == mine
    assert "kept your .github/dependabot.yml: add its `pip` entry" in done.stdout, done.stdout
    assert ".github/dependabot.yml" not in done.stdout.split("\n", 1)[0], "listed as written"
    assert (tmp_path / ".github" / "workflows" / "pull-request.yml").is_file()


def test_a_model_inside_the_project_is_used_where_it_is(tmp_path, iris_pickle):
    (tmp_path / "artifacts" / "v1").mkdir(parents=True)
    (tmp_path / "artifacts" / "v1" / "clf.pkl").write_bytes(iris_pickle.read_bytes())
    done = mldeploy("init", "--model", "artifacts/v1/clf.pkl", "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "models").exists(), "a model inside the project must not be copied"
    assert "path: artifacts/v1/clf.pkl" in (tmp_path / "stacks" / "Pulumi.local.yaml").read_text()
    assert sorted(p.name for p in (tmp_path / "stacks").iterdir()) == ["Pulumi.dev.yaml", "Pulumi.local.yaml"]


def test_a_version_in_the_file_name_is_not_in_the_model_s_name(tmp_path, iris_pickle):
    """hwalk's day 2: churn-v1.joblib named the model churn-v1, so version 2 beside it was to be
    registered as churn-v1:2 (the managed stack's header: `churn-v1-v2: {registeredName: churn-v1}`)."""
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "iris_V1.pkl").write_bytes(iris_pickle.read_bytes())
    done = mldeploy("init", "svc", "--model", "training/iris_V1.pkl", "--target", "managed", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    managed = (tmp_path / "svc" / "stacks" / "Pulumi.managed.yaml").read_text()
    assert "\n    iris:\n      # Any file" in managed and "path: models/iris_V1.pkl" in managed, managed
    assert "iris-v2: {registeredName: iris, path: models/iris-v2.pkl, version: 2, description: iris}" in managed, managed
    assert "note: named the model, image and service 'iris', the file name without '-v1'" in done.stdout
    # --name wins, and a name that is only a version keeps it.
    (tmp_path / "training" / "v1.pkl").write_bytes(iris_pickle.read_bytes())
    done = mldeploy("init", "other", "--model", "training/v1.pkl", cwd=tmp_path)
    assert done.returncode == 0 and "named the model" not in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("args, line", [
    (["--model", "nowhere.pkl"], "error: --model: nowhere.pkl: no such file or folder"),
    (["--model", ".", "x"], "error: --model: . is or holds the project folder; name the model file or the folder "
                            "with only the model's files"),
    (["--name", "Bad_Name"], "error: --name: 'Bad_Name': lowercase letters, digits and '-', starting with a letter, "
                             "2-32 characters"),
    (["--target", "fpga"], None),  # a target with no starting point
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


V1_SCORE = """from azureml.core.model import Model
import joblib

def init():
    global model
    model = joblib.load(Model.get_model_path("iris"))

def run(data):
    return model.predict(data).tolist()
"""


def test_init_in_a_v1_project_keeps_its_score_py_and_myenv_yml(tmp_path, iris_pickle):
    """An SDK v1 project already has score.py and myenv.yml: init used to refuse the folder ("would overwrite
    score.py"); it keeps both and points the stacks at them."""
    folder = tmp_path / "v1-project"
    folder.mkdir()
    (folder / "score.py").write_text(V1_SCORE)
    myenv = "name: project_environment\ndependencies:\n  - python=3.11\n  - pip:\n    - azureml-defaults\n"
    (folder / "myenv.yml").write_text(myenv)
    done = mldeploy("init", "--model", str(iris_pickle), "--name", "iris", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert (folder / "score.py").read_text() == V1_SCORE and (folder / "myenv.yml").read_text() == myenv
    assert not (folder / "environment.yml").exists(), "the v1 conda file is the environment"
    for stack in ("local", "dev", "managed", "prod"):
        text = (folder / "stacks" / f"Pulumi.{stack}.yaml").read_text()
        assert "condaFile: myenv.yml" in text and "entryScript: score.py" in text, (stack, text)
    assert "kept your score.py" in done.stdout and "kept your myenv.yml" in done.stdout, done.stdout


@pytest.fixture(scope="module")
def asked_for(tmp_path_factory, iris_pickle) -> Path:
    """A project of the starting points init writes only when named (a v1 AKS user's next homes)."""
    folder = tmp_path_factory.mktemp("asked") / "iris-service"
    done = mldeploy("init", folder.name, "--model", str(iris_pickle), "--target", "containerapp",
                    "--target", "kubernetes-endpoint", cwd=folder.parent)
    assert done.returncode == 0, done.stderr
    return folder


def test_the_starting_points_written_only_when_named(project, asked_for):
    from mldeploy.project import DEFAULT_TARGETS, TARGET_STACKS
    folder, _ = project
    assert not (folder / "stacks" / "Pulumi.containerapp.yaml").exists(), "containerapp is written only when named"
    assert sorted(p.name for p in (asked_for / "stacks").iterdir()) == [
        "Pulumi.containerapp.yaml", "Pulumi.kubernetes-endpoint.yaml", "Pulumi.local.yaml"]
    help_text = " ".join(mldeploy("init", "--help", cwd=folder).stdout.split())
    assert f"Default: {', '.join(DEFAULT_TARGETS)} (containerapp, kubernetes-endpoint, edge and batch only when named" \
        in help_text and set(TARGET_STACKS) - set(DEFAULT_TARGETS) == {
        "containerapp", "kubernetes-endpoint", "edge", "batch"}, help_text


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["containerapp", "kubernetes-endpoint", "edge", "batch"])
def test_a_named_starting_point_synthesizes_with_no_policy_violation(asked_for, batch_and_edge, stack):
    folder = batch_and_edge if stack in ("edge", "batch") else asked_for
    done = mldeploy("synth", "--stack", stack, cwd=folder)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    policy = json.loads((folder / "build" / "synth" / stack / "policy.json").read_text())
    assert policy["violations"] == [], policy["violations"]


@pytest.fixture(scope="module")
def batch_and_edge(tmp_path_factory, iris_pickle) -> Path:
    """A project of the batch and edge starting points (hwalk3: a user's own repository had no way to them
    but copying this repository's stacks and the diabetes driver)."""
    folder = tmp_path_factory.mktemp("batch-edge") / "iris-jobs"
    done = mldeploy("init", folder.name, "--model", str(iris_pickle), "--target", "batch", "--target", "edge",
                    cwd=folder.parent)
    assert done.returncode == 0, done.stderr
    return folder


def test_init_target_batch_writes_a_driver_that_mldeploy_batch_runs_as_the_model_predicts(batch_and_edge, tmp_path):
    import joblib
    import numpy as np

    folder = batch_and_edge
    assert sorted(p.name for p in (folder / "stacks").iterdir()) == [
        "Pulumi.batch.yaml", "Pulumi.edge.yaml", "Pulumi.local.yaml"]
    assert "azureml-core==" in (folder / "batch-env.yml").read_text(), "Azure ML's batch driver imports azureml-core"
    # hwalk3's fresh walk: the first `mldeploy batch` of a new project stopped on joblib; the header says it first
    assert "#   .venv/bin/pip install 'scikit-learn==1.9.1' 'joblib==1.6.0' 'numpy==2.4.6'\n" in (
        folder / "stacks" / "Pulumi.batch.yaml").read_text(), "the packages the driver needs in mldeploy's Python"
    rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
    (folder / "batch-input" / "flowers.csv").write_text("a,b,c,d\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    output = tmp_path / "predictions.csv"
    done = mldeploy("batch", "--stack", "batch", "--input", "batch-input", "--output", str(output), cwd=folder)
    assert done.returncode == 0, done.stderr
    expected = joblib.load(folder / "models" / "iris-classifier.pkl").predict(np.asarray(rows))
    lines = output.read_text().splitlines()
    assert [line for line in lines if line.startswith("flowers.csv,")] == [
        f"flowers.csv,{i},{int(p)}" for i, p in enumerate(expected)], lines
    assert len(lines) == 5, "init's batch-input/sample.csv holds two rows"


def test_init_target_edge_and_batch_stacks_load_and_name_the_model(batch_and_edge):
    from mldeploy.targets.stack import load_stack

    edge = load_stack(batch_and_edge, "edge")
    assert edge.sections["edge"]["iris-classifier"].image == "iris-classifier"
    batch = load_stack(batch_and_edge, "batch")
    assert batch.sections["batch"]["iris-classifier"].model == "iris-classifier" and not batch.images, \
        "a batch stack builds no image (Azure ML builds the job's environment)"
    jobs = (batch_and_edge / ".github" / "workflows" / "deploy.yml").read_text()
    assert "pulumi up (edge)" in jobs and "pulumi up (batch)" in jobs


def test_init_target_batch_with_an_onnx_model_is_refused_naming_the_kind(tmp_path, iris_onnx):
    done = mldeploy("init", "--model", str(iris_onnx), "--target", "batch", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr == (
        "error: --target: batch: init writes its files for a model of kind pickle, and models/iris-classifier.onnx "
        "is onnx; write them yourself (docs/targets.md), or leave out --target batch\n"), done.stderr
    assert list(tmp_path.iterdir()) == [], "nothing written"


@pytest.mark.slow
def test_serve_local_serves_the_user_s_model_with_no_further_edits(project):
    folder, _ = project
    with serving("--stack", "local", "--port", "0", "--json", cwd=folder, stop_timeout=120) as served:
        endpoint = served.endpoint
        setosa, virginica = [5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]
        reply = score(endpoint["scoringUri"], endpoint["primaryKey"], json.dumps({"data": [setosa, virginica]}).encode())
        assert reply.status == 200 and json.loads(reply.text()) == [0, 2], reply.text()
        bad = score(endpoint["scoringUri"], endpoint["primaryKey"], b'{"data": [[1, 2]]}')
        assert bad.status == 400 and "4 numbers" in bad.text(), bad.text()
    assert served.proc.returncode == 0, served.err[-1000:]


# ----- the model a user actually has: ONNX, compressed joblib, MLflow folders, and what init refuses

def _iris():
    from sklearn.datasets import load_iris
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def iris_onnx(tmp_path_factory) -> Path:
    """An ONNX model as Azure ML's ONNX path has users make one: skl2onnx from scikit-learn."""
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    x, y = _iris()
    path = tmp_path_factory.mktemp("onnx-training") / "iris-classifier.onnx"
    path.write_bytes(to_onnx(LogisticRegression(max_iter=500).fit(x, y), x[:1].astype(np.float32)).SerializeToString())
    return path


def _graph_model(path: Path, inputs, initializer_as_input: bool = False) -> Path:
    """An ONNX model built with onnx.helper: `inputs` (name, TensorProto type, shape) concatenated."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper, save

    values = [helper.make_tensor_value_info(name, kind, shape) for name, kind, shape in inputs]
    weight = numpy_helper.from_array(np.array([2.0], np.float32), "w")  # raw_data: what external data moves
    if initializer_as_input:  # IR version < 4 listed initializers among the inputs
        values.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, [1]))
    casts = [helper.make_node("Cast", [name], [f"{name}_f"], to=TensorProto.FLOAT) for name, _, _ in inputs]
    nodes = [*casts, helper.make_node("Concat", [f"{n}_f" for n, _, _ in inputs], ["c"], axis=1),
             helper.make_node("Mul", ["c", "w"], ["y"])]
    graph = helper.make_graph(nodes, "g", values, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None])],
                              initializer=[weight])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_an_onnx_model_gets_an_onnx_runtime_score_py_environment_and_sample(tmp_path, iris_onnx):
    """An ONNX model's score.py runs it with ONNX Runtime, its environment pins onnxruntime (no
    scikit-learn), and the sample has its input's width; init read the graph's input, not the pickle
    default of 4 features and joblib.load."""
    from onnx import TensorProto

    done = mldeploy("init", "--model", str(iris_onnx), "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    script, env = (tmp_path / "score.py").read_text(), (tmp_path / "environment.yml").read_text()
    assert "onnxruntime.InferenceSession(" in script and "joblib" not in script, script
    assert "INPUTS = [('X', 'float32', 4)]\n" in script and 'MODEL_FILE = "iris-classifier.onnx"' in script, script
    assert "- onnxruntime==1.31.1" in env and "scikit-learn" not in env and "joblib" not in env, env
    assert json.loads((tmp_path / "sample-request.json").read_text()) == {"data": [[0.0] * 4, [1.0] * 4]}
    assert "note: an ONNX model; score.py runs iris-classifier.onnx with ONNX Runtime" in done.stdout, done.stdout
    assert "could not read" not in done.stdout, done.stdout

    assert "placeholders" not in done.stdout, done.stdout
    wide = _graph_model(tmp_path / "mixed.onnx", [("age", TensorProto.INT64, ["batch", 1]),
                                                  ("measures", TensorProto.DOUBLE, ["batch", 3])])
    mixed = mldeploy("init", "m2", "--model", str(wide), "--target", "aci", cwd=tmp_path)
    assert mixed.returncode == 0, mixed.stderr
    assert "INPUTS = [('age', 'int64', 1), ('measures', 'float64', 3)]\n" in (tmp_path / "m2" / "score.py").read_text()
    assert json.loads((tmp_path / "m2" / "sample-request.json").read_text()) == {"data": [[0, 0.0, 0.0, 0.0],
                                                                                          [1, 1.0, 1.0, 1.0]]}
    texts = _graph_model(tmp_path / "texts.onnx", [("x", TensorProto.FLOAT, [None, 2]), ("city", TensorProto.STRING, [None, 1])])
    done = mldeploy("init", "m3", "--model", str(texts), "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "m3" / "sample-request.json").read_text()) == {"data": [[0.0, 0.0, "text-0"],
                                                                                          [1.0, 1.0, "text-1"]]}
    assert "its texts (text-0, text-1) are placeholders a category column may not know" in done.stdout, done.stdout


@pytest.mark.parametrize("inputs, initializer_as_input", [
    ([("X", 1, [None, 4])], False), ([("x", 11, ["N", 7])], True), ([("a", 7, [1, 2]), ("b", 8, [1, 1])], False)])
def test_the_onnx_reader_agrees_with_onnx_load(tmp_path, inputs, initializer_as_input):
    """mldeploy reads the graph's inputs from the protobuf wire format itself (onnx 1.20+ cannot
    share its virtualenv): it must see what onnx.load sees, weights listed as inputs left out."""
    import onnx

    from mldeploy.project.formats import read_model
    from mldeploy.project.onnx_graph import ONNX_DTYPES

    path = _graph_model(tmp_path / "m.onnx", inputs, initializer_as_input)
    graph = onnx.load(str(path)).graph
    weights = {t.name for t in graph.initializer}
    expected = [(i.name, ONNX_DTYPES[i.type.tensor_type.elem_type], i.type.tensor_type.shape.dim[1].dim_value)
                for i in graph.input if i.name not in weights]
    found = read_model(path, "m.onnx")
    assert [(i.name, i.dtype, i.width) for i in found.inputs] == expected
    assert found.rows == (1 if inputs[0][2][0] == 1 else None)


def test_a_compressed_joblib_file_is_read_like_an_uncompressed_one(tmp_path):
    """joblib.dump(..., compress=3) writes a zlib stream: its width is read after decompressing
    (it was the 4-feature default and a note)."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    x, y = load_diabetes(return_X_y=True)
    joblib.dump(Ridge().fit(x, y), tmp_path / "ridge.joblib", compress=3)
    joblib.dump(Ridge().fit(x, y), tmp_path / "ridge.gz", compress=("gzip", 3))
    for name in ("ridge.joblib", "ridge.gz"):
        done = mldeploy("init", name.replace(".", "-"), "--model", name, "--target", "aci", cwd=tmp_path)
        assert done.returncode == 0 and "could not read" not in done.stdout, done.stdout + done.stderr
        sample = json.loads((tmp_path / name.replace(".", "-") / "sample-request.json").read_text())
        assert [len(row) for row in sample["data"]] == [10, 10], sample


def _mlflow_folder(folder: Path, flavor: str, model_file: str) -> Path:
    """An MLflow model folder as mlflow.sklearn/onnx.save_model write it (MLmodel's flavors name the file)."""
    folder.mkdir()
    flavors = {
        "sklearn": f"  sklearn:\n    code: null\n    pickled_model: {model_file}\n    serialization_format: cloudpickle\n"
                   "    sklearn_version: 1.5.2\n",
        "onnx": f"  onnx:\n    code: null\n    data: {model_file}\n    onnx_version: 1.17.0\n    providers: [CPUExecutionProvider]\n",
        "pytorch": "  pytorch:\n    code: null\n    model_data: data\n    pytorch_version: 2.5.1\n",
    }[flavor]
    (folder / "MLmodel").write_text(
        "artifact_path: model\nflavors:\n  python_function:\n    env:\n      conda: conda.yaml\n"
        f"    loader_module: mlflow.{flavor}\n    python_version: 3.11.9\n{flavors}mlflow_version: 2.19.0\n")
    (folder / "conda.yaml").write_text("name: mlflow-env\n")
    (folder / "requirements.txt").write_text("mlflow==2.19.0\n")
    return folder


def test_an_mlflow_model_folder_serves_the_model_file_its_flavor_names(tmp_path, iris_pickle, iris_onnx):
    """Flavor sklearn: score.py loads the pickled_model (no mlflow in the scoring environment);
    flavor onnx: its data file, with ONNX Runtime."""
    sk = _mlflow_folder(tmp_path / "sk-model", "sklearn", "model.pkl")
    (sk / "model.pkl").write_bytes(iris_pickle.read_bytes())
    on = _mlflow_folder(tmp_path / "onnx-model", "onnx", "model.onnx")
    (on / "model.onnx").write_bytes(iris_onnx.read_bytes())
    done = mldeploy("init", "a", "--model", str(sk), "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"model.pkl"' in (tmp_path / "a" / "score.py").read_text()
    assert (tmp_path / "a" / "models" / "sk-model" / "MLmodel").is_file()
    assert "saved with scikit-learn 1.5.2; environment.yml pins 1.9.1" in done.stdout, done.stdout
    done = mldeploy("init", "b", "--model", str(on), "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert 'MODEL_FILE = "model.onnx"' in (tmp_path / "b" / "score.py").read_text()


def _truncated(path: Path, data: bytes) -> Path:
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("make, found", [
    (lambda d: (d / "m.onnx").write_text("not a model, a note\n") and d / "m.onnx", "m.onnx: a text file, not a model"),
    (lambda d: (d / "m.pkl").write_bytes(b"") or d / "m.pkl", "m.pkl: an empty file"),
    (lambda d: _truncated(d / "m.pkl", pickle_bytes()), "m.pkl: a pickle that is cut short or damaged"),
    (lambda d: _truncated(d / "m.joblib", zlib_bytes()), "m.joblib: a zlib-compressed file that does not decompress"),
    (lambda d: (d / "m.pt").write_bytes(b"PK\x03\x04rest") and d / "m.pt", "m.pt: a zip archive"),
    (lambda d: (d / "m").mkdir() or (d / "m" / "notes.txt").write_text("x") and d / "m",
     "m: a folder without a model file (1 files: notes.txt)"),
    (lambda d: _mlflow_folder(d / "m", "pytorch", ""), "m/MLmodel: an MLflow model of flavor python_function, pytorch"),
])
def test_what_is_no_model_init_serves_is_refused_in_one_line_and_nothing_is_written(tmp_path, make, found):
    """Refused, not scaffolded: a project whose score.py cannot load the model only fails later, at
    serve. The line names the file, what it holds, and what init supports."""
    (tmp_path / "in").mkdir()
    model = make(tmp_path / "in")
    done = mldeploy("init", "proj", "--model", str(model.relative_to(tmp_path)), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --model: in/{found}"), done.stderr
    assert "an ONNX model" in lines[0], lines[0]
    assert not (tmp_path / "proj").exists(), "a refused init wrote files"


def pickle_bytes() -> bytes:
    import pickle

    from sklearn.linear_model import LogisticRegression
    return pickle.dumps(LogisticRegression(max_iter=500).fit(*_iris()))


def zlib_bytes() -> bytes:
    import zlib
    return zlib.compress(pickle_bytes())


def test_a_pickle_needing_a_library_the_environment_lacks_names_it(tmp_path):
    """A pickle of a class from a module environment.yml does not install (xgboost, lightgbm, one's
    own): init names the module and leaves a line to pin in environment.yml (it was silent, and the
    scorer stopped at serve with ModuleNotFoundError)."""
    lib = tmp_path / "training"
    lib.mkdir()
    (lib / "boostlib.py").write_text("class Booster:\n    n_features_in_ = 3\n    def predict(self, x):\n"
                                     "        return [0] * len(x)\n")
    # A stand-in of the library's class, pickled after an array (joblib writes its raw bytes in the stream).
    (lib / "xgboost.py").write_text("class XGBClassifier(dict):\n    pass\n")
    subprocess.run([sys.executable, "-c", "import joblib, boostlib, xgboost; joblib.dump(boostlib.Booster(), 'b.pkl'); "
                    "import numpy; joblib.dump({'scaler': numpy.ones((3, 300)), 'model': xgboost.XGBClassifier()}, 'x.pkl')"], cwd=lib, check=True,
                   env={**os.environ, "PYTHONPATH": str(lib)})
    done = mldeploy("init", "proj", "--model", str(lib / "b.pkl"), "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "note: the pickle imports the module boostlib, which environment.yml does not install: add the package " \
           "that provides it to its pip list (a commented line is there), or, if it is your own code, put it beside " \
           "score.py and set the image's sourceDirectory" in done.stdout, done.stdout
    assert "# - <the package of boostlib>==<the version you trained with>" in (tmp_path / "proj" / "environment.yml").read_text()
    done = mldeploy("init", "proj2", "--model", str(lib / "x.pkl"), "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "the module xgboost, which environment.yml does not install: add xgboost==<the version you trained " \
           "with> to its pip list" in done.stdout, done.stdout
    assert "      # - xgboost==<the version you trained with>" in (tmp_path / "proj2" / "environment.yml").read_text()
    subprocess.run([sys.executable, "-c", "import joblib\nclass Model: pass\njoblib.dump(Model(), 'm.pkl')"],
                   cwd=lib, check=True)
    done = mldeploy("init", "proj3", "--model", str(lib / "m.pkl"), "--target", "aci", cwd=tmp_path)
    assert "note: the pickle refers to __main__ (a class or function defined in your training script)" in done.stdout


@pytest.mark.slow
def test_serve_and_test_score_the_user_s_onnx_model(tmp_path, iris_onnx):
    """The README's words with an ONNX model: init, serve --stack local, mldeploy test."""
    done = mldeploy("init", "--model", str(iris_onnx), "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with serving("--stack", "local", "--port", "0", "--json", cwd=tmp_path, stop_timeout=120) as served:
        endpoint = served.endpoint
        (tmp_path / "rows.json").write_text(json.dumps({"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}))
        tested = mldeploy("test", "--stack", "local", "--service", "iris-classifier", "--data", "rows.json", cwd=tmp_path)
        assert tested.returncode == 0 and json.loads(tested.stdout) == [0, 2], tested.stdout + tested.stderr
        bad = score(endpoint["scoringUri"], endpoint["primaryKey"], b'{"data": [[1, 2, "x", 4]]}')
        assert bad.status == 400 and "row 0 must be a list of 4 values" not in bad.text(), bad.text()
        assert "row 0 column 2 must be a finite number" in bad.text(), bad.text()
    assert served.proc.returncode == 0, served.err[-1000:]


@pytest.mark.slow
def test_serve_scores_an_image_onnx_model(tmp_path):
    done = mldeploy("init", "--model", str(_image_model(tmp_path / "digits.onnx")), "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with serving("--stack", "local", "--port", "0", "--json", cwd=tmp_path, stop_timeout=120) as served:
        endpoint = served.endpoint
        ones = json.dumps({"data": [[[[1.0] * 4] * 4], [[[0.0] * 4] * 4]]}).encode()
        reply = score(endpoint["scoringUri"], endpoint["primaryKey"], ones)
        assert reply.status == 200, reply.text()
        assert [[round(v, 3) for v in row] for row in json.loads(reply.text())] == [[7.5, 7.833, 8.167], [0, 0, 0]]
        bad = score(endpoint["scoringUri"], endpoint["primaryKey"], b'{"data": [[[1, 2]]]}')
        assert bad.status == 400 and "must be an array of shape [4, 4]" in bad.text(), bad.text()
    assert served.proc.returncode == 0, served.err[-1000:]


def test_an_onnx_model_with_external_data_is_taken_as_its_folder(tmp_path):
    """onnx's external data (models over 2 GB, or saved so): the .onnx file alone would be copied
    without its weights and fail at serve, so init asks for the folder, and serves it from there."""
    import onnx
    from onnx import TensorProto

    folder = tmp_path / "big"
    folder.mkdir()
    model = onnx.load(str(_graph_model(tmp_path / "tmp.onnx", [("x", TensorProto.FLOAT, [None, 3])])))
    onnx.save_model(model, str(folder / "m.onnx"), save_as_external_data=True, location="m.onnx.data",
                    size_threshold=0)
    assert (folder / "m.onnx.data").is_file()
    done = mldeploy("init", "a", "--model", "big/m.onnx", cwd=tmp_path)
    assert done.returncode == 2 and not (tmp_path / "a").exists(), done.stdout + done.stderr
    assert done.stderr.startswith("error: --model: big/m.onnx: an ONNX model whose weights are in other files "
                                  "(m.onnx.data; onnx external data): give --model the folder"), done.stderr
    done = mldeploy("init", "b", "--model", "big", "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert 'MODEL_FILE = "m.onnx"' in (tmp_path / "b" / "score.py").read_text()
    assert (tmp_path / "b" / "models" / "big" / "m.onnx.data").is_file()


@pytest.mark.parametrize("protocol", [0, 1])
def test_a_pickle_of_protocol_0_or_1_is_a_pickle_not_a_text_file(tmp_path, iris_pickle, protocol):
    """Protocols 0-1 have no PROTO opcode (protocol 0 is ASCII): read by walking the opcodes, with
    Python 2's module names (copy_reg, __builtin__) taken as the standard library's."""
    import pickle

    (tmp_path / "old.pkl").write_bytes(pickle.dumps(joblib.load(iris_pickle), protocol=protocol))
    done = mldeploy("init", "--model", "old.pkl", "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "joblib.load(" in (tmp_path / "score.py").read_text() and "the pickle imports" not in done.stdout, done.stdout


def _image_model(path: Path) -> Path:
    """An image classifier's shape, as Azure ML's ONNX examples (MNIST, FER+) have: input
    [N, 1, 4, 4] float32, output [N, 3] (flattened pixels times a 16x3 weight)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper, save

    weight = numpy_helper.from_array(np.arange(48, dtype=np.float32).reshape(16, 3) / 48, "w")
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"], axis=1), helper.make_node("MatMul", ["flat", "w"], ["scores"])],
        "g", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 4, 4])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 3])], initializer=[weight])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_an_onnx_model_of_one_tensor_of_another_shape_takes_that_array(tmp_path):
    """An image model's input is no rows: the request's data is the array of its shape (it was refused)."""
    done = mldeploy("init", "--model", str(_image_model(tmp_path / "digits.onnx")), "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    script = (tmp_path / "score.py").read_text()
    assert 'INPUT = "image"\n' in script and "SHAPE = [None, 1, 4, 4]\n" in script and 'DTYPE = "float32"' in script
    assert json.loads((tmp_path / "sample-request.json").read_text()) == {"data": [[[[0.0] * 4] * 4]]}
    assert "a request's data is its input 'image' (float32, shape [N, 1, 4, 4])" in done.stdout, done.stdout


class _FakeOrt:
    """onnxruntime as score.py's init() uses it (not installed beside mldeploy): records the
    SessionOptions the session gets, and answers get_inputs() with the graph's input names."""

    def __init__(self, inputs: list[str]):
        self.sessions = []
        fake = self

        class SessionOptions:
            intra_op_num_threads = inter_op_num_threads = 0

        class InferenceSession:
            def __init__(self, path, options=None, providers=None):
                fake.sessions.append({"options": options, "providers": providers})

            def get_inputs(self):
                return [type("Input", (), {"name": name})() for name in inputs]

        self.SessionOptions, self.InferenceSession = SessionOptions, InferenceSession


@pytest.mark.parametrize("model, inputs", [("rows", ["X"]), ("image", ["image"])])
@pytest.mark.parametrize("threads", ["1", "3", None])
def test_onnx_score_py_sizes_its_session_s_threads_from_the_scorer_s_variable(tmp_path, iris_onnx, monkeypatch,
                                                                              model, inputs, threads):
    """Both ONNX score.py templates: intra_op_num_threads from ORT_INTRA_OP_NUM_THREADS, which the
    scorer host sets to each worker's share of the cores (0, ONNX Runtime's default of one per
    core, when it is unset), inter-op 1 (docs/performance.md, bench/scoring_onnx.py)."""
    import importlib.util

    path = iris_onnx if model == "rows" else _image_model(tmp_path / "digits.onnx")
    done = mldeploy("init", "--model", str(path), "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    fake = _FakeOrt(inputs)
    monkeypatch.setitem(sys.modules, "onnxruntime", fake)
    # The model's folder: init copies a model from outside the project into models/ (score.py opens the file).
    copied = tmp_path / "models" / path.name
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(copied.parent if copied.is_file() else path.parent))
    if threads is None:
        monkeypatch.delenv("ORT_INTRA_OP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("ORT_INTRA_OP_NUM_THREADS", threads)
    spec = importlib.util.spec_from_file_location(f"score_{model}_{threads}", tmp_path / "score.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.init()
    (session,) = fake.sessions
    assert session["options"] is not None, "score.py must hand the session its SessionOptions"
    assert session["options"].intra_op_num_threads == int(threads or 0), session["options"].__dict__
    assert session["options"].inter_op_num_threads == 1
    assert session["providers"] == ["CPUExecutionProvider"]


def test_a_folder_with_several_model_files_says_which_one_score_py_loads(tmp_path, iris_pickle, iris_onnx):
    (tmp_path / "m").mkdir()
    for name in ("clf.pkl", "scaler.joblib"):
        (tmp_path / "m" / name).write_bytes(iris_pickle.read_bytes())
    (tmp_path / "m" / "README.md").write_text("how it was trained\n")
    done = mldeploy("init", "p", "--model", "m", "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"clf.pkl"' in (tmp_path / "p" / "score.py").read_text()
    assert "note: score.py loads clf.pkl; the model's folder also holds the model file(s) scaler.joblib" in done.stdout


def test_init_names_the_scikit_learn_a_pickle_was_saved_with(tmp_path, monkeypatch):
    """An SDK v1 team's model is often older than the pinned scikit-learn: the pickle records its version."""
    import sklearn.base
    from sklearn.linear_model import LogisticRegression
    monkeypatch.setattr(sklearn.base, "__version__", "1.5.2")
    joblib.dump(LogisticRegression(max_iter=200).fit([[0.0, 1.0], [1.0, 0.0]], [0, 1]), tmp_path / "old.pkl")
    done = mldeploy("init", "p", "--model", str(tmp_path / "old.pkl"), "--target", "aci", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "note: the pickle says the model was saved with scikit-learn 1.5.2; environment.yml pins 1.9.1" \
        in done.stdout, done.stdout


@pytest.mark.parametrize("stack", ["dev", "managed", "prod"])
def test_the_headers_version_2_keeps_the_registered_models_description(project, stack):
    """hwalk3's day 2 on dev: version 2 added as the header wrote it had no description, so the ModelVersion
    said '' and retiring version 1 updated the registered model's description 'iris' -> '' (the ModelContainer's
    comes from the first entry of its name)."""
    import yaml

    from mldeploy.targets.stack import parse_settings
    from mldeploy.config.load import read_stack_file

    folder, _ = project
    path = folder / "stacks" / f"Pulumi.{stack}.yaml"
    line = next(l for l in path.read_text().splitlines() if l.startswith("#   ") and "registeredName:" in l)
    name, entry = next(iter(yaml.safe_load(line[4:]).items()))
    values, keys = read_stack_file(path)
    values["mldeploy:models"][name] = entry
    (folder / "models" / f"{name}.pkl").write_bytes((folder / "models" / "iris-classifier.pkl").read_bytes())
    models = parse_settings(stack, values, set(keys), folder, f"stacks/Pulumi.{stack}.yaml").models
    assert models[name].description == models["iris-classifier"].description == "iris-classifier", line


def test_the_dev_header_says_what_the_old_image_entry_does_after_the_switch(project):
    """hwalk3's dev day 2: after the header's switch to iris-v2 the diff noted 'images.iris: no service or entry
    uses it; it is still built and pushed' - a header that said nothing of version 1's entries."""
    folder, _ = project
    header = " ".join(l[2:] for l in (folder / "stacks" / "Pulumi.dev.yaml").read_text().splitlines() if l.startswith("# "))
    assert ("Rolling back is image: iris-classifier again; while iris-classifier's entries stay, synth notes that its "
            "image is still built and pushed - remove the models and images entries of iris-classifier to retire "
            "version 1.") in header, header
