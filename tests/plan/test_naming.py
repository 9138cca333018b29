"""plan/naming.py: the one hash-suffix helper, stable and order-sensitive."""
from __future__ import annotations

import hashlib

from mldeploy.plan.naming import hash_suffix


def test_the_suffix_is_sha256_of_the_parts_joined_with_slashes():
    assert hash_suffix("dev", "rg") == hashlib.sha256(b"dev/rg").hexdigest()[:6]


def test_the_suffix_length_can_be_chosen():
    assert len(hash_suffix("a", length=10)) == 10


def test_the_order_of_the_parts_matters():
    assert hash_suffix("a", "b") != hash_suffix("b", "a")
