"""Run the policy pack (policies/) over a synth result, offline, exactly as `pulumi preview
--policy-pack policies` would over the same resources, and write `policy.json`."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from mldeploy.config.errors import ConfigError
from mldeploy.synth.run import SynthResult
from mldeploy.synth.dump import dump_json
from mldeploy.plan.vm_sizes import known_vcpus
from mldeploy.pulumi_internals import (PolicyResource, policy_resource, resource_validation_args,
                                       stack_validation_args)
from mldeploy.policies import config
from mldeploy.policies.rules import POLICIES

CONFIG_PATH = Path("policies") / "config.json"


def config_path(project_root: Path, stack: str) -> Path:
    """`policies/config.<stack>.json` when the project has one - that stack's own settings and
    levels, the file the workflows pass to its `pulumi preview`/`up` as --policy-pack-config -
    else `policies/config.json`. One file per run, as Pulumi takes it: a stack's own file replaces
    the project's, it is not merged with it."""
    own = project_root / "policies" / f"config.{stack}.json"
    return own if own.is_file() else project_root / CONFIG_PATH


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: str
    message: str
    urn: str
    resource: str


def policy_resources(result: SynthResult) -> list[PolicyResource]:
    """The synthesized resources as a policy sees them (parents linked)."""
    by_urn = {r["urn"]: policy_resource(r["type"], r["inputs"], r["urn"], r["name"], r["parent"], r.get("options"))
              for r in result.resources}
    for r in result.resources:
        by_urn[r["urn"]].parent = by_urn.get(r["parent"])
    return list(by_urn.values())


def _given(policy: str, pack_config: dict[str, Any], result: SynthResult) -> dict[str, Any]:
    given = config.given(policy, pack_config)
    if policy == "aks-minimum-vcpus":
        # A cluster's `vcpusPerNode` vouches for a size the table does not list (never for a listed
        # one: the table wins there, so a wrong override is still caught).
        sizes = {c.vm_size: c.vcpus_per_node for c in result.settings.clusters.values()
                 if c.vcpus_per_node is not None and known_vcpus(c.vm_size) is None}
        given["vmSizeVcpus"] = {**sizes, **given.get("vmSizeVcpus", {})}
    return given


def pack_config_of(stack: str, project_root: Path | None = None) -> dict[str, Any]:
    """The pack config the stack's runs read (config_path); a bad file is a ConfigError naming it."""
    root = project_root or Path.cwd()
    path = config_path(root, stack)
    try:
        return config.load_pack_config(path)
    except ValueError as err:  # json.JSONDecodeError too: one line naming the file, never a traceback
        shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        message = str(err).removeprefix(f"{path}: ")
        if isinstance(err, json.JSONDecodeError):
            message = f"is not JSON ({message}); it holds {{\"<policy>\": {{\"enforcementLevel\": ..., \"<setting>\": ...}}}}"
        raise ConfigError(shown, message) from None


def evaluate(result: SynthResult, project_root: Path | None = None,
             pack_config: dict[str, Any] | None = None) -> list[Violation]:
    """Every violation of every enabled policy, in policy order (`pack_config`: the stack's, read
    by the caller; else read here)."""
    if pack_config is None:
        pack_config = pack_config_of(result.stack, project_root)
    resources = policy_resources(result)
    names = {r.urn: r.name for r in resources}
    found: list[Violation] = []
    for policy in POLICIES:
        level = config.enforcement(policy.name, pack_config)
        if level == EnforcementLevel.DISABLED:
            continue
        given = _given(policy.name, pack_config, result)

        def report(message: str, urn: str | None = None, *, _policy=policy.name, _level=level) -> None:
            found.append(Violation(_policy, _level.value, message, urn or "", names.get(urn or "", "")))

        if isinstance(policy, StackValidationPolicy):
            policy.validate(stack_validation_args(resources, given), report)
        elif isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                policy.validate(resource_validation_args(r, given),
                                lambda message, urn=None, _urn=r.urn: report(message, _urn))
    return found


def mandatory(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.enforcement == EnforcementLevel.MANDATORY.value]


def report_doc(violations: list[Violation], pack_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """policy.json: every policy at the level this run applied (the pack config's, else its default)."""
    return {
        "policies": [{"name": p.name, "description": p.description,
                      "enforcementLevel": config.enforcement(p.name, pack_config or {}).value} for p in POLICIES],
        "violations": [asdict(v) for v in violations],
        "mandatoryViolations": len(mandatory(violations)),
    }


def read_violations(out_dir: Path) -> list[Violation]:
    """The violations `write_policy_json` recorded in a synth folder."""
    doc = json.loads((out_dir / "policy.json").read_text(encoding="utf-8"))
    return [Violation(**v) for v in doc["violations"]]


def write_policy_json(result: SynthResult, out_dir: Path) -> None:
    pack_config = pack_config_of(result.stack, result.project_root)  # read once for both
    dump_json(out_dir / "policy.json", report_doc(evaluate(result, pack_config=pack_config), pack_config))
