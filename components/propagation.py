"""RolePropagation: wait, declaratively, until new role assignments are visible everywhere ARM reads.

"When you assign roles or remove role assignments, it can take up to 10 minutes for changes to take
effect" (learn.microsoft.com/azure/role-based-access-control/troubleshooting, "Symptom - Role
assignment changes are not being detected"): an ACI group pulling with a fresh AcrPull, or the
first Namespace after a fresh "AKS RBAC Cluster Admin", can get 401/403 in that window. Ten
minutes is the symptom's upper bound, not a wait every run must pay. So this waits the way
Terraform's azurerm provider does after creating an assignment
(hashicorp/terraform-provider-azurerm internal/services/authorization/role_assignment_resource.go,
`retryRoleAssignmentsClient`: `custompollers.NewEventualConsistencyPoller(5, GET assignment,
Interval 5 s, RetryErrorStatusCodes 404)`): read each assignment back until it answers 200 five
times in a row, a 404 starting the count again - bounded by `timeoutSeconds` (default the
documented 10 minutes; stack key `rolePropagationTimeoutSeconds`), with progress printed.
A hand-written dynamic provider: no Pulumi resource waits for an assignment to replicate.
"""
from __future__ import annotations

import hashlib
import sys
import time
from typing import Any, Callable, Protocol

import pulumi
from azure.core.exceptions import ResourceNotFoundError
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from mldeploy.azure.pipeline import ArmClient

TIMEOUT_SECONDS = 600  # the documented upper bound ("up to 10 minutes"): a bound, not a wait
READS_IN_A_ROW = 5  # terraform azurerm: NewEventualConsistencyPoller(5, ...)
INTERVAL_SECONDS = 5.0  # terraform azurerm: EventualConsistencyPollerOptions{Interval: 5 * time.Second}
PROGRESS_EVERY_SECONDS = 30.0
# Microsoft.Authorization roleAssignments (azure-rest-api-specs, authorization stable 2022-04-01).
API_VERSION = "2022-04-01"


def propagation_id(props: dict[str, Any]) -> str:
    """The wait's id: the same assignments give the same id in any process (hash() of str is
    salted per run), and synth gives the same."""
    return "propagation-" + hashlib.sha256("\n".join(props["assignments"]).encode()).hexdigest()[:16]


class PropagationTimeout(Exception):
    """Some assignment did not read back in time: the message names it and the key that bounds the wait."""


class AssignmentReader(Protocol):
    def get(self, resource_id: str, api_version: str) -> dict: ...


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)  # a dynamic provider's stderr is shown by `pulumi up`


def wait_until_visible(client: AssignmentReader, ids: list[str], *, timeout: float = TIMEOUT_SECONDS,
                       reads: int = READS_IN_A_ROW, interval: float = INTERVAL_SECONDS,
                       sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                       say: Callable[[str], None] = _say, label: str = "role assignments") -> float:
    """Poll every id until each read back `reads` times in a row; the seconds it took."""
    in_a_row = {i: 0 for i in ids}
    start = clock()
    reported, last_report = -1, start
    while True:
        for i in ids:
            if in_a_row[i] >= reads:
                continue
            try:
                client.get(i, API_VERSION)
                in_a_row[i] += 1
            except ResourceNotFoundError:  # not replicated to the instance that answered: start again
                in_a_row[i] = 0
        done = sum(n >= reads for n in in_a_row.values())
        now = clock()
        elapsed = now - start
        if done == len(ids):
            say(f"{label}: {done}/{len(ids)} visible ({reads} reads in a row each) after {elapsed:.0f} s")
            return elapsed
        if elapsed >= timeout:
            waiting = ", ".join(i for i, n in in_a_row.items() if n < reads)
            raise PropagationTimeout(
                f"{label}: not visible after {elapsed:.0f} s (bound {timeout:.0f} s, stack key "
                f"mldeploy:rolePropagationTimeoutSeconds): {waiting}")
        if done != reported or now - last_report >= PROGRESS_EVERY_SECONDS:
            say(f"{label}: {done}/{len(ids)} visible, waiting ({elapsed:.0f} s of at most {timeout:.0f} s)")
            reported, last_report = done, now
        sleep(interval)


class PropagationProvider(ResourceProvider):
    """Create waits for every assignment; an update waits for the ones that are new; delete is instant."""

    def __init__(self, client_factory: Callable[[], AssignmentReader] = ArmClient,
                 wait: Callable[..., float] = wait_until_visible):
        super().__init__()
        self.client_factory = client_factory
        self.wait = wait

    def _wait(self, ids: list[str], props: dict[str, Any]) -> None:
        if ids:
            self.wait(self.client_factory(), ids, timeout=float(props.get("timeoutSeconds") or TIMEOUT_SECONDS))

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._wait(list(props["assignments"]), props)
        return CreateResult(propagation_id(props), dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in ("assignments", "timeoutSeconds") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        known = set(olds.get("assignments") or [])
        self._wait([i for i in news["assignments"] if i not in known], news)  # a new bound alone waits for nothing
        return UpdateResult(dict(news))


class RolePropagation(pulumi.dynamic.Resource, module="azure", name="RolePropagation"):
    """Done when the role assignments it names read back from ARM (at most `timeout_seconds`)."""

    def __init__(self, name: str, assignments: list[pulumi.Resource], timeout_seconds: int = TIMEOUT_SECONDS,
                 opts: pulumi.ResourceOptions | None = None, provider: ResourceProvider | None = None):
        ids = [a.id for a in assignments]
        super().__init__(provider or PropagationProvider(), name,
                         {"assignments": ids, "timeoutSeconds": timeout_seconds},
                         pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=assignments)))
