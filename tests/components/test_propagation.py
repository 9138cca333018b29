"""RolePropagation (issue 9 item 20): what needs a fresh role assignment waits for it to take effect."""
from __future__ import annotations


import pytest

from mldeploy.components.propagation import (INTERVAL_SECONDS, READS_IN_A_ROW, TIMEOUT_SECONDS, PropagationProvider,
                                    PropagationTimeout, wait_until_visible)
from mldeploy.azure.pipeline import ArmClient
from tests.azure.fake_arm import Answer, FakeArm, FakeCredential, RecordingTransport
from tests.harness import synth

WAIT = "pulumi-python:dynamic/azure:RolePropagation"
A = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Authorization/roleAssignments/aaaa"
B = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Authorization/roleAssignments/bbbb"
SEEN = Answer(200, {"id": A, "properties": {"principalId": "p"}})
NOT_YET = Answer(404, {"error": {"code": "RoleAssignmentNotFound"}})


def _by_name(result, suffix: str) -> dict:
    found = [r for r in result.resources if r["name"].endswith(suffix)]
    assert len(found) == 1, [r["name"] for r in found]
    return found[0]


class Clock:
    """Virtual time: sleep() advances it, so a 10-minute bound is tested in no time."""

    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def arm(tmp_path):
    fake = FakeArm(tmp_path)
    yield fake
    fake.close()


def client(arm):
    return ArmClient(FakeCredential(), base_url=arm.url, transport=RecordingTransport(arm.ca))


def test_waits_until_each_assignment_reads_back_five_times_in_a_row(arm):
    # A replicates late and flaps once (a 404 after a 200 starts its count again); B is there at once.
    arm.answer("GET", A, NOT_YET, NOT_YET, SEEN, NOT_YET, *[SEEN] * 5)
    arm.answer("GET", B, SEEN)
    clock, lines = Clock(), []
    took = wait_until_visible(client(arm), [A, B], sleep=clock.sleep, clock=lambda: clock.now, say=lines.append)
    assert len(arm.calls("GET", A)) == 2 + 1 + 1 + READS_IN_A_ROW, "404s reset the count, as terraform azurerm does"
    assert len(arm.calls("GET", B)) == READS_IN_A_ROW, "a visible assignment is not read again once confirmed"
    assert took == clock.now == 8 * INTERVAL_SECONDS < TIMEOUT_SECONDS, "no fixed 600 s sleep"
    assert lines[0].startswith("role assignments: 0/2 visible, waiting"), lines
    assert lines[-1].startswith("role assignments: 2/2 visible"), lines
    assert all(q == "api-version=2022-04-01" for q in {c.query for c in arm.seen})


def test_the_wait_is_bounded_and_says_which_assignment_and_key(arm):
    arm.answer("GET", A, NOT_YET)
    arm.answer("GET", B, SEEN)
    clock = Clock()
    with pytest.raises(PropagationTimeout, match=r"rolePropagationTimeoutSeconds.*roleAssignments/aaaa$"):
        wait_until_visible(client(arm), [A, B], timeout=60, sleep=clock.sleep, clock=lambda: clock.now,
                           say=lambda _: None)
    assert 60 <= clock.now < 60 + 2 * INTERVAL_SECONDS


def test_the_provider_waits_on_create_and_only_for_new_assignments_on_update():
    waited = []
    provider = PropagationProvider(client_factory=object, wait=lambda c, ids, timeout: waited.append((ids, timeout)))
    provider.create({"assignments": [A], "timeoutSeconds": 600})
    assert waited == [([A], 600.0)]
    olds, news = {"assignments": [A], "timeoutSeconds": 600}, {"assignments": [A, B], "timeoutSeconds": 600}
    assert provider.diff("id", olds, dict(olds)).changes is False
    diff = provider.diff("id", olds, news)
    assert diff.changes and diff.replaces == []
    provider.update("id", olds, news)
    assert waited[-1] == ([B], 600.0), "only the new assignment is polled"
    provider.update("id", news, {**news, "timeoutSeconds": 900})
    assert len(waited) == 2, "a new bound alone waits for nothing"


def test_the_bound_comes_from_the_stack(tmp_path):
    from tests.harness import stack_values

    values, keys = stack_values("dev")
    values["mldeploy:rolePropagationTimeoutSeconds"] = 300
    wait = _by_name(synth("dev", tmp_path, values, keys), "-acr-pull-propagation")
    assert wait["inputs"]["timeoutSeconds"] == 300
    assert _by_name(synth("dev", tmp_path / "default"), "-acr-pull-propagation")["inputs"]["timeoutSeconds"] == 600


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
