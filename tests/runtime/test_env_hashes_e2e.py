"""A requirements file in pip's hash-checking mode (`--hash` on its lines, as `pip-compile
--generate-hashes` writes it) builds the local scoring environment, as the image's two
`RUN pip install` lines do: the scorer's pins, which carry no hash, go in a second pip run."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from mldeploy.runtime import env as scoring_env
from mldeploy.runtime.env import ensure_env

pytestmark = pytest.mark.slow
PACKAGE = "six==1.17.0"  # pure Python, no dependencies: hash-checking mode needs every line hashed


def test_a_hashed_requirements_file_builds_the_scoring_environment(tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps",
                    "--only-binary=:all:", "-d", str(wheels), PACKAGE], check=True, capture_output=True)
    (wheel,) = wheels.glob("*.whl")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    monkeypatch.setenv(scoring_env.CACHE_ENV, str(tmp_path / "envs"))
    env = ensure_env("pip", f"{PACKAGE} \\\n    --hash=sha256:{digest}\n", progress=lambda _: None)
    listed = subprocess.run([str(env.python), "-m", "pip", "list", "--format=freeze"], check=True,
                            capture_output=True, text=True).stdout.lower()
    assert "six==1.17.0" in listed and "azureml-inference-server-http==1.5.1" in listed
    assert "granian==" in listed  # the default scoring server's pin, from the second run


def test_a_wrong_hash_is_pips_own_error_and_leaves_no_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(scoring_env.CACHE_ENV, str(tmp_path / "envs"))
    with pytest.raises(scoring_env.EnvError, match="pip could not install the scoring environment"):
        ensure_env("pip", f"{PACKAGE} --hash=sha256:{'0' * 64}\n", progress=lambda _: None)
    assert not [p for p in (tmp_path / "envs").iterdir() if p.is_dir()]
