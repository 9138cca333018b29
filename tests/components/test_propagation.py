"""RolePropagation (issue 9 item 20): what needs a fresh role assignment waits for it to take effect."""
from __future__ import annotations


from components.propagation import PROPAGATION_SECONDS, SleepProvider
from tests.harness import synth

WAIT = "pulumi-python:dynamic/azure:RolePropagation"


def _by_name(result, suffix: str) -> dict:
    found = [r for r in result.resources if r["name"].endswith(suffix)]
    assert len(found) == 1, [r["name"] for r in found]
    return found[0]


def test_the_wait_sleeps_the_documented_bound_once_on_create():
    slept = []
    provider = SleepProvider(sleep=slept.append)
    provider.create({"assignments": ["/ra/1"], "seconds": PROPAGATION_SECONDS})
    assert slept == [600], "RBAC docs: up to 10 minutes"
    assert provider.diff("id", {"assignments": ["/ra/1"], "seconds": 600},
                         {"assignments": ["/ra/1"], "seconds": 600}).changes is False
    assert provider.diff("id", {"assignments": ["/ra/1"], "seconds": 600},
                         {"assignments": ["/ra/2"], "seconds": 600}).replaces == ["assignments"]


def test_the_aci_group_waits_for_its_acr_pull_to_take_effect(tmp_path):
    result = synth("dev", tmp_path)
    wait = _by_name(result, "-acr-pull-propagation")
    pull = _by_name(result, "-acr-pull")
    group = _by_name(result, "-aci-group")
    assert pull["urn"] in wait["dependsOn"], "the wait starts after the AcrPull assignment"
    assert wait["urn"] in group["dependsOn"], "the container group is created only after the wait"


def test_the_kubernetes_provider_waits_for_the_cluster_roles(tmp_path):
    result = synth("prod", tmp_path)
    wait = _by_name(result, "-role-propagation")
    for role in ("-deployer-cluster-admin", "-kubelet-acr-pull"):
        assert _by_name(result, role)["urn"] in wait["dependsOn"], role
    provider = result.one("pulumi:providers:kubernetes")
    assert wait["urn"] in provider["dependsOn"], "no Kubernetes object before the roles took effect"
