"""`mldeploy synth` as a user runs it: files written, summary printed, errors without traceback."""
from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import ROOT


def mldeploy(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mldeploy", *args], cwd=cwd, capture_output=True, text=True)


def project_copy(tmp_path: Path, edits: dict[str, tuple[str, str]]) -> Path:
    """A copy of this repository's project with `edits` (file -> (old, new)) made; its folder."""
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(".venv*", ".git", "build", ".mldeploy", "node_modules"))
    for name, (old, new) in edits.items():
        path = project / name
        assert old in path.read_text(), f"{name} no longer holds {old!r}"
        path.write_text(path.read_text().replace(old, new))
    return project


@pytest.fixture(scope="module")
def dev_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "dev"
    proc = mldeploy("synth", "--stack", "dev", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_writes_resources_and_build_contexts(dev_out):
    out, proc = dev_out
    resources = json.loads((out / "resources.json").read_text())
    types = {r["type"] for r in resources}
    for expected in ("azure-native:machinelearningservices:Workspace", "azure-native:storage:Blob",
                     "azure-native:machinelearningservices:ModelContainer",
                     "azure-native:machinelearningservices:ModelVersion",
                     "azure-native:containerregistry:Registry", "docker:index/image:Image"):
        assert expected in types, f"resources.json lacks {expected}"
    for r in resources:
        keys = {"urn", "type", "name", "parent", "inputs", "dependsOn"}
        assert keys <= set(r) <= keys | {"options"}, f"unexpected shape of {r['urn']}"
        assert r.get("options", True), f"{r['urn']}: an empty options block is written (only what the program sets)"
    assert (out / "images" / "diabetes" / "Dockerfile").is_file()
    assert "resources in all" in proc.stdout and "docker:index/image:Image" in proc.stdout


def test_two_runs_are_byte_identical(dev_out, tmp_path):
    out, _ = dev_out
    again = tmp_path / "first"
    shutil.copytree(out, again)
    assert mldeploy("synth", "--stack", "dev", "--out", str(out)).returncode == 0
    cmp = filecmp.dircmp(out, again)

    def differences(c):
        found = list(c.diff_files) + list(c.left_only) + list(c.right_only)
        for sub in c.subdirs.values():
            found += differences(sub)
        return found

    assert differences(cmp) == []
    for path in out.rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (again / path.relative_to(out)).read_bytes(), path


def test_config_error_exits_2_with_one_line_and_creates_nothing(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", project)
    (project / "stacks").mkdir()
    (project / "stacks" / "Pulumi.bad.yaml").write_text(
        "config:\n  azure-native:location: westeurope\n  mldeploy:models:\n    m1:\n      path: missing.pkl\n"
    )
    out = tmp_path / "out"
    proc = mldeploy("synth", "--stack", "bad", "--out", str(out), cwd=project)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: stacks/Pulumi.bad.yaml: mldeploy:models.m1.path: file or folder not found")
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert not out.exists(), "a failed synth must not create its output folder"


def test_invalid_yaml_names_the_line(tmp_path):
    project = tmp_path / "p"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", project)
    (project / "stacks" / "Pulumi.x.yaml").write_text("config:\n  mldeploy:models: [1, 2\n")
    proc = mldeploy("synth", "--stack", "x", cwd=project)
    assert proc.returncode == 2 and "invalid YAML" in proc.stderr and "line " in proc.stderr


def test_unknown_stack_is_a_clear_error():
    proc = mldeploy("synth", "--stack", "no-such-stack")
    assert proc.returncode == 2
    assert "stacks/Pulumi.no-such-stack.yaml" in proc.stderr and "not found" in proc.stderr


def test_refuses_to_wipe_a_foreign_folder(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    proc = mldeploy("synth", "--stack", "dev", "--out", str(tmp_path))
    assert proc.returncode != 0 and (tmp_path / "precious.txt").exists()


def test_a_synth_failing_half_way_leaves_nothing_and_the_next_run_works(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import mldeploy.synth.run as run
    from mldeploy.cli import cli
    from mldeploy.config import ConfigError

    real = run.synthesize

    def failing(root, stack, build_dir, **kw):
        (build_dir / "diabetes").mkdir(parents=True)  # like a program that wrote contexts, then failed
        raise ConfigError("mldeploy:services.x.namespace", "clash", "stacks/Pulumi.dev.yaml")

    out = tmp_path / "dev"
    monkeypatch.setattr(run, "synthesize", failing)
    result = CliRunner().invoke(cli, ["synth", "--stack", "dev", "--out", str(out), "--project-dir", str(ROOT)])
    assert isinstance(result.exception, ConfigError)
    assert not out.exists(), "a failed synth left a half-written folder"
    monkeypatch.setattr(run, "synthesize", real)
    assert mldeploy("synth", "--stack", "dev", "--out", str(out)).returncode == 0


def test_synth_of_a_managed_endpoint_prints_the_quota_preflight(tmp_path):
    proc = mldeploy("synth", "--stack", "managed", "--out", str(tmp_path / "managed"))
    assert proc.returncode == 0, proc.stderr
    assert "standardFSv2Family: 36 cores of 48 (endpointQuota)" in proc.stdout, proc.stdout
    assert "diabetes/blue: ceil(1.2 × 6) = 8 × 4 cores (Standard_F4s_v2) = 32" in proc.stdout, proc.stdout


def test_synth_refuses_a_stack_over_its_quota_with_exit_2(tmp_path):
    project = project_copy(tmp_path, {"stacks/Pulumi.managed.yaml": ("standardFSv2Family: 48", "standardFSv2Family: 30")})
    proc = mldeploy("synth", "--stack", "managed", "--out", str(tmp_path / "out"), cwd=project)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().startswith("error: stacks/Pulumi.managed.yaml: mldeploy:endpointQuota.standardFSv2Family:"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists(), "a refused stack leaves no output folder"


def test_resources_json_does_not_depend_on_the_output_folder(tmp_path):
    """Issue 9 item 26: two synths of one stack into two folders record the same resources."""
    first, second = tmp_path / "a" / "dev", tmp_path / "elsewhere" / "deeper" / "dev"
    for out in (first, second):
        proc = mldeploy("synth", "--stack", "dev", "--out", str(out))
        assert proc.returncode == 0, proc.stderr
    for name in ("resources.json", "outputs.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), f"{name} differs between --out folders"
    assert filecmp.cmp(first / "images" / "diabetes" / "Dockerfile", second / "images" / "diabetes" / "Dockerfile",
                       shallow=False), "the build context is copied into each output folder"


def test_a_synth_failing_after_parsing_keeps_the_previous_output(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import mldeploy.synth.run as run
    from mldeploy.cli import cli
    from mldeploy.config import ConfigError

    out = tmp_path / "dev"
    out.mkdir()
    (out / ".mldeploy-synth").write_text("previous run\n")
    (out / "resources.json").write_text('["previous good output"]\n')

    def failing(root, stack, build_dir, **kw):
        (build_dir / "diabetes").mkdir(parents=True)  # wrote into the new output, then failed
        raise ConfigError("mldeploy:services.x.namespace", "clash", "stacks/Pulumi.dev.yaml")

    monkeypatch.setattr(run, "synthesize", failing)
    result = CliRunner().invoke(cli, ["synth", "--stack", "dev", "--out", str(out), "--project-dir", str(ROOT)])
    assert isinstance(result.exception, ConfigError)
    assert sorted(p.name for p in out.iterdir()) == [".mldeploy-synth", "resources.json"], \
        f"the previous output must be back as it was: {sorted(p.name for p in out.iterdir())}"
    assert (out / "resources.json").read_text() == '["previous good output"]\n'
    assert not (tmp_path / ".dev.previous").exists(), "the set-aside copy must not linger"


def test_a_secret_setting_given_in_clear_is_masked_or_reported_as_a_leak(tmp_path):
    from mldeploy.config.base import Secret
    from tests.harness import stack_values, synth

    # What a Pulumi config without its stack file can hand over: key values as plain strings,
    # trusted because their whole top-level key is secret. synth must still not print them.
    values, secret_keys = stack_values("dev")
    name = next(iter(values["mldeploy:services"]))
    primary, secondary = "clear-primary-key-0123456789", "clear-secondary-key-0123456789"
    values["mldeploy:services"][name]["keys"] = {"primary": Secret(primary), "secondary": Secret(secondary)}
    result = synth("dev", tmp_path, values, secret_keys | {"mldeploy:services"})
    text = json.dumps([result.resources, result.outputs])
    for key in (primary, secondary):
        assert key not in text, f"service {name}: a key given in clear appears unmasked in resources/outputs"


def test_synth_reads_and_parses_the_stack_file_once(tmp_path, monkeypatch):
    # cli/synth.py validates before writing anything; synth/run.py and the program run on those
    # settings (`pulumi up`, with no synth around it, parses in the program instead).
    import mldeploy.config.load as load
    from mldeploy.cli import main

    reads, parses = [], []
    read, parse = load.read_stack_file, load.parse_settings
    monkeypatch.setattr(load, "read_stack_file", lambda *a, **k: reads.append(a[0]) or read(*a, **k))
    monkeypatch.setattr(load, "parse_settings", lambda *a, **k: parses.append(a[0]) or parse(*a, **k))
    monkeypatch.setattr(sys, "argv", ["mldeploy", "synth", "--stack", "local", "--project-dir", str(ROOT),
                                      "--out", str(tmp_path / "out")])
    main()
    assert (tmp_path / "out" / "resources.json").is_file(), "synth of stacks/Pulumi.local.yaml must succeed"
    assert len(reads) == 1, f"stacks/Pulumi.local.yaml read {len(reads)} times: {reads}"
    assert parses == ["local"], f"stack 'local' parsed {len(parses)} times"


def test_synth_notes_a_conda_file_that_leaves_python_and_pip_to_the_solver(dev_out, tmp_path):
    """The user's file is not rewritten: synth says what a rebuild later may change, and what to pin."""
    assert "to conda's solver" not in dev_out[1].stderr, "the examples pin python and pip exactly"
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(".venv*", ".git", "build", ".mldeploy", "node_modules"))
    env = project / "examples" / "diabetes" / "myenv.yml"
    env.write_text(env.read_text().replace("python==3.11.15", "python=3.11").replace("pip==26.0.1", "pip"))
    before = env.read_bytes()
    proc = mldeploy("synth", "--stack", "dev", "--out", str(tmp_path / "out"), cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert ("note: stacks/Pulumi.dev.yaml: images.diabetes.condaFile: examples/diabetes/myenv.yml leaves "
            "`python=3.11` and `pip` to conda's solver") in proc.stderr, proc.stderr
    assert env.read_bytes() == before
    context = tmp_path / "out" / "images" / "diabetes" / "environment" / "conda.yml"
    assert context.read_bytes() == before, "the image builds the user's file as written"


def test_a_warning_the_program_logs_is_printed_once_naming_the_stack_file(tmp_path):
    """The program logs its warnings through pulumi.log.warn (what `pulumi up` shows); synth prints
    them itself with the stack file's name. Before, the SDK's mock engine printed each a second
    time, bare, through Python's last-resort log handler."""
    project = project_copy(tmp_path, {"stacks/Pulumi.prod-attach.yaml": ('minKubernetesVersion: "1.35"',
                                                                         'minKubernetesVersion: "1.27"')})
    proc = mldeploy("synth", "--stack", "prod-attach", "--out", str(tmp_path / "out"), cwd=project)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "minKubernetesVersion: 1.27 accepts" in line]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("warning: stacks/Pulumi.prod-attach.yaml: mldeploy:clusters.shared."), lines


def test_what_only_the_program_logs_reaches_synth_s_result(tmp_path, monkeypatch):
    import pulumi

    from mldeploy.targets.aks import program as aks_program
    from tests.harness import synth

    real = aks_program.check_version

    def check_version(*args, **kwargs):  # what the program says of what Azure reports: no config of its own
        pulumi.log.warn("mldeploy:clusters.shared.attach: a note only the program logs")
        return real(*args, **kwargs)

    monkeypatch.setattr(aks_program, "check_version", check_version)
    result = synth("prod-attach", tmp_path / "out")
    assert ("warning", "mldeploy:clusters.shared.attach: a note only the program logs") in result.engine_log
