"""`mldeploy diff`, the comparison: two synthesized sides of a stack (diff_sides.py makes them)
-> which resources are created, updated, replaced and deleted, and which properties changed
(secrets masked), each with what it does (mldeploy/cli/replacement.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator

from mldeploy.cli.replacement import Effect, config_maps_mutable, dynamic_replaces, property_effect
from mldeploy.contract import CREATE_OPTIONS_CHUNK_KEY, join_create_options


class DiffError(Exception):
    """A side could not be synthesized (bad ref, invalid stack): a user-facing message."""


@dataclass
class Side:
    label: str
    resources: list[dict[str, Any]]
    outputs: dict[str, Any]
    violations: list[dict[str, Any]] = field(default_factory=list)
    exists: bool = True
    secure: dict[str, str] = field(default_factory=dict)
    """The stack file's `secure:` values (ciphertexts) by config key path."""
    stand_ins: list[str] = field(default_factory=list)
    """Files the base names but git does not hold, taken from the working tree."""
    warnings: list[str] = field(default_factory=list)
    """What synth warned of at this side (its `warning: ` lines, without that prefix)."""
    notes: list[str] = field(default_factory=list)
    """What synth noted at this side (its `note: ` lines, without that prefix)."""
    config: dict[str, Any] = field(default_factory=dict)
    """The stack file's `mldeploy:` keys, without that prefix (`models`, `services`, ...): what names
    a resource as the stack file does (stack_keys.py)."""


@dataclass
class PropertyChange:
    path: str
    before: Any
    after: Any
    effect: Effect


@dataclass
class ResourceChange:
    kind: str  # "create" | "update" | "replace" | "delete"
    urn: str
    type: str
    name: str
    properties: list[PropertyChange]
    before: dict[str, Any] | None = None  # the resource as resources.json lists it at the base
    after: dict[str, Any] | None = None

    def effects(self, kind: str) -> list[PropertyChange]:
        return [p for p in self.properties if p.effect.kind == kind]


KINDS = ("create", "update", "replace", "delete")


@dataclass
class StackDiff:
    stack: str
    base: Side
    head: Side
    changes: list[ResourceChange]
    outputs: list[tuple[str, Any, Any]]
    unchanged: int

    @property
    def changed(self) -> bool:
        return bool(self.changes or self.outputs or secure_changes(self))

    def of(self, kind: str) -> list[ResourceChange]:
        return [c for c in self.changes if c.kind == kind]


# -- comparing -------------------------------------------------------------------------------

MISSING = object()


# Lists whose entries are named, compared by name: a container's environment as every target writes
# it (Kubernetes `env`, ACI `environmentVariables`, Container Apps `env`, an IoT Edge module's
# createOptions `Env` once read by _docker_options: {"name": ..., "value"/"secureValue"/"secretRef"/
# "valueFrom": ...}), the containers themselves (Kubernetes, ACI, Container Apps: `gateway`, `scorer`),
# and a Container App's traffic split, by the revision's label (`revisions.<label>` in the stack file).
NAMED_LISTS = {"env": "name", "environmentVariables": "name", "Env": "name", "containers": "name",
               "initContainers": "name", "traffic": "label"}


def _docker_options(settings: dict) -> dict | None:
    """An IoT Edge module's `settings` with its createOptions - JSON text, possibly in chunks
    (`createOptions`, `createOptions01`, ...: render/edge_manifest.py) - read as the object it is,
    and Docker's `Env` (["NAME=value", ...]) as a named environment list; None when there are no
    createOptions, or they are not a JSON object (e.g. masked). A changed variable then reads as
    `createOptions.Env[NAME].value`, not as the whole string."""
    text = join_create_options(settings)
    if text is None:
        return None
    try:
        options = json.loads(text)
    except ValueError:
        return None
    if not isinstance(options, dict):
        return None
    env = options.get("Env")
    if isinstance(env, list) and all(isinstance(e, str) and "=" in e for e in env):
        options = {**options, "Env": [dict(zip(("name", "value"), e.split("=", 1))) for e in env]}
    return {**{k: v for k, v in settings.items() if not CREATE_OPTIONS_CHUNK_KEY.match(k)}, "createOptions": options}


def _entry_names(prefix: str, items: list) -> tuple[str, list[str]] | None:
    """(the key field, the entries' names) when `items` is a named list (NAMED_LISTS; each entry
    named once), else None."""
    field_name = NAMED_LISTS.get(prefix.rsplit(".", 1)[-1])
    if field_name is None:
        return None
    names = [item.get(field_name) if isinstance(item, dict) else None for item in items]
    if all(isinstance(n, str) and n for n in names) and len(set(names)) == len(names):
        return field_name, names
    return None


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Leaves of a JSON value as (path, value): `volumes[0].name`. Containers and their environment
    are keyed by name, `containers[scorer].image`, `containers[scorer].env[LOG_LEVEL].value`: which
    container changed is said, and a variable (or container) added in the middle, or a value changed,
    reads as that one, not as every later entry moved by one. An IoT
    Edge module's createOptions string is read as its JSON (`settings.createOptions.Env[WORKER_COUNT].value`,
    `settings.createOptions.HostConfig.PortBindings...`): one changed key, not the whole string."""
    if isinstance(value, dict) and value:
        value = _docker_options(value) or value
        for key in sorted(value):
            yield from flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value:
        named = _entry_names(prefix, value)
        for i, item in enumerate(value):
            if named:  # the name is the key: its own leaf would only repeat it
                field_name, names = named
                yield from flatten({k: v for k, v in item.items() if k != field_name} or {"value": None},
                                   f"{prefix}[{names[i]}]")
            else:
                yield from flatten(item, f"{prefix}[{i}]")
    else:
        yield prefix, value


def diff_values(before: Any, after: Any) -> list[tuple[str, Any, Any]]:
    """(path, before, after) for every leaf that differs; a missing side is `MISSING`."""
    # An empty root (a resource with no inputs, or no side at all) has no leaves to compare.
    old = {p: v for p, v in flatten(before) if p or v not in ({}, [])}
    new = {p: v for p, v in flatten(after) if p or v not in ({}, [])}
    return [(path, old.get(path, MISSING), new.get(path, MISSING))
            for path in sorted(set(old) | set(new)) if old.get(path, MISSING) != new.get(path, MISSING)]


def _changed_resource(old: dict, new: dict, mutable_config_maps: bool = False) -> ResourceChange | None:
    olds, news = old.get("inputs") or {}, new.get("inputs") or {}
    options = new.get("options") or {}
    replaces = dynamic_replaces(new["type"], olds, news)
    mutable = mutable_config_maps and not news.get("immutable") and not olds.get("immutable")
    props = [PropertyChange(p, b, a, property_effect(new["type"], p, options, replaces, mutable))
             for p, b, a in diff_values(olds, news)]
    # ignoreChanges: the engine keeps the old value, as `pulumi preview` shows (nothing).
    props = [p for p in props if p.effect.kind != "ignored"]
    if not props:
        return None
    kind = "replace" if any(p.effect.kind == "replace" for p in props) else "update"
    return ResourceChange(kind, new["urn"], new["type"], new["name"], props, old, new)


def _alias_urns(r: dict) -> list[str]:
    """The URNs a resource's `aliases` option names: a URN, or `{"name": n}` (same parent and
    type, another name) as resources.json records them."""
    urns = []
    for alias in (r.get("options") or {}).get("aliases") or []:
        if isinstance(alias, str):
            urns.append(alias)
        elif isinstance(alias, dict) and isinstance(alias.get("urn"), str):
            urns.append(alias["urn"])
        elif isinstance(alias, dict) and isinstance(alias.get("name"), str) and set(alias) == {"name"}:
            urns.append(r["urn"].rsplit("::", 1)[0] + "::" + alias["name"])
    return urns


def _aliased(old: dict[str, dict], new: dict[str, dict]) -> dict[str, str]:
    """base URN -> head URN for head resources whose `aliases` option names a base URN (a
    resource that moved keeps its identity: Pulumi updates it, it does not delete it)."""
    pairs = {}
    for urn, r in new.items():
        for alias in _alias_urns(r):
            if alias in old and alias not in new and urn not in old:
                pairs[alias] = urn
    return pairs


def compare(stack: str, base: Side, head: Side) -> StackDiff:
    old = {r["urn"]: r for r in base.resources}
    new = {r["urn"]: r for r in head.resources}
    moved = _aliased(old, new)
    # The new provider configuration is the one that diffs (the engine updates the provider first).
    mutable = config_maps_mutable(head.resources)
    changes, unchanged = [], 0
    for urn in sorted(set(old) | set(new)):
        if urn in moved or (urn in new and urn not in old and urn in moved.values()):
            continue
        r = new.get(urn) or old[urn]
        if urn not in old:
            changes.append(ResourceChange("create", urn, r["type"], r["name"], _props({}, r["inputs"], "create"), None, r))
        elif urn not in new:
            changes.append(ResourceChange("delete", urn, r["type"], r["name"], _props(r["inputs"], {}, "delete"), r, None))
        elif (change := _changed_resource(old[urn], r, mutable)) is not None:
            changes.append(change)
        else:
            unchanged += 1
    for old_urn, new_urn in sorted(moved.items()):
        change = _changed_resource(old[old_urn], new[new_urn], mutable)
        if change is None:
            unchanged += 1
        else:
            changes.append(change)
    return StackDiff(stack, base, head, changes, diff_values(base.outputs, head.outputs), unchanged)


def _props(before: Any, after: Any, kind: str) -> list[PropertyChange]:
    """Every property of a created or deleted resource: its effect is the resource's own."""
    return [PropertyChange(p, b, a, Effect(kind)) for p, b, a in diff_values(before, after)]


def secure_changes(d: StackDiff) -> list[str]:
    """Config keys whose `secure:` value differs between the two stack files (added, removed or
    re-encrypted: the ciphertext is all an offline diff can compare)."""
    keys = set(d.base.secure) | set(d.head.secure)
    return sorted(k for k in keys if d.base.secure.get(k) != d.head.secure.get(k)) if d.base.exists else []
