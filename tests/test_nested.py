"""The one nested walk (mldeploy/nested.py)."""
from __future__ import annotations

from mldeploy.nested import leaves, map_leaves

VALUE = {"a": [1, {"b": "x"}], "c": ("y", None), "d": {}}


def test_leaves_are_every_value_that_is_not_a_container():
    assert sorted(map(repr, leaves(VALUE))) == sorted(map(repr, [1, "x", "y", None])), f"leaves of {VALUE}"


def test_keys_count_as_leaves_when_asked():
    assert {"a", "b", "c", "d"} <= set(leaves(VALUE, keys=True)), f"keys among the leaves of {VALUE}"


def test_a_root_leaf_is_its_own_leaf():
    assert list(leaves("text")) == ["text"], "leaves('text')"


def test_children_opens_other_containers():
    class Box:
        def __init__(self, *parts):
            self.parts = parts

    found = set(leaves([Box("in", Box("deeper"))], children=lambda i: i.parts if isinstance(i, Box) else None))
    assert found == {"in", "deeper"}, "leaves inside Box through children="


def test_a_deep_value_does_not_hit_the_recursion_limit():
    deep: list = ["bottom"]
    for _ in range(5000):
        deep = [deep]
    assert list(leaves(deep)) == ["bottom"], "leaves of a list nested 5000 deep"


def test_map_leaves_keeps_the_nesting_and_key_order():
    assert map_leaves(lambda v: v, {"z": 1, "a": [2, (3,)]}) == {"z": 1, "a": [2, [3]]}, "map_leaves identity"
    assert list(map_leaves(lambda v: v, {"z": 1, "a": 2})) == ["z", "a"], "map_leaves keeps key order"


def test_map_leaves_applies_the_function_to_every_leaf():
    assert map_leaves(str, {"a": [1, {"b": 2.5}]}) == {"a": ["1", {"b": "2.5"}]}, "map_leaves(str, ...)"
