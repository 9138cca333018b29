"""The policy pack over real synth output: every example stack passes, `mldeploy synth` writes
policy.json and refuses (exit 1, the policy's message) what the config lets through, and the
pack's entry point builds and serves."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mldeploy.synth.policy import evaluate
from tests.harness import ROOT, STACKS, synth

MLDEPLOY = [sys.executable, "-c", "from mldeploy.cli import main; main()"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_example_stack_passes_every_policy(stack, tmp_path):
    """No false positives: a valid stack trips no rule, advisory ones included (an advisory that
    fires on every valid stack teaches reviewers to ignore it)."""
    found = evaluate(synth(stack, tmp_path / "images"), ROOT)
    assert found == [], f"stack {stack} violates: " + "; ".join(f"{v.policy} ({v.enforcement}): {v.message}"
                                                               for v in found)


def test_synth_writes_policy_json(tmp_path):
    out = tmp_path / "out"
    run = subprocess.run([*MLDEPLOY, "synth", "--stack", "dev", "--out", str(out)], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    doc = json.loads((out / "policy.json").read_text())
    assert {p["name"] for p in doc["policies"]} >= {"aci-not-in-production", "aks-minimum-vcpus",
                                                     "production-auth-and-tls", "required-tags"}
    assert doc["mandatoryViolations"] == 0 and doc["violations"] == []


# -- what `mldeploy synth` refuses --------------------------------------------------------------

def _project(tmp_path: Path, stack: str, config: dict) -> Path:
    """A throwaway project: the example, the pack config and one stack file."""
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(ROOT / "examples" / "diabetes", root / "examples" / "diabetes")
    shutil.copytree(ROOT / "policies", root / "policies", ignore=shutil.ignore_patterns("__pycache__"))
    base = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())["config"]
    keep = ("azure-native:location", "mldeploy:models", "mldeploy:images", "mldeploy:tags")
    doc = {"config": {**{k: base[k] for k in keep if k in base}, **config}}
    doc["config"].setdefault("mldeploy:tags", {}).pop("environment", None)
    (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return root


def _synth(root: Path, stack: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MLDEPLOY, "synth", "--stack", stack, "--project-dir", str(root)],
                          cwd=root, capture_output=True, text=True)


def test_aci_in_production_is_refused_by_config_and_by_policy(tmp_path):
    service = {"web": {"target": "aci", "image": "diabetes"}}
    marked = _project(tmp_path / "a", "live", {"mldeploy:production": True, "mldeploy:services": service})
    run = _synth(marked, "live")
    assert run.returncode == 2 and "ACI is for dev/test only" in run.stderr, run.stderr
    # Not marked production in config, but named as a production stack in the pack's config.
    named = _project(tmp_path / "b", "prod", {"mldeploy:services": service})
    run = _synth(named, "prod")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "mandatory: policy aci-not-in-production: service 'web' (container group" in run.stderr, run.stderr
    assert "not for production workloads" in run.stderr


def _aks(service: dict, cluster: dict) -> dict:
    return {"mldeploy:clusters": {"scoring": cluster},
            "mldeploy:services": {"web": {"target": "aks", "image": "diabetes", "cluster": "scoring", **service}}}


def test_vcpus_per_node_cannot_over_claim_a_listed_size(tmp_path):
    # docs/aks.md: vcpusPerNode is for unlisted sizes only, so an over-claim never reaches the policy.
    config = _aks({}, {"vmSize": "Standard_D2_v2", "agentCount": 2, "vcpusPerNode": 8})
    run = _synth(_project(tmp_path, "dev2", config), "dev2")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "mldeploy:clusters.scoring: vcpusPerNode applies only to a VM size missing" in run.stderr, run.stderr


def test_small_cluster_config_is_refused_before_synth(tmp_path):
    run = _synth(_project(tmp_path, "dev2", _aks({}, {"vmSize": "Standard_D2_v2", "agentCount": 2})), "dev2")
    assert run.returncode == 2, run.stdout + run.stderr


def test_auth_off_in_production_is_refused_by_policy(tmp_path):
    config = {"mldeploy:production": True,
              **_aks({"authEnabled": False, "certManager": {"issuer": "letsencrypt"}, "autoscaleMinReplicas": 2,
                      "hostName": "web.example.com"},
                     {"vmSize": "Standard_D3_v2", "agentCount": 3})}
    run = _synth(_project(tmp_path, "live", config), "live")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "mandatory: policy production-auth-and-tls: service 'web' has authentication disabled in " \
           "production stack 'live'" in run.stderr, run.stderr


def test_a_stack_s_own_pack_config_replaces_the_project_s(tmp_path):
    """A public ACI service without keys in a dev stack: advisory by the project's config.json
    (exit 0), blocking for the one stack whose policies/config.<stack>.json says so (exit 1)."""
    config = {"mldeploy:services": {"web": {"target": "aci", "image": "diabetes", "authEnabled": False}}}
    root = _project(tmp_path, "demo", config)
    run = _synth(root, "demo")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "advisory: policy public-services-authenticated: service 'web'" in run.stderr, run.stderr
    (root / "policies" / "config.demo.json").write_text(
        '{"public-services-authenticated": {"enforcementLevel": "mandatory"}}')
    run = _synth(root, "demo")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "mandatory: policy public-services-authenticated: service 'web'" in run.stderr, run.stderr
    # policy.json lists each policy at the level the run applied
    (root / "policies" / "config.demo.json").write_text('{"public-services-authenticated": "disabled"}')
    run = _synth(root, "demo")
    assert run.returncode == 0 and "public-services-authenticated" not in run.stderr, run.stderr
    doc = json.loads((root / "build" / "synth" / "demo" / "policy.json").read_text())
    levels = {p["name"]: p["enforcementLevel"] for p in doc["policies"]}
    assert levels["public-services-authenticated"] == "disabled" and levels["required-tags"] == "mandatory", levels


@pytest.mark.parametrize("text, says", [('{"no-such-policy": {}}', "unknown policies ['no-such-policy']; known: ["),
                                        ('{"required-tags": ', "is not JSON (")])
def test_a_bad_pack_config_is_one_error_line(tmp_path, text, says):
    root = _project(tmp_path, "demo", {"mldeploy:services": {"web": {"target": "aci", "image": "diabetes"}}})
    (root / "policies" / "config.demo.json").write_text(text)
    run = _synth(root, "demo")
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert line.startswith("error: policies/config.demo.json: " + says), line


# -- the pack itself ---------------------------------------------------------------------------

def test_pack_entry_point_builds_the_pack_and_serves_on_loopback():
    # What the Pulumi CLI does: run the pack folder, read the analyzer's port from stdout.
    proc = subprocess.Popen([sys.executable, "."], cwd=ROOT / "policies", stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.isdigit() and int(line) > 0, f"expected a port, got {line!r}: {proc.stderr.read() if proc.poll() is not None else ''}"
    finally:
        proc.kill()
        proc.wait()
