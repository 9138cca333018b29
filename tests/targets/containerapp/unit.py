"""The container app's component tests use the one component harness (tests/components/unit.py:
synth's own mocks, every registered resource recorded)."""
from tests.components.unit import Declared, declare

__all__ = ["Declared", "declare"]
