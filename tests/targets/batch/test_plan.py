"""targets/batch/plan.py: names, versions and settings of one batch entry (pure, no mocks)."""
from __future__ import annotations

import yaml

from mldeploy.plan.batch import compute_name
from mldeploy.targets.batch.config import BatchSettings
from mldeploy.targets.batch.plan import conda_text, plan_batch


def _settings(tmp_path, **extra) -> BatchSettings:
    # azureml-core: Azure ML's batch executor needs it (a batch conda file without it is refused).
    (tmp_path / "env.yml").write_text("name: e\ndependencies:\n  - python=3.11\n  - pip:\n    - azureml-core\n")
    (tmp_path / "s.py").write_text("def init():\n    pass\n\n\ndef run(b):\n    return b\n")
    return BatchSettings.model_validate({"model": "m", "entryScript": "s.py", "condaFile": "env.yml", **extra},
                                        context={"root": str(tmp_path)})


def test_compute_names_fit_the_16_character_limit():
    long = compute_name("a-very-long-batch-entry-name")
    assert len(long) <= 16 and long[0].isalpha(), f"compute name {long!r}: 2-16 characters, a letter first"


def test_a_short_compute_name_is_kept():
    assert compute_name("nightly") == "nightly", "an entry name that fits is the compute name as is"


def test_two_long_entries_get_different_compute_names():
    assert compute_name("a-very-long-batch-entry-name") != compute_name("a-very-long-batch-entry-other")


def test_requirements_file_becomes_a_conda_file_with_azureml_core(tmp_path):
    (tmp_path / "req.txt").write_text("# deps\nscikit-learn==1.9.1\n\njoblib\n")
    (tmp_path / "s.py").write_text("def init():\n    pass\n\n\ndef run(b):\n    return b\n")
    settings = BatchSettings.model_validate(
        {"model": "m", "entryScript": "s.py", "requirementsFile": "req.txt"}, context={"root": str(tmp_path)})
    conda = yaml.safe_load(conda_text(settings, tmp_path))
    # The exact python and pip of the dated table for pythonVersion 3.11 (plan/versions.py CONDA_PYTHONS).
    assert conda["dependencies"][:2] == ["python==3.11.15", "pip==26.0.1"]
    assert conda["dependencies"][2]["pip"] == ["scikit-learn==1.9.1", "joblib", "azureml-core==1.61.0.post4"]


def test_the_plan_carries_the_cluster_settings(tmp_path):
    plan = plan_batch("dev", "rg", "nightly", _settings(tmp_path, vmPriority="lowPriority", maxNodes=6), tmp_path)
    assert (plan.vm_priority, plan.min_nodes, plan.max_nodes) == ("lowPriority", 0, 6), \
        "batch.nightly: vmPriority, minNodes and maxNodes reach the plan"


def test_the_plan_carries_the_job_settings(tmp_path):
    plan = plan_batch("dev", "rg", "nightly", _settings(tmp_path, miniBatchSize=3, timeoutSeconds=60), tmp_path)
    assert (plan.mini_batch_size, plan.timeout) == (3, "PT60S"), \
        "batch.nightly: miniBatchSize and timeoutSeconds (as ISO 8601) reach the plan"


def test_the_plan_carries_the_description(tmp_path):
    plan = plan_batch("dev", "rg", "nightly", _settings(tmp_path, description="nightly scores"), tmp_path)
    assert plan.description == "nightly scores", "batch.nightly.description reaches the plan"


def test_a_changed_conda_file_is_a_new_environment_version(tmp_path):
    before = plan_batch("dev", "rg", "nightly", _settings(tmp_path), tmp_path).assets.environment_version
    (tmp_path / "env.yml").write_text("name: e\ndependencies:\n  - python=3.12\n  - pip:\n    - azureml-core\n")
    after = plan_batch("dev", "rg", "nightly", BatchSettings.model_validate(
        {"model": "m", "entryScript": "s.py", "condaFile": "env.yml"}, context={"root": str(tmp_path)}),
        tmp_path).assets.environment_version
    assert before != after, "batch.nightly.condaFile changed: Azure ML versions are immutable, so a new version"


def test_a_requirements_file_with_includes_gets_them_inlined_into_the_conda_file(tmp_path):
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "req.txt").write_text("-r ../base.txt\nextra==1\n")
    (tmp_path / "base.txt").write_text('numpy==2.4.6; python_version >= "3.9"\n')
    settings = _settings(tmp_path, condaFile=None, requirementsFile="env/req.txt")
    pip = yaml.safe_load(conda_text(settings, tmp_path))["dependencies"][-1]["pip"]
    assert pip == ['numpy==2.4.6; python_version >= "3.9"', "extra==1", "azureml-core==1.61.0.post4"], \
        "Azure ML gets one conda file: base.txt's lines in place of the -r line"


def test_the_code_asset_is_the_source_directory_and_its_version_follows_every_file(tmp_path):
    """batch.<name>.sourceDirectory: v2's CodeConfiguration(code=<folder>, scoring_script=<path in it>)."""
    (tmp_path / "env.yml").write_text("name: e\ndependencies:\n  - python=3.11\n  - pip:\n    - azureml-core\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src/driver.py").write_text("import rows\n\n\ndef init():\n    pass\n\n\ndef run(b):\n    return b\n")
    (tmp_path / "src/rows.py").write_text("N = 10\n")

    def plan():
        settings = BatchSettings.model_validate({"model": "m", "sourceDirectory": "src", "entryScript": "driver.py",
                                                 "condaFile": "env.yml"}, context={"root": str(tmp_path)})
        return plan_batch("dev", "rg", "nightly", settings, tmp_path).assets

    first = plan()
    assert [rel for rel, _ in first.code_files] == ["driver.py", "rows.py"] and first.scoring_script == "driver.py"
    assert plan().code_version == first.code_version, "nothing changed: the same code version"
    (tmp_path / "src/rows.py").write_text("N = 11\n")
    assert plan().code_version != first.code_version, "rows.py changed: a new code version"


def test_the_batch_example_pins_the_executor_package_as_the_table_does():
    """What mldeploy adds (plan/versions.py BATCH_EXECUTOR_PIN) is what the example's own file says."""
    from mldeploy.plan.versions import BATCH_EXECUTOR_PIN
    from tests.harness import ROOT
    doc = yaml.safe_load((ROOT / "examples" / "diabetes" / "batch-env.yml").read_text())
    assert BATCH_EXECUTOR_PIN in next(d["pip"] for d in doc["dependencies"] if isinstance(d, dict))
