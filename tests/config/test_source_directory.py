"""mldeploy/config/source_directory.py and images.<name>.sourceDirectory: the folder shipped beside
the entry script (v1 `source_directory`, v2 `code`), with entryScript relative to it; what may not
ship is refused at load with one line naming the file and the key."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mldeploy.config import ConfigError
from mldeploy.config.source_directory import source_files
from mldeploy.project import ProjectChoices, render_project
from mldeploy.targets.stack import load_stack

KEY = "mldeploy:images.clf.sourceDirectory"


def _project(root: Path, entry: str = "score.py", folder: str | None = "src") -> Path:
    """init's project with score.py moved into `folder` beside a helpers module it imports."""
    files = render_project(ProjectChoices(project="p", name="clf", model_path="models/model.pkl",
                                          model_file="model.pkl", features=4, targets=()))
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "models").mkdir(exist_ok=True)
    (root / "models/model.pkl").write_bytes(b"model")
    if folder is not None:
        (root / folder).mkdir()
        (root / "score.py").rename(root / folder / "score.py")
        (root / folder / "helpers.py").write_text("SCALE = 2\n")
        stack = root / "stacks/Pulumi.local.yaml"
        stack.write_text(stack.read_text().replace("      entryScript: score.py\n",
                                                   f"      sourceDirectory: {folder}\n      entryScript: {entry}\n"))
    return root


def _error(root: Path) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        load_stack(root, "local")
    return err.value


def test_entry_script_is_relative_to_the_source_directory_as_in_v1_and_v2(tmp_path):
    """v1: InferenceConfig(source_directory="./source_dir", entry_script="./echo_score.py")."""
    root = _project(tmp_path, entry="./score.py")
    image = load_stack(root, "local").images["clf"]
    assert (image.script_path, image.script_in_source) == ("src/score.py", "score.py")


def test_an_entry_script_in_a_subfolder_of_the_source_directory(tmp_path):
    root = _project(tmp_path)
    (root / "src/online").mkdir()
    (root / "src/score.py").rename(root / "src/online/score.py")
    stack = root / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text().replace("entryScript: score.py", "entryScript: online/score.py"))
    image = load_stack(root, "local").images["clf"]
    assert (image.script_path, image.script_in_source) == ("src/online/score.py", "online/score.py")


@pytest.mark.parametrize("entry, says", [
    ("../score.py", "entryScript '../score.py' must name a file inside sourceDirectory 'src', relative to it"),
    ("/abs/score.py", "must name a file inside sourceDirectory 'src'"),
    ("src/score.py", "entryScript is relative to sourceDirectory 'src' (v1's entry_script, v2's scoring_script): "
                     "write 'score.py', not 'src/score.py'"),
    ("scor.py", "file not found: src/scor.py (did you mean src/score.py?)"),
])
def test_an_entry_script_not_inside_the_folder_is_refused(tmp_path, entry, says):
    err = _error(_project(tmp_path, entry=entry))
    assert err.key == "mldeploy:images.clf.entryScript" and says in err.message, err.render()


def test_a_folder_of_the_entry_script_path_is_called_a_folder_in_its_error(tmp_path):
    """`on line/score.py`: the space is in a folder's name, not the file's."""
    root = _project(tmp_path)
    (root / "src/on line").mkdir()
    (root / "src/score.py").rename(root / "src/on line/score.py")
    stack = root / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text().replace("entryScript: score.py", "entryScript: on line/score.py"))
    err = _error(root)
    assert err.key == "mldeploy:images.clf.entryScript" and "the entry script's folder name 'on line'" in err.message, \
        err.render()


def test_a_missing_source_directory_is_refused_naming_the_key(tmp_path):
    root = _project(tmp_path)
    (root / "src").rename(root / "code")
    err = _error(root)
    assert err.key == KEY and "folder not found: src" in err.message, err.render()


def test_a_file_is_not_a_source_directory(tmp_path):
    root = _project(tmp_path)
    stack = root / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text().replace("sourceDirectory: src", "sourceDirectory: src/helpers.py"))
    err = _error(root)
    assert err.key == KEY and "src/helpers.py is a file" in err.message, err.render()


def test_the_project_root_is_refused(tmp_path):
    root = _project(tmp_path)
    stack = root / "stacks/Pulumi.local.yaml"
    stack.write_text(stack.read_text().replace("sourceDirectory: src", "sourceDirectory: ."))
    err = _error(root)
    assert err.key == KEY and "names the project root itself" in err.message, err.render()


@pytest.mark.parametrize("name", [".env", "deploy.pem", "tls.key", "credentials.json", "id_rsa"])
def test_a_file_of_secrets_is_refused_with_the_ignore_file_as_the_way_out(tmp_path, name):
    root = _project(tmp_path)
    (root / "src/conf").mkdir()
    (root / "src/conf" / name).write_text("SECRET=1\n")
    err = _error(root)
    assert err.key == KEY, err.render()
    assert f"src/conf/{name} looks like a file of secrets" in err.message, err.render()
    assert "leave it out with a line in src/.amlignore" in err.message, err.render()
    (root / "src/.amlignore").write_text(f"{name}\n")
    assert load_stack(root, "local").images["clf"].source_directory == "src"


def test_the_model_inside_the_folder_is_refused(tmp_path):
    root = _project(tmp_path)
    stack = root / "stacks/Pulumi.local.yaml"
    (root / "models/model.pkl").rename(root / "src/model.pkl")
    stack.write_text(stack.read_text().replace("path: models/model.pkl", "path: src/model.pkl"))
    err = _error(root)
    assert err.key == KEY and "src/model.pkl is a model file (models.*.path)" in err.message, err.render()


def test_amlignore_wins_over_gitignore_and_bytecode_and_git_never_ship(tmp_path):
    """azure-ai-ml get_ignore_file: ".amlignore takes precedence over .gitignore"."""
    root = _project(tmp_path)
    src = root / "src"
    (src / "data").mkdir()
    (src / "data/big.csv").write_text("1,2\n")
    (src / "notes.txt").write_text("x\n")
    (src / "__pycache__").mkdir()
    (src / "__pycache__/helpers.cpython-311.pyc").write_bytes(b"\0")
    (src / ".git").mkdir()
    (src / ".git/HEAD").write_text("ref\n")
    (src / ".gitignore").write_text("notes.txt\n")
    shipped = [rel for rel, _ in source_files("src", root)]
    assert shipped == [".gitignore", "data/big.csv", "helpers.py", "score.py"], shipped
    (src / ".amlignore").write_text("data/\n")
    shipped = [rel for rel, _ in source_files("src", root)]
    assert shipped == [".amlignore", ".gitignore", "helpers.py", "notes.txt", "score.py"], shipped


def test_a_link_out_of_the_folder_is_refused_and_one_inside_is_followed(tmp_path):
    root = _project(tmp_path)
    (root / "src/same.py").symlink_to("helpers.py")
    assert [rel for rel, _ in source_files("src", root)] == ["helpers.py", "same.py", "score.py"]
    (root / "shared.py").write_text("X = 1\n")
    (root / "src/shared.py").symlink_to(root / "shared.py")
    err = _error(root)
    assert err.key == KEY and "src/shared.py is a symbolic link that leads outside src" in err.message, err.render()


def test_more_files_than_azure_ml_takes_are_refused(tmp_path, monkeypatch):
    import mldeploy.config.source_directory as module

    root = _project(tmp_path)
    monkeypatch.setattr(module, "MAX_SOURCE_FILES", 1)
    err = _error(root)
    assert err.key == KEY and "src ships more than 1 files, Azure ML's limit for a code snapshot" in err.message, \
        err.render()


def test_synth_stops_with_one_error_line_and_exit_2(tmp_path):
    root = _project(tmp_path)
    (root / "src/.env").write_text("KEY=1\n")
    run = subprocess.run([sys.executable, "-m", "mldeploy", "synth", "--stack", "local"], cwd=root,
                         capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": ""})
    assert run.returncode == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert lines == [f"error: stacks/Pulumi.local.yaml: {KEY}: src/.env looks like a file of secrets (.env, *.pem, "
                     "*.key, credentials): the image and the code asset would carry it to whoever can pull them; "
                     "leave it out with a line in src/.amlignore (gitignore syntax)"], run.stderr


def test_a_link_to_a_folder_inside_ships_its_files_at_the_link_path(tmp_path):
    """azure-ai-ml's upload walks with followlinks=True and names a linked folder's files by the
    link's path; the build context holds them as regular files (never a link) at the same paths."""
    root = _project(tmp_path)
    (root / "src/vendor/tools").mkdir(parents=True)
    (root / "src/vendor/tools/__init__.py").write_text("")
    (root / "src/vendor/tools/scale.py").write_text("FACTOR = 3\n")
    (root / "src/tools").symlink_to("vendor/tools")
    (root / "src/notes").symlink_to(root / "src/vendor")  # absolute, still inside
    (root / "src/.amlignore").write_text("notes/\n")
    shipped = [rel for rel, _ in source_files("src", root)]
    assert shipped == [".amlignore", "helpers.py", "score.py", "tools/__init__.py", "tools/scale.py",
                       "vendor/tools/__init__.py", "vendor/tools/scale.py"], shipped
    image = load_stack(root, "local").images["clf"]
    assert image.source_directory == "src"

    from mldeploy.render.build_context import render_build_context

    ctx = render_build_context("clf", image, [], root)
    assert ctx.files["app/tools/scale.py"] == b"FACTOR = 3\n"
    ctx.write(tmp_path / "context")
    written = tmp_path / "context/app/tools"
    assert written.is_dir() and not written.is_symlink(), "the context holds the files, not the link"


def test_a_link_to_a_folder_outside_is_refused_naming_the_file_the_key_and_the_link(tmp_path):
    root = _project(tmp_path)
    (root / "shared").mkdir()
    (root / "shared/util.py").write_text("X = 1\n")
    (root / "src/util").symlink_to("../shared")
    err = _error(root)
    assert err.key == KEY, err.render()
    assert err.message.startswith("src/util is a symbolic link to a folder outside src (../shared): copy the folder "
                                  "into src, or leave it out with a line in src/.amlignore"), err.render()


@pytest.mark.parametrize("link, target, says", [
    ("pkg/up", "..", "src/pkg/up is a symbolic link to .., a folder that holds the link (src): a cycle"),
    ("pkg/again", ".", "src/pkg/again is a symbolic link to ., a folder that holds the link (src/pkg): a cycle"),
    ("pkg/deep/back", "../../lib", "src/pkg/deep/back is a symbolic link to ../../lib, a folder that holds the link "
                                   "(src/pkg): a cycle"),
    ("self", "self", "src/self is a symbolic link that leads back to itself (self): a loop of links"),
])
def test_a_cycle_of_links_is_one_error_naming_the_link_not_a_hang(tmp_path, link, target, says):
    root = _project(tmp_path)
    (root / "src/pkg/deep").mkdir(parents=True)
    (root / "src/pkg/deep/x.py").write_text("")
    (root / "src/lib").symlink_to("pkg")
    (root / "src" / link).symlink_to(target)
    err = _error(root)
    assert err.key == KEY and err.message.startswith(says), err.render()
    # The way out the message names: by its name (gitignore: a pattern without a slash matches at any
    # depth), as src/lib/ -> src/pkg/ reaches it at a second path.
    (root / "src/.amlignore").write_text(f"{link.rsplit('/', 1)[-1]}\n")
    assert load_stack(root, "local").images["clf"].source_directory == "src"


def test_a_link_to_a_file_of_secrets_is_refused_whatever_its_own_name(tmp_path):
    root = _project(tmp_path)
    (root / "src/.env").write_text("KEY=1\n")
    (root / "src/.amlignore").write_text(".env\n")
    (root / "src/settings.txt").symlink_to(".env")
    err = _error(root)
    assert err.key == KEY and "src/settings.txt looks like a file of secrets" in err.message, err.render()


def test_folders_reached_without_end_through_links_stop_at_the_limit(tmp_path, monkeypatch):
    """No cycle, but each folder linked twice from the one above: 2^depth paths."""
    import mldeploy.config.source_directory as module

    root = _project(tmp_path)
    for depth in range(12):
        (root / f"src/d{depth}").mkdir()
        if depth:
            (root / f"src/d{depth - 1}/a").symlink_to(f"../d{depth}")
            (root / f"src/d{depth - 1}/b").symlink_to(f"../d{depth}")
    monkeypatch.setattr(module, "MAX_SOURCE_FILES", 500)
    err = _error(root)
    assert err.key == KEY and err.message.startswith("src holds more than 500 folders"), err.render()


def test_synth_of_a_cycle_of_links_exits_2_naming_the_link(tmp_path):
    root = _project(tmp_path)
    (root / "src/pkg").mkdir()
    (root / "src/pkg/up").symlink_to("..")
    run = subprocess.run([sys.executable, "-m", "mldeploy", "synth", "--stack", "local"], cwd=root,
                         capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": ""})
    assert run.returncode == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(
        f"error: stacks/Pulumi.local.yaml: {KEY}: src/pkg/up is a symbolic link to .., a folder that holds the "
        "link (src): a cycle"), run.stderr


def test_one_synth_walks_each_source_directory_once(tmp_path, monkeypatch):
    """The load-time rule, the build context and the script warnings of `mldeploy synth` share one
    walk (walks_cached); each was a walk of its own, three of up to 2000 files per synth."""
    from click.testing import CliRunner

    import mldeploy.config.source_directory as module
    from mldeploy.cli.synth import command

    root = _project(tmp_path)
    (root / "src/lib").mkdir()
    (root / "src/lib/util.py").write_text("")
    walks = []
    real_walk = module._walk
    monkeypatch.setattr(module, "_walk", lambda value, at: walks.append(value) or real_walk(value, at))
    result = CliRunner().invoke(command, ["--stack", "local", "--project-dir", str(root),
                                          "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out/images/clf/app/lib/util.py").is_file()
    assert walks == ["src"], walks


def test_outside_a_synth_each_call_reads_the_folder_again(tmp_path):
    """No listing outlives the scope that walked it: the next synth or serve start sees a change."""
    from mldeploy.config.source_directory import walks_cached

    root = _project(tmp_path)
    before = [rel for rel, _ in source_files("src", root)]
    (root / "src/added.py").write_text("")
    assert [rel for rel, _ in source_files("src", root)] == sorted([*before, "added.py"])
    with walks_cached():
        listed = source_files("src", root)
        (root / "src/later.py").write_text("")
        assert source_files("src", root) == listed, "one listing while the scope lasts"
    assert "later.py" in [rel for rel, _ in source_files("src", root)]


def test_a_model_over_the_size_limit_inside_the_folder_is_named_as_a_model(tmp_path, monkeypatch):
    """The walk stops at a limit, but the models' check comes first: the error says what to move."""
    import mldeploy.config.source_directory as module

    root = _project(tmp_path)
    stack = root / "stacks/Pulumi.local.yaml"
    (root / "models/model.pkl").rename(root / "src/model.pkl")
    stack.write_text(stack.read_text().replace("path: models/model.pkl", "path: src/model.pkl"))
    monkeypatch.setattr(module, "MAX_SOURCE_BYTES", 12)  # helpers.py (10 bytes) fits, model.pkl (5) not
    err = _error(root)
    assert err.key == KEY and "src/model.pkl is a model file (models.*.path)" in err.message, err.render()


def test_left_out_is_the_walks_rule_file_by_file(tmp_path):
    """`serve --reload` drops a change to a file the walk leaves out (config/source_directory.py
    left_out): for every file of a folder, left out exactly when the walk does not ship it -
    folder patterns, negations (which cannot bring a file back from a left-out folder), bytecode."""
    from mldeploy.config.source_directory import ignore_spec, left_out

    root = _project(tmp_path)
    (root / "src/.amlignore").write_text("notebooks/\n*.csv\n!keep.csv\ndata/\n!data/x.py\n/top.txt\n")
    for rel in ("notebooks/a.ipynb", "a.csv", "keep.csv", "data/x.py", "pkg/m.py", "pkg/top.txt", "top.txt",
                "pkg/__pycache__/m.cpython-311.pyc", "deep/er/keep.csv", "deep/er/b.csv"):
        (root / "src" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "src" / rel).write_text("x")
    every = {p.relative_to(root / "src").as_posix() for p in (root / "src").rglob("*") if p.is_file()}
    shipped = {rel for rel, _ in source_files("src", root)}
    spec = ignore_spec(root / "src")[1]
    assert {rel for rel in every if not left_out(spec, rel)} == shipped, sorted(every)
