"""The target table: every compute target mldeploy deploys to, and what each one provides.

A target is one package, `mldeploy/targets/<name>/`, that builds one `Target` (its `TARGET`)
and is listed once in `TARGETS` below. Config loading, the load-time checks, the Pulumi program,
synth's mocks, the CLI and the policy pack find a target here, by its name or by the settings
object a stack file produced; none of them names a target or probes a settings object for the
attributes one target happens to have. Adding a target means: write its package, add its row.

What a target provides (the fields of `Target`; the defaults say what "nothing" means):

- `name`: for a service target, the value of `services.<name>.target` in a stack file
  (`aci`); for a section target, the stack key holding its entries (`batch`, `edge`).
- `section`: `services` for a scoring service told apart by `target:`; else the stack key, which
  config accepts beside the shared ones and keeps in `StackSettings.sections` (no field of its own);
  `description`: what that key holds, for the config reference.
- `settings`: its config model (a frozen `mldeploy.config.base.Settings`; a service target's
  model has a `target: Literal["<name>"]` field, which is how the stack file's union tells it).
- `check(name, entry, stack)`: its load-time checks, the plan rules that need no Azure (raise a
  ConfigError naming the key). Run once per entry by the one load entry, after the shared rules.
- `check_stack(stack)`: its rules over all its entries at once or a stack key only it reads
  (one extension per cluster, the quota); run once per stack after every entry's `check`.
- `warnings(stack)`, `notes(stack)`, `report(stack)`: what `synth` (and the program's log) says
  about the stack for it.
- `deploy(name, entry, foundation)`: its program step: declare the entry's components from its
  plan; a service target returns `ServiceOutputs`, a section target a dict of stack outputs.
- `artifacts(outputs)`: files of its own synth writes (path -> JSON document), from the stack outputs.
- `mocks`: synth's mock answers for the resource types and invokes its components declare
  that need realistic outputs (everything else is echoed).
- `premium_registry`: its services pull from the workspace registry with a managed identity
  (ACI), so the stack's registry is Premium.
- traits the shared code asks instead of probing the settings object (`traits`).

The CLI, the local runtime and the policy pack read the same row for their own hooks (local
runner, container runner, policy rules, test-client hooks, and `command`: a target's own
`mldeploy <name>`, such as `mldeploy batch`; `elsewhere`: what runs a section entry here when `serve`,
`test` or `logs` is asked for it).
"""
from __future__ import annotations

from typing import Any, Mapping

from mldeploy.targets.target import Target
from mldeploy.targets import aci, aks, batch, containerapp, edge, fpga, kubernetes_endpoint, local, managed

# The one registration table. Order: how `mldeploy config reference` lists them.
TARGETS: tuple[Target, ...] = (
    local.TARGET,
    aci.TARGET,
    aks.TARGET,
    fpga.TARGET,
    managed.TARGET,
    kubernetes_endpoint.TARGET,
    containerapp.TARGET,
    batch.TARGET,
    edge.TARGET,
)

BY_NAME: Mapping[str, Target] = {t.name: t for t in TARGETS}
SERVICE_TARGETS: tuple[Target, ...] = tuple(t for t in TARGETS if t.is_service)
SECTION_TARGETS: tuple[Target, ...] = tuple(t for t in TARGETS if not t.is_service)


def target_of(service: Any) -> Target:
    """The row of a service's settings (config accepts only targets of the table)."""
    return BY_NAME[service.target]


def premium_registry_services(stack: Any) -> list[str]:
    """The stack's services whose target pulls from the registry with a managed identity, by name."""
    return sorted(name for name, s in stack.services.items() if target_of(s).premium_registry)


def registry_sku(stack: Any) -> str:
    """Premium when a service pulls from the registry with a managed identity, else Standard.

    ACI pulls the image with a user-assigned managed identity (no registry password), and Microsoft
    lists "a premium SKU Azure container registry" with trusted services enabled as the prerequisite
    of that pull (learn.microsoft.com/azure/container-instances/using-azure-container-registry-mi,
    ms.date 2026-07-25). Unverified here whether a Standard registry really fails: followed as
    documented."""
    return "Premium" if premium_registry_services(stack) else "Standard"
