"""mldeploy as a package, not a checkout: the sdist and the wheel built from this tree, installed
into a fresh virtualenv outside the repository (no -e, no clone at run time), give a working
`mldeploy` for the user's path - init in an empty folder with a model of the test's own, serve it,
score the sample, synth every generated stack, run the policy pack - and add one import name,
`mldeploy`, to site-packages."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from mldeploy.plan.versions import BUILD_BACKEND
from mldeploy.runtime.client import score
from tests.harness import ROOT

pytestmark = pytest.mark.slow

# What a wheel must carry beyond Python modules: every template and asset a command reads.
PACKAGE_DATA = ("mldeploy/policies/PulumiPolicy.yaml", "mldeploy/policies/config.json", "mldeploy/policies/__main__.py",
                "mldeploy/components/aci.py", "mldeploy/scoring/scorer_host.py", "mldeploy/scoring/scoring_app.py",
                "mldeploy/runtime/containers.conf", "mldeploy/scoring/v1-shim/azureml/core/model.py",
                "mldeploy/project/templates/score.py.tmpl",
                "mldeploy/project/templates/workflows/pull-request.yml.tmpl",
                "mldeploy/project/templates/stacks/prod.yaml.tmpl")
SKIP = shutil.ignore_patterns(".git", ".venv", ".venv-tools", "build", "dist", ".mldeploy", "outputs", "__pycache__",
                              "*.egg-info", ".pytest_cache")


def _run(*args: str | Path, cwd: Path, timeout: float = 1800, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)
    assert done.returncode == 0, f"{' '.join(map(str, args))}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _user_env(venv: Path) -> dict[str, str]:
    """A shell of the user's: the venv's bin first, nothing of this repository or its venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}" + os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT)))
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """sdist and wheel built from a copy of this tree; the sdist installed into a fresh venv."""
    base = tmp_path_factory.mktemp("package")
    src = base / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=SKIP)
    venv = base / "venv"
    python = getattr(sys, "_base_executable", None) or sys.executable
    _run(python, "-m", "venv", venv, cwd=base)
    pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "--quiet"]
    # The sdist by the backend itself, at its pin (mldeploy/plan/versions.py BUILD_BACKEND); pip's own builds below
    # read the pin from pyproject.toml [build-system].
    _run(*pip, "install", *(f"{name}=={version}" for name, version in BUILD_BACKEND.items()), cwd=base)
    dist = base / "dist"
    _run(venv / "bin" / "python", "-c", f"from setuptools import build_meta as b; b.build_sdist({str(dist)!r})", cwd=src)
    _run(*pip, "wheel", "--no-deps", "-w", dist, src, cwd=base)
    (sdist,) = dist.glob("mldeploy-*.tar.gz")
    (wheel,) = dist.glob("mldeploy-*.whl")
    _run(*pip, "install", sdist, cwd=base)  # pip builds the installed wheel from the sdist
    return {"venv": venv, "sdist": sdist, "wheel": wheel, "base": base}


def test_the_wheel_holds_one_import_package_and_every_asset(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"mldeploy"}, f"the wheel adds import names besides mldeploy: {sorted(top - {'mldeploy'})}"
    missing = [f for f in PACKAGE_DATA if f not in names]
    assert not missing, f"the wheel lacks {missing}"
    wheel_info = zipfile.ZipFile(installed["wheel"]).read("mldeploy-0.1.0.dist-info/WHEEL").decode()
    assert f"Generator: setuptools ({BUILD_BACKEND['setuptools']})" in wheel_info, \
        f"pip built the wheel with another backend than pyproject.toml's pin:\n{wheel_info}"


def test_the_sdist_carries_the_linked_folders_as_files(installed):
    with tarfile.open(installed["sdist"]) as tar:
        members = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if "/" in m.name}
    for path in PACKAGE_DATA:
        assert path in members and members[path].isfile(), f"the sdist lacks {path} as a file"
    # Whoever builds the sdist (a project's `pulumi install` of vendor/mldeploy-*.tar.gz) builds with the pinned backend.
    import tomllib
    with tarfile.open(installed["sdist"]) as tar:
        build = tomllib.loads(tar.extractfile(members["pyproject.toml"]).read().decode())["build-system"]
    assert build["requires"] == [f"{name}=={version}" for name, version in BUILD_BACKEND.items()], build


def test_the_install_adds_only_mldeploy_to_site_packages(installed):
    venv = installed["venv"]
    (site,) = venv.glob("lib/python3.*/site-packages")
    (record,) = site.glob("mldeploy-*.dist-info/RECORD")
    top = {line.split(",")[0].split("/")[0] for line in record.read_text().splitlines()}
    top = {t for t in top if not t.endswith(".dist-info") and t != ".."}
    assert top == {"mldeploy"}, f"installed top-level names: {sorted(top)}"
    probe = ("import importlib.util as u, mldeploy; print(mldeploy.__file__); "
             "print(u.find_spec('components'), u.find_spec('policies'))")
    out = _run(venv / "bin" / "python", "-c", probe, cwd=installed["base"], env=_user_env(venv)).stdout.split("\n")
    assert out[0].startswith(str(site)), f"mldeploy imported from {out[0]}, not the fresh venv"
    assert out[1] == "None None", "components/policies are importable as top-level names"


def test_the_user_path_from_an_empty_folder(installed, tmp_path_factory):
    """install -> init with an own model -> serve local, score the sample -> synth every stack ->
    the policy pack builds, all from the fresh venv in a folder outside this repository."""
    venv = installed["venv"]
    env = _user_env(venv)
    mldeploy = venv / "bin" / "mldeploy"
    training = tmp_path_factory.mktemp("training")
    # The user's model, trained with this test's scikit-learn (the environment's pins).
    _run(sys.executable, "-c", "import joblib; from sklearn.datasets import load_iris; "
         "from sklearn.linear_model import LogisticRegression; x, y = load_iris(return_X_y=True); "
         "joblib.dump(LogisticRegression(max_iter=500).fit(x, y), 'iris.pkl')", cwd=training)
    project = tmp_path_factory.mktemp("home") / "iris-service"
    project.mkdir()
    assert not project.is_relative_to(ROOT)
    init = _run(mldeploy, "init", "--model", training / "iris.pkl", cwd=project, env=env)
    assert "mldeploy serve --stack local" in init.stdout
    # requirements.txt installs this same mldeploy wherever the project goes (pulumi install, CI):
    # the sdist it was installed from, copied into the project.
    requirements = (project / "requirements.txt").read_text()
    assert f"./vendor/{installed['sdist'].name}" in requirements.splitlines(), requirements
    assert (project / "vendor" / installed["sdist"].name).read_bytes() == installed["sdist"].read_bytes()
    _run(venv / "bin" / "python", "-m", "pip", "install", "--no-deps", "--ignore-installed", "--dry-run", "-q",
         "-r", "requirements.txt", cwd=project, env=env)

    proc = subprocess.Popen([str(mldeploy), "serve", "--stack", "local", "--port", "0", "--json"], cwd=project,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line, f"serve printed no endpoint: {proc.stderr.read()[-3000:] if proc.poll() is not None else ''}"
        endpoint = json.loads(line)
        reply = score(endpoint["scoringUri"], endpoint["primaryKey"], (project / "sample-request.json").read_bytes())
        assert reply.status == 200 and len(json.loads(reply.text())) == 2, reply.text()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
    assert code == 0, proc.stderr.read()[-2000:]

    for stack in ("local", "dev", "managed", "prod"):
        _run(mldeploy, "synth", "--stack", stack, cwd=project, env=env)
        policy = json.loads((project / "build" / "synth" / stack / "policy.json").read_text())
        assert policy["violations"] == [], (stack, policy["violations"])

    # What `pulumi preview --policy-pack policies` does: run the pack folder with the venv's
    # Python (PulumiPolicy.yaml: virtualenv ../.venv), read the analyzer's port.
    pack = subprocess.Popen([str(venv / "bin" / "python"), "."], cwd=project / "policies", env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = pack.stdout.readline().strip()
        assert port.isdigit(), f"the policy pack did not start: {pack.stderr.read() if pack.poll() is not None else ''}"
    finally:
        pack.kill()
        pack.wait()
