"""Synth's mock answers for what the FPGA target declares (components/fpga.py)."""
from mldeploy.targets.target import MockDefaults

# An agent pool's name is its agentPoolName.
MOCKS = MockDefaults(outputs={
    "azure-native:containerservice:AgentPool": lambda n, i, m: {"name": i.get("agentPoolName", n)}})
