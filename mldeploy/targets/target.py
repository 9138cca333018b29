"""The interface every target implements (the table and what each field means: mldeploy/targets/__init__.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

# A mock's answer for one resource type: (resource name, inputs, mocks) -> outputs the real
# provider would add. The mocks object (synth/mocks.py SynthMocks) gives `.stack`, `.secret(value)`
# (a generated secret, marked and remembered for masking) and `.ledger`.
OutputMaker = Callable[[str, dict, Any], dict]
# A mock's answer for one invoke (a get_*/list* function): (arguments, mocks) -> result.
CallMaker = Callable[[dict, Any], dict]


@dataclass(frozen=True)
class MockDefaults:
    """What synth's mocks answer for a target's resource types (by type token) and invokes (by token)."""

    outputs: Mapping[str, OutputMaker] = field(default_factory=dict)
    calls: Mapping[str, CallMaker] = field(default_factory=dict)


def no_checks(name: str, entry: Any, stack: Any) -> None:
    """A target whose entries need no rule beyond their config model and the shared ones."""


def no_stack_checks(stack: Any) -> None:
    """A target with no rule spanning its entries or the stack."""


def no_lines(stack: Any) -> list[str]:
    """A target with nothing to say about a stack."""
    return []


def no_report(stack: Any) -> None:
    """A target with no block of its own in `synth`'s report."""
    return None


def no_artifacts(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """A target whose synth output is resources.json and outputs.json only."""
    return {}


def no_deployments(entry: Any) -> tuple[str, ...]:
    """A target whose entries have no deployments of their own (`--deployment` names none)."""
    return ()


@dataclass(frozen=True)
class StartingPoint:
    """What `mldeploy init --target <name>` writes: stacks/Pulumi.<stack>.yaml from its template
    (`template`); the deploy workflow runs them by `order`."""

    stack: str
    order: int
    # The stack file's template when the target keeps it in its own package (a Traversable:
    # `importlib.resources.files(__name__) / "stack.yaml.tmpl"`, package data like every *.tmpl);
    # None: mldeploy/project/templates/stacks/<stack>.yaml.tmpl.
    template: Any = None
    # A production stack (its template sets `mldeploy:production: true`): the deploy workflow runs it
    # last, after the `production` environment's reviewers approve.
    production: bool = False
    # Written by `mldeploy init` without --target (False: only when asked, `--target <name>`).
    by_default: bool = True
    # Files of the project the stack needs besides it (the batch driver and its environment): project
    # path -> template under mldeploy/project/templates, filled with the project's values.
    files: tuple[tuple[str, str], ...] = ()
    # The model formats init writes those files for (formats.ModelFormat.kind); another is refused.
    kinds: tuple[str, ...] = ("pickle", "onnx")


class ServeRefused(Exception):
    """A `serve` option that does not apply to an entry's local runner (the CLI: a usage error)."""


@dataclass(frozen=True)
class LocalServe:
    """What `mldeploy serve` hands a target's local runner for one entry."""

    stack: Any  # the stack's settings (a serve plan reads `production`)
    prepared: Callable[[str], tuple[Any, Any]]  # image name -> (its build context, the scoring env it runs in here)
    run_dir: Path  # the entry's folder under .mldeploy/local/
    port: int | None  # --port; None: the entry's own (a local service's `port`), else any free port
    logs_command: str  # the entry's `mldeploy logs` command (named in its scorers' 500 bodies)
    tls_files: tuple[Path, Path] | None  # --tls-cert, --tls-key
    max_concurrent: int | None  # --max-concurrent-requests
    info: Callable[[str], None]  # a progress line for the user

    def refuse_options(self, what: str) -> None:
        """Raise ServeRefused when --tls-cert/--tls-key/--max-concurrent-requests was given for `what`."""
        if self.tls_files or self.max_concurrent:
            raise ServeRefused(f"--tls-cert/--tls-key/--max-concurrent-requests do not apply to {what}")


@dataclass(frozen=True)
class TargetCommand:
    """A target's own command, `mldeploy <target name>` (`mldeploy batch`), run on this machine for
    one entry of a stack. The CLI (mldeploy/cli/target_commands.py) gives every one --stack, --name
    and --project-dir, and loads the stack; the row gives the rest."""

    help: str  # the command's help text
    options: tuple[Callable, ...]  # its own options (click.option decorators), listed after --name
    # (the stack's settings, --name or None, the project root, its own options by parameter name) -> None;
    # it prints its result, a usage problem is a click.ClickException, a stack's a ConfigError.
    run: Callable[..., None]


@dataclass(frozen=True)
class Target:
    """One compute target: its name, its config model and the hooks the pipeline calls.
    Module docstring: what each field means and who reads it."""

    name: str
    settings: type
    deploy: Callable[[str, Any, Any], Any]
    section: str = "services"
    # A section target's stack key, as the config reference describes it ("IoT Edge deployments").
    description: str = ""
    check: Callable[[str, Any, Any], None] = no_checks
    # Its stack-wide load-time checks (its entries together, or a stack key only it reads):
    # (stack) -> None or a ConfigError naming the key; run once per stack, after every entry's `check`.
    check_stack: Callable[[Any], None] = no_stack_checks
    # What `synth` and the program say about a stack for it: lines naming their key, printed as
    # warnings / notes (stack) -> [line]; `report`: `synth`'s block of its own, (heading, lines) or None.
    warnings: Callable[[Any], list[str]] = no_lines
    notes: Callable[[Any], list[str]] = no_lines
    report: Callable[[Any], tuple[str, list[str]] | None] = no_report
    mocks: MockDefaults = MockDefaults()
    # Files of its own that `synth` writes beside resources.json, from the program's stack outputs:
    # (outputs) -> {path under the output folder: JSON document} (the edge manifests, iot-edge/<name>.json).
    artifacts: Callable[[Mapping[str, Any]], Mapping[str, Any]] = no_artifacts
    # Its services pull their image from the workspace registry with a managed identity, which
    # needs a Premium registry (mldeploy/targets/__init__.py: registry_sku).
    premium_registry: bool = False
    # What its entries may give as the reason for the workspace registry's admin user (their model's
    # `registry_admin_user_need`): the policy pack's default `allowedNeeds` (policies/config.py).
    registry_admin_user_needs: tuple[str, ...] = ()
    starting_point: StartingPoint | None = None  # `mldeploy init --target <name>` writes its stack
    # -- the tools around the pipeline: the CLI (serve, test, logs) and the policy pack ------
    # `serve`'s runner of an entry, the one way every target is served on this machine:
    # (name, entry, LocalServe) -> a runner (start(timeout) -> runtime.local.Endpoint,
    # check() -> events, stop()); shared builders in mldeploy/targets/serving.py. None: not served here.
    local_runner: Callable[[str, Any, LocalServe], Any] | None = None
    # `serve`'s plan of an entry (plan/serve.py: ServePlan or EndpointServePlan), from
    # (name, entry, stack settings, the `mldeploy logs` command of the entry): what its runner runs
    # (a split's variants and the tests read it too).
    serve_plan: Callable[[str, Any, Any, str], Any] | None = None
    served_by_default: bool = False  # `serve` without --service runs it
    runs_here: bool = False  # deployed on this machine: `test` and `logs` read the local copy without --local
    # `serve --containers`: (synth output folder, name, entry, stack settings, image lookup, TLS PEM
    # texts) -> what runs here as synthesized (mldeploy/targets/serving.py: PodContainers,
    # EndpointContainers); None: it has nothing to run here.
    containers: Callable[..., Any] | None = None
    # `logs` of a deployed entry: (stack outputs, its own outputs, name, entry, deployment,
    # container, tail) -> [(source, text)]; None: its logs are not kept where mldeploy reads.
    logs: Callable[..., list[tuple[str, str]]] | None = None
    log_containers: tuple[str, ...] = ()  # what `logs --container` may name
    deployments: Callable[[Any], tuple[str, ...]] = no_deployments  # what `--deployment` may name
    # What `logs --deployment` may name besides deployments: the variants a split serves apart (an AKS or
    # FPGA canary's stable/canary, a container app's revision labels), each with its own pods and logs.
    log_variants: Callable[[Any], tuple[str, ...]] = no_deployments
    # Its policy rules: modules of mldeploy.policies, each with POLICIES (pulumi_policy Policy
    # objects) and SETTINGS (their pack-config settings); the pack loads them by name
    # (policies/config.py), so the table imports nothing of the pack and the pack may read it.
    policies: tuple[str, ...] = ()
    command: TargetCommand | None = None  # its own `mldeploy <name>` command (`mldeploy batch`), if any
    # A section entry's way to run, test or read on this machine instead of `serve`, `test` and `logs`,
    # which run services only: (stack name, entry name, entry) -> a sentence naming the commands.
    elsewhere: Callable[[str, str, Any], str] | None = None
    # A `secure:` environment variable of the scorer (plan/secret_env.py): True where the target passes it as
    # its platform's secret (ACI secureValue, a Kubernetes Secret, a Container Apps secretRef, serve's
    # environment); else refused, `secret_env_instead` saying why and what to use there.
    secret_env: bool = False
    secret_env_instead: str = ""

    def entries(self, stack: Any) -> Mapping[str, Any]:
        """This target's entries in a stack (settings), by name: a section target's under its stack
        key (StackSettings.sections), a service target's the services whose `target` is its name."""
        if not self.is_service:
            return stack.sections.get(self.section, {})
        return {name: s for name, s in stack.services.items() if s.target == self.name}

    @property
    def is_service(self) -> bool:
        """A scoring service under `services:` (told apart by `target:`), not a section of its own."""
        return self.section == "services"
