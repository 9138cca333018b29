"""plan/keys.py: one rule for generated keys, one value."""
from __future__ import annotations

from mldeploy.contract import KEY_RE
from mldeploy.plan.keys import KEY_ALPHABET, KEY_LENGTH


def test_a_key_by_the_rule_is_accepted_by_the_gateway():
    assert KEY_RE.match(KEY_ALPHABET[:KEY_LENGTH]), "the gateway's key pattern (contract.KEY_RE) must take it"


def test_the_alphabet_is_letters_and_digits():
    assert KEY_ALPHABET.isalnum() and len(set(KEY_ALPHABET)) == 62
