"""mldeploy/project/source.py: the requirements.txt line for each way pip can have installed mldeploy
(PEP 610 direct_url.json as pip writes it), so a project's `pulumi install` and CI get the same."""
from __future__ import annotations

import subprocess
import sys

import pytest

from mldeploy.project.source import source_from


def test_an_index_install_pins_the_version():
    src = source_from(None, "0.1.0")
    assert src.line == "mldeploy==0.1.0" and src.copy_from is None


def test_a_local_wheel_is_copied_into_vendor_and_named_relative(tmp_path):
    wheel = tmp_path / "dist" / "mldeploy-0.1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"PK")
    src = source_from({"url": wheel.as_uri(), "archive_info": {"hash": "sha256=00"}}, "0.1.0")
    assert src.line == "./vendor/mldeploy-0.1.0-py3-none-any.whl", src.line
    assert src.copy_from == wheel and src.vendored == "vendor/mldeploy-0.1.0-py3-none-any.whl"
    assert "commit it" in src.comment


def test_a_local_sdist_is_copied_too(tmp_path):
    sdist = tmp_path / "mldeploy-0.1.0.tar.gz"
    sdist.write_bytes(b"\x1f\x8b")
    src = source_from({"url": sdist.as_uri(), "archive_info": {}}, "0.1.0")
    assert src.line == "./vendor/mldeploy-0.1.0.tar.gz" and src.copy_from == sdist


def test_a_wheel_from_a_url_is_named_by_its_url():
    url = "https://example.org/releases/mldeploy-0.1.0-py3-none-any.whl"
    src = source_from({"url": url, "archive_info": {}}, "0.1.0")
    assert src.line == f"mldeploy @ {url}" and src.copy_from is None


def test_a_vcs_install_pins_the_commit():
    src = source_from({"url": "https://github.com/o/mldeploy", "vcs_info": {"vcs": "git", "commit_id": "abc123"},
                       "subdirectory": "py"}, "0.1.0")
    assert src.line == "mldeploy @ git+https://github.com/o/mldeploy@abc123#subdirectory=py"


def test_a_checkout_or_a_vanished_file_says_it_works_on_this_machine_only(tmp_path):
    for info in ({"url": tmp_path.as_uri(), "dir_info": {"editable": True}},
                 {"url": (tmp_path / "gone.whl").as_uri(), "archive_info": {}}):
        src = source_from(info, "0.1.0")
        assert src.line == f"mldeploy @ {info['url']}" and src.copy_from is None
        assert "this machine only" in src.comment


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["wheel", "checkout"])
def test_the_line_installs_with_pip_from_the_project_folder(tmp_path, kind):
    """The line as pip reads it from requirements.txt in the project folder (what `pulumi install`
    and the workflows run): resolved to a real mldeploy, without installing anything."""
    from tests.harness import ROOT

    project = tmp_path / "project"
    project.mkdir()
    if kind == "wheel":
        dist = tmp_path / "dist"
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, ROOT], check=True,
                       capture_output=True)
        (wheel,) = dist.glob("*.whl")
        src = source_from({"url": wheel.as_uri(), "archive_info": {}}, "0.1.0")
        (project / "vendor").mkdir()
        (project / src.vendored).write_bytes(wheel.read_bytes())
        line = src.line
    else:
        # As `mldeploy init` sees it, from the editable install of this checkout (a process outside
        # the checkout: under pytest the checkout's own egg-info, without direct_url.json, comes first).
        line = subprocess.run([sys.executable, "-c", "from mldeploy.project.source import installed_source as s; "
                               "print(s().line)"], cwd=tmp_path, check=True, capture_output=True,
                              text=True).stdout.strip()
        assert line.startswith("mldeploy @ file://"), line
    (project / "requirements.txt").write_text(line + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--ignore-installed", "--dry-run",
                           "--report", "-", "-q", "-r", "requirements.txt"], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"name": "mldeploy"' in done.stdout, done.stdout[-2000:]
