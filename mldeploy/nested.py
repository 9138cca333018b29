"""The one walk over nested JSON-like values (dicts, lists, tuples): every leaf, or the same
nesting with each leaf replaced. Iterative where it only reads, so a deeply nested config value
cannot hit Python's recursion limit.

Hand-written: `boltons.iterutils.remap` does this and more, but returns a root leaf unvisited,
enters every Mapping, Sequence and Set, and would be a dependency for twenty lines. Walks that
carry more than the value (a key path for messages, a secret context, a template alongside) stay
with their owners: synth/mask.py, config/load.py, cli/diff_sides.py, policies/reading.py.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator


def leaves(value: Any, *, keys: bool = False,
           children: Callable[[Any], Iterable[Any] | None] | None = None) -> Iterator[Any]:
    """Every leaf under `value` (no order promised). `keys`: dict keys count as leaves too.
    `children(item)`: the parts of another kind of container (a pydantic model), or None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if keys:
                stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif children is not None and (parts := children(item)) is not None:
            stack.extend(parts)
        else:
            yield item


def map_leaves(fn: Callable[[Any], Any], value: Any) -> Any:
    """`value` with `fn` applied to every leaf; dicts keep their key order, tuples become lists."""
    if isinstance(value, dict):
        return {k: map_leaves(fn, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [map_leaves(fn, v) for v in value]
    return fn(value)
