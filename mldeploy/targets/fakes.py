"""Deterministic stand-ins synth's mocks hand out in place of what Azure computes: ids, uuids,
fake secrets. Shared by synth/mocks.py and each target's mock defaults so that both derive a
value the same way (a snapshot depends on it)."""
from __future__ import annotations

import hashlib
import uuid

SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
TENANT_ID = "11111111-1111-1111-1111-111111111111"


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def fake(kind: str, *parts: str) -> str:
    """A deterministic stand-in secret (never a real credential)."""
    return f"mock-{kind}-" + hashlib.sha256("/".join(parts).encode()).hexdigest()[:24]
