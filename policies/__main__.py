"""The policy pack's entry point (`pulumi preview --policy-pack policies`): build the pack only.

PolicyPack(...) starts the analyzer's gRPC server and blocks, so nothing else lives here.
"""
import sys
from pathlib import Path

# The CLI runs this file with policies/ as the working directory: make the project importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.rules import POLICIES  # noqa: E402

PolicyPack(
    name="mldeploy",
    policies=POLICIES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description="mldeploy guardrails: the Azure ML deployment guide's rules and production hygiene.",
)
