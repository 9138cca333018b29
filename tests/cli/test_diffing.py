"""`mldeploy diff` (mldeploy/cli/diffing.py) in a throwaway git repo holding a copy of the project:
one model version changed between two commits shows exactly that; identical trees show no
change and exit 0; a retrained model file shows its new digest; a traffic shift shows in the
traffic table; --json carries the same."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mldeploy.cli.diff_sides import diff_stack
from mldeploy.cli.diffing import Side, compare, diff_values
from tests.harness import ROOT

MODEL = Path("examples/diabetes/outputs/sklearn_regression_model.pkl")
MLDEPLOY = [sys.executable, "-c", "import sys; from mldeploy.cli import main; sys.argv[0] = 'mldeploy'; main()"]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory, trained_model) -> Path:
    """The project's files (tracked or new, not ignored) committed in a new repo; the trained
    model copied in but, as in real checkouts, ignored by git."""
    repo = tmp_path_factory.mktemp("repo")
    files = _git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    for rel in filter(None, files):
        source = ROOT / rel
        if source.is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / rel)
    # Every trained model the stacks name (the managed stack has two versions), untracked.
    shutil.copytree(ROOT / MODEL.parent, repo / MODEL.parent, dirs_exist_ok=True)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    assert str(MODEL) not in _git(repo, "ls-files"), "the trained model must stay untracked"
    return repo


def _diff(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MLDEPLOY, "diff", "--stack", "dev", *args], cwd=repo, capture_output=True, text=True)


def test_identical_trees_show_no_change_and_exit_0(repo):
    run = _diff(repo, "--base", "HEAD")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "**No changes.**" in run.stdout


def _explained_by_the_version(before, after) -> bool:
    """A property change the new model version explains: the version itself, or an image
    reference (the build context holds the model under its version, so the image is new)."""
    if (before, after) == ("1", "2"):
        return True
    return all(isinstance(v, str) and ("/diabetes:" in v or "/diabetes@sha256:" in v) for v in (before, after))


def test_two_commits_changing_one_model_version_show_exactly_that(repo):
    stack = repo / "stacks" / "Pulumi.dev.yaml"
    # The dev stack's model block: `diabetes: ... version: 1`.
    changed, n = re.subn(r"(mldeploy:models:\n\s+diabetes:\n(?:\s+(?!version:)\S.*\n)*?\s+version: )1\n",
                         r"\g<1>2\n", stack.read_text())
    assert n == 1, "could not find the diabetes model's version in stacks/Pulumi.dev.yaml"
    stack.write_text(changed)
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "model v2")
    try:
        run = _diff(repo, "--base", "HEAD~1")
        d = diff_stack(repo, "dev", "HEAD~1")
    finally:
        _git(repo, "reset", "-q", "--hard", "HEAD~1")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "| ➕ create | `models.diabetes` | `model-diabetes-v2` |" in run.stdout, run.stdout
    assert "| ➖ delete | `models.diabetes` | `model-diabetes-v1` |" in run.stdout, run.stdout

    added = sorted(c.name for c in d.of("create"))
    removed = sorted(c.name for c in d.of("delete"))
    assert "model-diabetes-v2" in added and "model-diabetes-v1" in removed, (added, removed)
    # Every new resource replaces an old one whose name differs only by the version.
    assert sorted(n.replace("v2", "v1").replace("-2-", "-1-") for n in added) == removed, (added, removed)
    for c in d.of("update") + d.of("replace"):
        for p in c.properties:
            assert _explained_by_the_version(p.before, p.after), f"{c.name}.{p.path}: {p.before!r} -> {p.after!r}"
    assert ("models.diabetes.version", "1", "2") in d.outputs


def test_base_synth_finds_the_untracked_model(repo):
    # The model is gitignored: without copying it into the base tree, the base would not validate.
    run = _diff(repo, "--base", "HEAD")
    assert "not found" not in run.stderr and run.returncode == 0, run.stderr


def _commit(repo: Path, message: str) -> None:
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", message)


def test_retrained_model_shows_a_new_digest_with_the_bases_own_file(repo, tmp_path):
    """The trained model is not in git: --base-files supplies the base's copy, so a retrained
    working-tree file shows as new content (blob replaced, new digest); without it the diff
    says the working tree's copy stood in."""
    original = (repo / MODEL).read_bytes()
    (tmp_path / MODEL).parent.mkdir(parents=True)
    (tmp_path / MODEL).write_bytes(original)
    v2 = MODEL.parent / "v2" / MODEL.name  # stack managed's green (diabetes:2): the base has it too
    (tmp_path / v2).parent.mkdir(parents=True)
    (tmp_path / v2).write_bytes((repo / v2).read_bytes())
    subprocess.run([sys.executable, str(repo / "examples/diabetes/train.py"), "--alpha", "2.0",
                    "--output", str(repo / MODEL)], check=True, capture_output=True)
    try:
        with_base = subprocess.run([*MLDEPLOY, "diff", "--stack", "managed", "--json", "--base-files", str(tmp_path)],
                                   cwd=repo, capture_output=True, text=True)
        stand_in = subprocess.run([*MLDEPLOY, "diff", "--stack", "managed"], cwd=repo, capture_output=True, text=True)
    finally:
        (repo / MODEL).write_bytes(original)
    assert with_base.returncode == 1, with_base.stdout + with_base.stderr
    data = json.loads(with_base.stdout)
    blob = next(r for r in data["resources"] if r["type"] == "azure-native:storage:Blob")
    digest = next(p for p in blob["properties"] if p["path"] == "source.sha256")
    assert blob["kind"] == "replace" and digest["before"] != digest["after"], blob
    assert stand_in.returncode == 0 and "stood in" in stand_in.stdout, stand_in.stdout + stand_in.stderr


def _set_in_block(text: str, block: str, key: str, value: str) -> str:
    changed, n = re.subn(rf"(\n(\s+){block}:\n(?:\2\s+.*\n)*?\2\s+{key}: )\S+\n", rf"\g<1>{value}\n", text)
    assert n == 1, f"no {block}.{key} in the stack file"
    return changed


def test_promotion_with_an_instance_type_change_warns_and_shows_the_split(repo):
    stack = repo / "stacks" / "Pulumi.managed.yaml"
    text = _set_in_block(stack.read_text(), "blue", "trafficPercent", "0")
    text = _set_in_block(text, "green", "trafficPercent", "100")
    stack.write_text(_set_in_block(text, "blue", "instanceType", "Standard_F2s_v2"))
    _commit(repo, "promote green, resize blue")
    try:
        run = subprocess.run([*MLDEPLOY, "diff", "--stack", "managed", "--base", "HEAD~1", "--json"],
                             cwd=repo, capture_output=True, text=True)
        md = subprocess.run([*MLDEPLOY, "diff", "--stack", "managed", "--base", "HEAD~1"],
                            cwd=repo, capture_output=True, text=True).stdout
    finally:
        _git(repo, "reset", "-q", "--hard", "HEAD~1")
    assert run.returncode == 1, run.stdout + run.stderr
    data = json.loads(run.stdout)
    rows = {r["deployment"]: (r["trafficBefore"], r["trafficAfter"]) for r in data["traffic"][0]["rows"]}
    assert rows["blue"] == (90, 0) and rows["green"] == (10, 100), rows
    alerts = [w for w in data["warnings"] if w["kind"] == "create-only"]
    assert len(alerts) == 1 and "live traffic" in alerts[0]["message"], data["warnings"]
    assert md.index("> [!WARNING]") < md.index("**Traffic, `services.diabetes`** (endpoint `diabetes-"), md


def test_a_warning_synth_gives_only_in_the_working_tree_is_at_the_top(repo):
    """hday2's day 2: version 2 saved as another file name than the one score.py opens. synth warns
    (the deployment would not start), and the diff a reviewer reads said nothing of it."""
    stack = repo / "stacks" / "Pulumi.managed.yaml"
    original = stack.read_text()
    v2 = repo / MODEL.parent / "v2"
    shutil.copy2(v2 / MODEL.name, v2 / "model-v2.pkl")
    stack.write_text(original.replace("outputs/v2/sklearn_regression_model.pkl", "outputs/v2/model-v2.pkl"))
    try:
        run = subprocess.run([*MLDEPLOY, "diff", "--stack", "managed", "--base", "HEAD", "--json"],
                             cwd=repo, capture_output=True, text=True)
        md = subprocess.run([*MLDEPLOY, "diff", "--stack", "managed", "--base", "HEAD"],
                            cwd=repo, capture_output=True, text=True).stdout
    finally:
        stack.write_text(original)
        (v2 / "model-v2.pkl").unlink()
    assert run.returncode == 1, run.stdout + run.stderr
    warned = [w["message"] for w in json.loads(run.stdout)["warnings"] if w["kind"] == "synth"]
    assert len(warned) == 1, warned
    assert warned[0].startswith("`mldeploy synth` warns (new since `HEAD` (")
    assert "images.diabetes-v2.entryScript: examples/diabetes/score.py:" in warned[0]
    assert "opens 'sklearn_regression_model.pkl' in AZUREML_MODEL_DIR" in warned[0], warned
    assert md.index("> [!WARNING]") < md.index("opens 'sklearn_regression_model.pkl'") < md.index("**Traffic"), md


def test_retiring_blue_says_why_its_image_is_created(repo):
    """hwalk's day 2: blue removed once green took all traffic, its image entry kept. The image is
    still built and pushed (synth notes why), and the diff listed a docker Image to create with
    nothing saying why; the note is new since the base, so it is shown once, under the title."""
    stack = repo / "stacks" / "Pulumi.managed.yaml"
    original = stack.read_text()
    text = _set_in_block(original, "green", "trafficPercent", "100")
    blue = re.search(r"\n        blue:\n(?:          .*\n)+", text)
    stack.write_text(text.replace(blue.group(0), "\n"))
    try:
        run = subprocess.run([*MLDEPLOY, "diff", "--stack", "managed", "--base", "HEAD", "--json"],
                             cwd=repo, capture_output=True, text=True)
        md = subprocess.run([*MLDEPLOY, "diff", "--stack", "managed", "--base", "HEAD"],
                            cwd=repo, capture_output=True, text=True).stdout
    finally:
        stack.write_text(original)
    assert run.returncode == 1, run.stdout + run.stderr
    data = json.loads(run.stdout)
    assert any(r["kind"] == "create" and r["type"] == "docker:index/image:Image" for r in data["resources"])
    noted = [n for n in data["notes"] if n.startswith("`mldeploy synth` notes (new since `HEAD` (")]
    assert len(noted) == 1 and "mldeploy:images.diabetes: no service or entry uses it" in noted[0], data["notes"]
    assert md.index("images.diabetes: no service or entry uses it") < md.index("**Traffic"), md


def test_an_invalid_stack_in_the_working_tree_is_exit_2_with_its_error(repo):
    stack = repo / "stacks" / "Pulumi.dev.yaml"
    original = stack.read_text()
    stack.write_text(original + "  mldeploy:verison: 1\n")
    try:
        run = _diff(repo, "--base", "HEAD")
    finally:
        stack.write_text(original)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "stacks/Pulumi.dev.yaml" in run.stderr and "Traceback" not in run.stderr and "Usage:" not in run.stderr
    # One line (hreview's trial: `error: synth of stack 'dev' at working tree failed (exit 2):` and
    # synth's own error on a second line).
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: stacks/Pulumi.dev.yaml: mldeploy:verison: unknown key "
                                                   "'verison'; allowed: "), run.stderr
    assert lines[0].endswith(" (synth of stack 'dev' at working tree, exit 2)"), run.stderr


def test_unknown_ref_is_a_usage_error(repo):
    run = _diff(repo, "--base", "no-such-ref")
    assert run.returncode == 2 and "is not a commit" in run.stderr, run.stderr


# -- the comparison itself ------------------------------------------------------------------

def _r(name: str, inputs: dict) -> dict:
    return {"urn": f"urn:pulumi:dev::mldeploy::t::{name}", "type": "t", "name": name, "inputs": inputs}


def test_property_paths_and_masked_secrets():
    assert diff_values({"a": {"b": [1, 2]}, "k": "[secret]"}, {"a": {"b": [1, 3]}, "k": "[secret]"}) == [
        ("a.b[1]", 2, 3)]


def test_compare_counts_adds_removes_and_changes():
    base = Side("base", [_r("x", {"v": 1}), _r("gone", {})], {"o": 1})
    head = Side("head", [_r("x", {"v": 2}), _r("new", {"w": 1})], {"o": 1})
    d = compare("dev", base, head)
    # In URN order, as resources.json lists them.
    assert [(c.kind, c.name) for c in d.changes] == [("delete", "gone"), ("create", "new"), ("update", "x")]
    assert [(p.path, p.before, p.after) for p in d.changes[2].properties] == [("v", 1, 2)]
    assert d.outputs == [] and d.changed


def test_a_created_or_deleted_resources_properties_say_create_or_delete_not_update():
    from mldeploy.cli.diff_render import render_markdown, to_json
    base = Side("base", [_r("gone", {"v": 1})], {})
    head = Side("head", [_r("new", {"w": 1})], {})
    d = compare("dev", base, head)
    assert [(c.kind, [p.effect.kind for p in c.properties]) for c in d.changes] == [
        ("delete", ["delete"]), ("create", ["create"])]
    md = render_markdown(d)
    assert "| `v` | `1` | — | delete |" in md and "| `w` | — | `1` | create |" in md, md
    assert "update |" not in md, md
    assert [p["effect"] for r in to_json(d)["resources"] for p in r["properties"]] == ["delete", "create"]


def test_secure_values_are_read_per_key_path(tmp_path):
    from mldeploy.cli.diff_sides import secure_values
    stack = tmp_path / "Pulumi.s.yaml"
    stack.write_text("config:\n  mldeploy:services:\n    diabetes:\n      keys:\n"
                     "        primary:\n          secure: v1:abc\n        secondary:\n          secure: v1:def\n"
                     "  mldeploy:production: true\n")
    assert secure_values(stack) == {"mldeploy:services.diabetes.keys.primary": "v1:abc",
                                    "mldeploy:services.diabetes.keys.secondary": "v1:def"}


def test_file_assets_carry_their_content_digest_per_tree(tmp_path):
    from mldeploy.cli.diff_sides import with_asset_digests
    (tmp_path / "m.pkl").write_bytes(b"one")
    inputs = {"source": {"asset": "file", "path": "m.pkl"}, "other": {"archive": "file", "path": "gone"}}
    first = with_asset_digests(inputs, tmp_path)
    (tmp_path / "m.pkl").write_bytes(b"two")
    second = with_asset_digests(inputs, tmp_path)
    assert first["source"]["sha256"] != second["source"]["sha256"] and first["other"]["sha256"] == "(missing)"
    assert "sha256" not in inputs["source"], "the input is not modified in place"


def test_base_files_come_before_the_working_tree(tmp_path):
    from mldeploy.cli.diff_sides import copy_untracked_references
    base, given, work = (tmp_path / n for n in ("base", "given", "work"))
    (base / "stacks").mkdir(parents=True)
    stack = base / "stacks" / "Pulumi.s.yaml"
    stack.write_text("config:\n  mldeploy:models:\n    m:\n      path: out/m.pkl\n      other: out/o.pkl\n")
    for root, files in ((given, {"out/m.pkl": b"base"}), (work, {"out/m.pkl": b"head", "out/o.pkl": b"o"})):
        for rel, data in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
    copied = copy_untracked_references(stack, base, [given, work])
    assert copied == {"out/m.pkl": given, "out/o.pkl": work}
    assert (base / "out/m.pkl").read_bytes() == b"base"


@pytest.mark.parametrize("git_init, line", [
    (False, "{project} is not in a git repository: mldeploy diff compares the working tree with a commit; start one with "
            "`git init && git add -A && git commit -m 'first'`"),
    (True, "the git repository of {project} has no commit yet: mldeploy diff compares the working tree with one; commit the project first "
           "(`git add -A && git commit -m 'first'`)"),
])
def test_a_new_project_without_a_commit_is_told_how_to_start_one(tmp_path, git_init, line):
    """A new user's project straight from `mldeploy init` has no repository (or none committed):
    the error says so and how to start one, not that HEAD is not a commit."""
    project = tmp_path / "project"
    project.mkdir()
    assert subprocess.run([*MLDEPLOY, "init", "--target", "aci"], cwd=project, capture_output=True).returncode == 0
    if git_init:
        _git(project, "init", "-q")
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path)}  # no repository above the project counts
    run = subprocess.run([*MLDEPLOY, "diff", "--stack", "dev"], cwd=project, capture_output=True, text=True, env=env)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.strip().splitlines() == ["error: " + line.format(project=project)], run.stderr


def test_a_containers_environment_is_compared_by_variable_name():
    from mldeploy.cli.diffing import MISSING, diff_values

    def group(*env):
        return {"containers": [{"name": "scorer", "environmentVariables": [{"name": n, "value": v} for n, v in env]}]}

    before = group(("WORKER_COUNT", "1"), ("AML_APP_INSIGHTS_ENABLED", "true"))
    after = group(("WORKER_COUNT", "1"), ("LOG_LEVEL", "debug"), ("AML_APP_INSIGHTS_ENABLED", "false"))
    # One added in the middle and one changed: each named, nothing else moved (by index every later
    # entry read as changed).
    assert diff_values(before, after) == [
        ("containers[scorer].environmentVariables[AML_APP_INSIGHTS_ENABLED].value", "true", "false"),
        ("containers[scorer].environmentVariables[LOG_LEVEL].value", MISSING, "debug")]
    # A list that is not a container's environment keeps its indices.
    assert [p for p, _, _ in diff_values({"ports": [{"name": "a"}]}, {"ports": [{"name": "b"}]})] == ["ports[0].name"]


def test_containers_and_revisions_are_named_in_the_path():
    """hdiff's day 2 on the dev stack: a new image for the ACI service read `containers[0].image` -
    the gateway's or the scorer's? - and a Container Apps traffic shift `configuration.ingress.traffic[0].weight`.
    Containers are keyed by their name, as their environment is, a revision's traffic by its label."""
    def group(scorer_image):
        return {"containers": [{"name": "gateway", "image": "nginx@sha256:1"}, {"name": "scorer", "image": scorer_image}]}

    assert diff_values(group("r/diabetes:1"), group("r/diabetes-v2:1")) == [
        ("containers[scorer].image", "r/diabetes:1", "r/diabetes-v2:1")]
    # A Container App's split, by revision label (the stack file's `revisions.<label>`)
    def split(blue, green):
        return {"configuration": {"ingress": {"traffic": [{"label": "blue", "revisionName": "a--r1", "weight": blue},
                                                          {"label": "green", "revisionName": "a--r2", "weight": green}]}}}

    assert diff_values(split(90.0, 10.0), split(50.0, 50.0)) == [
        ("configuration.ingress.traffic[blue].weight", 90.0, 50.0),
        ("configuration.ingress.traffic[green].weight", 10.0, 50.0)]
    unlabelled = {"traffic": [{"latestRevision": True, "weight": 100.0}]}
    assert [p for p, _, _ in diff_values(unlabelled, {"traffic": [{"latestRevision": True, "weight": 50.0}]})] == [
        "traffic[0].weight"]

    def twins(image):  # names not unique: by index
        return {"spec": {"containers": [{"name": "scorer", "image": "a"}, {"name": "scorer", "image": image}]}}

    assert [p for p, _, _ in diff_values(twins("b"), twins("c"))] == ["spec.containers[1].image"]


def test_a_secure_environment_variable_shows_as_secret_in_the_diff(repo):
    from mldeploy.config.base import SecureValue
    stack = repo / "stacks" / "Pulumi.dev.yaml"
    ciphertext = "v1:ZGlmZi10ZXN0LWRiLXBhc3N3b3JkLWNpcGhlcnRleHQ="
    text = stack.read_text()
    changed = text.replace("  mldeploy:images:\n    diabetes:\n", "  mldeploy:images:\n    diabetes:\n      environmentVariables:\n"
                           f"        DB_PASSWORD:\n          secure: {ciphertext}\n", 1)
    assert changed != text, "could not find the diabetes image in stacks/Pulumi.dev.yaml"
    stack.write_text(changed)
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "secret env")
    try:
        run = _diff(repo, "--base", "HEAD~1")
    finally:
        _git(repo, "reset", "-q", "--hard", "HEAD~1")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "environmentVariables[DB_PASSWORD].secureValue" in run.stdout and "[secret]" in run.stdout, run.stdout
    for text in (SecureValue(ciphertext).placeholder(), ciphertext):
        assert text not in run.stdout + run.stderr, "the diff shows the secret"


def test_an_edge_modules_environment_is_compared_by_variable_name(tmp_path):
    """One variable of an IoT Edge module changed showed as the whole createOptions string changed
    (`…_MS=5000","WORKER_COUNT=1"],…` → `…=2"],…`), and a createOptions long enough to be split
    into chunks (createOptions, createOptions01, ...: render/edge_manifest.py) would show chunks. The
    diff reads them as the JSON they are, the environment by variable name, in the resource and the
    stack output alike."""
    from mldeploy.cli.diff_render import render_markdown
    from tests.harness import stack_values, synth

    values, secret_keys = stack_values("edge")
    env = values["mldeploy:edge"]["clinics"]["env"]
    env["LABELS"] = "x" * 600  # the options pass 512 characters: in chunks
    before = synth("edge", tmp_path / "before", values, secret_keys)
    env["WORKER_COUNT"] = str(int(env["WORKER_COUNT"]) + 1)
    after = synth("edge", tmp_path / "after", values, secret_keys)
    settings = "content.modulesContent.$edgeAgent.properties.desired.modules.diabetes.settings"
    assert '"createOptions01"' in json.dumps(before.resources), "the test needs chunked createOptions"

    d = compare("edge", Side("`main`", before.resources, before.outputs), Side("working tree", after.resources, after.outputs))
    (change,) = d.changes
    assert [(p.path, p.before, p.after, p.effect.kind) for p in change.properties if "createOptions" in p.path] == [
        (f"{settings}.createOptions.Env[WORKER_COUNT].value", "1", "2", "replace")], change.properties
    assert [p for p, _, _ in d.outputs if "createOptions" in p] == [
        "edge.clinics.manifest.modulesContent.$edgeAgent.properties.desired.modules.diabetes.settings.createOptions"
        ".Env[WORKER_COUNT].value"], d.outputs
    assert f"| `{settings}.createOptions.Env[WORKER_COUNT].value` | `1` | `2` |" in render_markdown(d)


def test_create_options_that_are_not_json_stay_one_value():
    # e.g. masked, or written by hand: compared as the text it is
    assert diff_values({"settings": {"createOptions": "[secret]"}}, {"settings": {"createOptions": "{not json"}}) == [
        ("settings.createOptions", "[secret]", "{not json")]
    chunked = {"settings": {"createOptions": '{"Env":["A=1"', "createOptions01": ',"B=2"]}'}}
    assert diff_values(chunked, {"settings": {"createOptions": '{"Env":["A=1","B=3"]}'}}) == [
        ("settings.createOptions.Env[B].value", "2", "3")]


def test_a_scikit_learn_pin_the_model_was_not_pickled_with_is_warned_and_its_fix_said(repo):
    """The model-library check synth and serve print (plan/model_libraries.py) reaches the review:
    the head pinning another scikit-learn than the model was pickled with is a new warning; a head
    that pins the model's again says the base's warning is gone."""
    env = repo / "examples" / "diabetes" / "myenv.yml"
    original = env.read_text()
    (pinned,) = re.findall(r"scikit-learn==([0-9.]+)", original)
    env.write_text(original.replace(f"scikit-learn=={pinned}", "scikit-learn==1.0.2"))
    warning = (f"examples/diabetes/myenv.yml pins scikit-learn==1.0.2, but model 'diabetes' ({MODEL.as_posix()}) "
               f"was pickled by scikit-learn {pinned}")
    try:
        new = json.loads(_diff(repo, "--base", "HEAD", "--json").stdout)
        md = _diff(repo, "--base", "HEAD").stdout
        _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "another scikit-learn")
        env.write_text(original)
        fixed = json.loads(_diff(repo, "--base", "HEAD", "--json").stdout)
        fixed_md = _diff(repo, "--base", "HEAD").stdout
    finally:
        env.write_text(original)
        if "another scikit-learn" in _git(repo, "log", "-1", "--format=%s"):
            _git(repo, "reset", "-q", "--hard", "HEAD~1")
    warned = [w["message"] for w in new["warnings"] if w["kind"] == "synth"]
    assert len(warned) == 1 and warning in warned[0], new["warnings"]
    assert warned[0].startswith("`mldeploy synth` warns (new since `HEAD` (")
    assert "stacks/Pulumi.dev.yaml: images.diabetes.condaFile: " in warned[0], warned
    assert new["warningsGone"] == [], new["warningsGone"]
    assert md.index("> [!WARNING]") < md.index(warning), md
    assert not [w for w in fixed["warnings"] if w["kind"] == "synth"], fixed["warnings"]
    assert len(fixed["warningsGone"]) == 1 and warning in fixed["warningsGone"][0], fixed["warningsGone"]
    assert "`mldeploy synth` no longer warns (it did at `HEAD` (" in fixed_md and warning in fixed_md, fixed_md


def test_an_attached_clusters_minimum_past_aks_support_is_warned(repo):
    """stack_warnings (plan/versions.py) by today's date reaches the review of prod-attach."""
    stack = repo / "stacks" / "Pulumi.prod-attach.yaml"
    original = stack.read_text()
    assert 'minKubernetesVersion: "1.35"' in original
    stack.write_text(original.replace('minKubernetesVersion: "1.35"', 'minKubernetesVersion: "1.27"'))
    try:
        run = subprocess.run([*MLDEPLOY, "diff", "--stack", "prod-attach", "--base", "HEAD", "--json"],
                             cwd=repo, capture_output=True, text=True)
    finally:
        stack.write_text(original)
    warned = [w["message"] for w in json.loads(run.stdout)["warnings"] if w["kind"] == "synth"]
    assert len(warned) == 1, warned
    assert ("stacks/Pulumi.prod-attach.yaml: mldeploy:clusters.shared.minKubernetesVersion: 1.27 accepts an attached "
            "cluster on a Kubernetes version AKS stopped supporting on 2025-03-31") in warned[0], warned
