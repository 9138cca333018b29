"""Run the policy pack (policies/) over a synth result, offline, exactly as `pulumi preview
--policy-pack policies` would over the same resources, and write `policy.json`."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from mldeploy.synth.run import SynthResult
from mldeploy.synth.dump import dump_json
from mldeploy.plan.vm_sizes import known_vcpus
from mldeploy.pulumi_internals import (PolicyResource, policy_resource, resource_validation_args,
                                       stack_validation_args)
from mldeploy.policies import config
from mldeploy.policies.rules import POLICIES

CONFIG_PATH = Path("policies") / "config.json"


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


def evaluate(result: SynthResult, project_root: Path | None = None) -> list[Violation]:
    """Every violation of every enabled policy, in policy order."""
    pack_config = config.load_pack_config((project_root or Path.cwd()) / CONFIG_PATH)
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


def report_doc(violations: list[Violation]) -> dict[str, Any]:
    return {
        "policies": [{"name": p.name, "description": p.description,
                      "enforcementLevel": p.enforcement_level.value} for p in POLICIES],
        "violations": [asdict(v) for v in violations],
        "mandatoryViolations": len(mandatory(violations)),
    }


def read_violations(out_dir: Path) -> list[Violation]:
    """The violations `write_policy_json` recorded in a synth folder."""
    import json

    doc = json.loads((out_dir / "policy.json").read_text(encoding="utf-8"))
    return [Violation(**v) for v in doc["violations"]]


def write_policy_json(result: SynthResult, out_dir: Path) -> None:
    dump_json(out_dir / "policy.json", report_doc(evaluate(result, result.project_root)))
