"""The scoring environment's requirements and cache key, pure (no pip runs here)."""
from __future__ import annotations

import pytest

from mldeploy.runtime import env as scoring_env
from mldeploy.runtime.env import EnvError, env_digest, ensure_env, requirements

CONDA = """
name: project_environment
dependencies:
  - python=3.11
  - pip
  - scikit-learn=1.5
  - conda-forge::numpy>=1.26
  - pip:
      - joblib==1.4.2
"""


def test_conda_file_gives_its_pip_part_plus_translated_conda_packages_and_the_server():
    reqs = requirements("conda", CONDA, "azmlinfsrv")
    assert reqs == ["scikit-learn==1.5.*", "numpy>=1.26", "joblib==1.4.2",
                    "azureml-inference-server-http==1.5.1"]


def test_the_mldeploy_scoring_server_adds_granian_pinned():
    reqs = requirements("conda", CONDA, "mldeploy")
    assert reqs[-2:] == ["azureml-inference-server-http==1.5.1", "granian==2.8.7"], reqs


def test_a_granian_the_file_pins_exactly_is_kept_and_not_added_twice():
    reqs = requirements("pip", "numpy\ngranian==2.8.7\n", "mldeploy")
    assert [r for r in reqs if r.startswith("granian")] == ["granian==2.8.7"], reqs


def test_a_compatible_range_gets_the_tested_version_beside_it():
    reqs = requirements("pip", "numpy\ngranian>=2.8\n", "mldeploy")
    assert [r for r in reqs if r.startswith("granian")] == ["granian>=2.8", "granian==2.8.7"], reqs


def test_a_granian_pin_that_excludes_the_tested_version_is_an_env_error():
    with pytest.raises(EnvError, match=r"'granian==2.8.6' excludes granian 2.8.7"):
        requirements("pip", "numpy\ngranian==2.8.6\n", "mldeploy")


def test_requirements_file_keeps_its_lines_and_gets_the_tested_server():
    reqs = requirements("pip", "# comment\nazureml-defaults\n\nnumpy==2.0\n", "azmlinfsrv")
    assert reqs == ["azureml-defaults", "numpy==2.0", "azureml-inference-server-http==1.5.1"]


def test_invalid_conda_yaml_is_an_env_error():
    with pytest.raises(EnvError, match="not valid YAML"):
        requirements("conda", "dependencies: [unclosed")


def test_cache_key_follows_content_only():
    a = env_digest(requirements("conda", CONDA))
    assert a == env_digest(requirements("conda", CONDA + "\n# a comment\n"))
    assert a != env_digest(requirements("conda", CONDA.replace("1.4.2", "1.4.3")))


def test_a_complete_cached_env_is_reused_without_building(tmp_path, monkeypatch):
    monkeypatch.setenv(scoring_env.CACHE_ENV, str(tmp_path))
    digest = env_digest(requirements("pip", "numpy\n"))
    (tmp_path / digest).mkdir()
    (tmp_path / digest / scoring_env.COMPLETE_MARKER).write_text("numpy\n")
    monkeypatch.setattr(scoring_env, "_build", lambda *a: pytest.fail("must not rebuild a cached env"))
    assert ensure_env("pip", "numpy\n").path == tmp_path / digest


def test_an_interrupted_build_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv(scoring_env.CACHE_ENV, str(tmp_path))
    digest = env_digest(requirements("pip", "numpy\n"))
    (tmp_path / digest).mkdir()  # no marker: a build that died half-way
    built = []
    monkeypatch.setattr(scoring_env, "_build", lambda env, reqs, progress, *constraints: built.append(reqs) or env.path.mkdir())
    messages = []
    ensure_env("pip", "numpy\n", progress=messages.append)
    assert built and (tmp_path / digest / scoring_env.COMPLETE_MARKER).exists()
    assert any("building the scoring environment" in m for m in messages)
