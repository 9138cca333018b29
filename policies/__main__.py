"""The policy pack's entry point (`pulumi preview --policy-pack policies`): build the pack only.

PolicyPack(...) starts the analyzer's gRPC server and blocks, so nothing else lives here. The
policies come from the installed mldeploy (PulumiPolicy.yaml's virtualenv): this file is the
same in this repository and in every project `mldeploy init` writes.
"""
from pulumi_policy import EnforcementLevel, PolicyPack

from mldeploy.policies.rules import POLICIES

PolicyPack(
    name="mldeploy",
    policies=POLICIES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description="mldeploy guardrails: the Azure ML deployment guide's rules and production hygiene.",
)
