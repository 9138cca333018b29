"""A requirements file with its includes, read as pip reads it (mldeploy/config/requirements.py)."""
from __future__ import annotations

import pytest

from mldeploy.config.requirements import logical_lines, read_requirements


def _write(root, files: dict[str, str]):
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_includes_are_followed_relative_to_the_including_file_in_pips_order(tmp_path):
    _write(tmp_path, {"env/req.txt": "first\n-r ../common/base.txt  # shared\n--requirement=more.txt\nlast\n",
                      "common/base.txt": "-rnested/deep.txt\nbase\n", "common/nested/deep.txt": "deep\n",
                      "env/more.txt": "more\n"})
    tree = read_requirements("env/req.txt", tmp_path)
    assert tree.requirements == ("first", "deep", "base", "more", "last")
    assert [rel for rel, _ in tree.files] == ["env/req.txt", "common/base.txt", "common/nested/deep.txt", "env/more.txt"]
    assert tree.includes and tree.constraints == ()


def test_everything_under_a_constraints_file_is_a_constraint(tmp_path):
    # pip: a file included by `-c`, and every file it includes, is read as constraints.
    _write(tmp_path, {"req.txt": "numpy\n-c c.txt\n", "c.txt": "numpy<3\n-r c2.txt\n", "c2.txt": "scipy<2\n"})
    tree = read_requirements("req.txt", tmp_path)
    assert tree.requirements == ("numpy",) and tree.constraints == ("numpy<3", "scipy<2")


def test_a_file_included_twice_adds_its_lines_once(tmp_path):
    _write(tmp_path, {"req.txt": "-r a.txt\n-r b.txt\n", "a.txt": "-r shared.txt\na\n", "b.txt": "-r shared.txt\nb\n",
                      "shared.txt": "shared\n"})
    assert read_requirements("req.txt", tmp_path).requirements == ("shared", "a", "b")


def test_hashes_on_continued_lines_and_markers_stay_on_their_requirement():
    text = 'joblib==1.4.2 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\nnumpy; python_version >= "3.9"  # why\n# c \\\nx\n'
    assert logical_lines(text) == [(1, "joblib==1.4.2      --hash=sha256:aa      --hash=sha256:bb"),
                                   (4, 'numpy; python_version >= "3.9"'), (6, "x")]


@pytest.mark.parametrize("files, fragment", [
    ({"req.txt": "-r ../outside.txt\n"}, "req.txt: line 1: '-r ../outside.txt' includes a file outside the project root"),
    ({"req.txt": "-r sub/../../x.txt\n"}, "outside the project root"),
    ({"req.txt": "x\n\n-c /etc/hostname\n"}, "req.txt: line 3: '-c /etc/hostname' includes an absolute path"),
    ({"req.txt": "-r missing.txt\n"}, "includes missing.txt, which does not exist (pip resolves the path relative to req.txt)"),
    ({"req.txt": "-r a.txt\n", "a.txt": "-r req.txt\n"}, "a.txt: line 1: '-r req.txt' includes req.txt, which includes a.txt again"),
    ({"req.txt": "-r file:///etc/hostname\n"}, "not in the project"),
    ({"req.txt": "-r\n"}, "names no file"),
])
def test_includes_pip_could_not_follow_or_that_leave_the_project_are_refused(tmp_path, files, fragment):
    root = tmp_path / "project"
    root.mkdir()
    (tmp_path / "outside.txt").write_text("numpy\n")
    _write(root, files)
    with pytest.raises(ValueError, match=None) as err:
        read_requirements("req.txt", root)
    assert fragment in str(err.value)
