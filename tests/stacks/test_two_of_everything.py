"""Issue 9 item 1: two of every component in one stack synthesize with unique URNs, and synth
refuses a duplicate URN as the Pulumi engine does."""
from __future__ import annotations

import copy
import shutil
from collections import Counter

import pytest

from mldeploy.config import read_stack_file
from mldeploy.synth.run import DuplicateUrnError
from tests.harness import ROOT, synth

TWINS = ROOT / "tests" / "stacks" / "Pulumi.twins.yaml"


def twins_values():
    values, secret_keys = read_stack_file(TWINS)
    return copy.deepcopy(values), set(secret_keys)


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    values, secret_keys = twins_values()
    return synth("twins", tmp_path_factory.mktemp("twins"), values, secret_keys)


def test_two_of_everything_has_unique_urns(twins):
    counts = Counter(r["urn"] for r in twins.resources)
    duplicated = sorted(urn for urn, n in counts.items() if n > 1)
    assert duplicated == [], f"duplicate URNs: {duplicated}"


@pytest.mark.parametrize("type_token, expected", [
    ("mldeploy:local:LocalService", 2),
    ("mldeploy:aci:AciService", 2),
    ("mldeploy:aks:AksCluster", 2),
    ("mldeploy:aks:AksService", 4),  # two aks + two fpga (an FPGA service is an AKS service)
    ("mldeploy:fpga:FpgaNodePool", 2),
    ("mldeploy:batch:BatchScoring", 2),
    ("mldeploy:edge:IotEdgeDeployment", 2),
    ("azure-native:managedidentity:UserAssignedIdentity", 2),
    ("azure-native:containerservice:ManagedCluster", 2),
    ("azure-native:containerservice:AgentPool", 2),
    ("azure-native:machinelearningservices:Compute", 2),
    ("docker:index/network:Network", 2),
])
def test_two_of_everything_declares_both(twins, type_token, expected):
    found = [r["name"] for r in twins.of_type(type_token)]
    assert len(found) == expected, f"{type_token}: expected {expected}, found {found}"


def test_children_are_named_from_their_component(twins):
    identities = sorted(r["name"] for r in twins.of_type("azure-native:managedidentity:UserAssignedIdentity"))
    assert identities == ["aci-aci-a-identity", "aci-aci-b-identity"], identities


def test_renamed_children_keep_their_old_resources_with_an_alias():
    """Stacks created before the renaming keep their resources: the child aliases its old name."""
    import pulumi
    from mldeploy.components.children import child_opts

    class Parent(pulumi.ComponentResource):
        def __init__(self):  # not registered: only the options are under test
            pass

    opts = child_opts(Parent(), "identity")
    assert [a.name for a in opts.aliases] == ["identity"], "the old fixed name must be an alias"


def test_synth_refuses_a_duplicate_urn_like_the_engine(tmp_path, monkeypatch):
    """Force the old naming back (a fixed child name) and synth must fail, naming both parents."""
    import mldeploy.components.pull_identity as pull_identity  # names the ACI group's identity

    monkeypatch.setattr(pull_identity, "child_name", lambda component, role: role)
    values, secret_keys = twins_values()
    with pytest.raises(DuplicateUrnError) as err:
        synth("twins", tmp_path / "images", values, secret_keys)
    text = str(err.value)
    assert "AciService$azure-native:managedidentity:UserAssignedIdentity::identity" in text, text
    assert "::aci-aci-a" in text and "::aci-aci-b" in text, f"both declarations must be named: {text}"


def test_synth_command_exits_1_on_a_duplicate_urn(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import mldeploy.components.pull_identity as pull_identity  # names the ACI group's identity
    from mldeploy.cli import cli

    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    (project / "stacks" / "Pulumi.twins.yaml").write_text(TWINS.read_text())
    (project / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    shutil.copytree(ROOT / "examples", project / "examples")
    monkeypatch.setattr(pull_identity, "child_name", lambda component, role: role)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["synth", "--stack", "twins", "--out", str(out), "--project-dir", str(project)])
    assert result.exit_code == 1, result.output
    assert "duplicate resource URN" in result.output and "Traceback" not in result.output, result.output
    assert not out.exists(), "a refused synth must leave no output folder"
