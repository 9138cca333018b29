"""`mldeploy diff`: synthesize a stack at a git ref and in the working tree, offline, and say
which resources are created, updated, replaced and deleted, and which properties changed
(secrets masked), each with what it does (mldeploy/cli/replacement.py).

Each side runs its own tree's mldeploy in a subprocess (a pull request may change the program
itself), with the same project-relative output folder, so paths in inputs compare equal. File
assets (model files, scoring scripts) are compared by content: each side's resources get the
sha256 of the file in that side's tree.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from mldeploy.cli.replacement import Effect, dynamic_replaces, property_effect
from mldeploy.nested import leaves
from mldeploy.plan.digest import digest_path

OUT = Path(".mldeploy") / "diff"  # inside each tree, gitignored


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


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Leaves of a JSON value as (path, value): `containers[0].image`."""
    if isinstance(value, dict) and value:
        for key in sorted(value):
            yield from flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
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


def _changed_resource(old: dict, new: dict) -> ResourceChange | None:
    olds, news = old.get("inputs") or {}, new.get("inputs") or {}
    options = new.get("options") or {}
    replaces = dynamic_replaces(new["type"], olds, news)
    props = [PropertyChange(p, b, a, property_effect(new["type"], p, options, replaces))
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
    changes, unchanged = [], 0
    for urn in sorted(set(old) | set(new)):
        if urn in moved or (urn in new and urn not in old and urn in moved.values()):
            continue
        r = new.get(urn) or old[urn]
        if urn not in old:
            changes.append(ResourceChange("create", urn, r["type"], r["name"], _props({}, r["inputs"]), None, r))
        elif urn not in new:
            changes.append(ResourceChange("delete", urn, r["type"], r["name"], _props(r["inputs"], {}), r, None))
        elif (change := _changed_resource(old[urn], r)) is not None:
            changes.append(change)
        else:
            unchanged += 1
    for old_urn, new_urn in sorted(moved.items()):
        change = _changed_resource(old[old_urn], new[new_urn])
        if change is None:
            unchanged += 1
        else:
            changes.append(change)
    return StackDiff(stack, base, head, changes, diff_values(base.outputs, head.outputs), unchanged)


def _props(before: Any, after: Any) -> list[PropertyChange]:
    return [PropertyChange(p, b, a, Effect("update")) for p, b, a in diff_values(before, after)]


def secure_changes(d: StackDiff) -> list[str]:
    """Config keys whose `secure:` value differs between the two stack files (added, removed or
    re-encrypted: the ciphertext is all an offline diff can compare)."""
    keys = set(d.base.secure) | set(d.head.secure)
    return sorted(k for k in keys if d.base.secure.get(k) != d.head.secure.get(k)) if d.base.exists else []


# -- synthesizing each side ------------------------------------------------------------------

def _git(repo: Path, *args: str) -> str:
    run = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if run.returncode != 0:
        raise DiffError(f"git {' '.join(args)}: {run.stderr.strip() or 'failed'}")
    return run.stdout.strip()


def export_tree(project_root: Path, ref: str, dest: Path) -> Path:
    """The tree at `ref` (committed files only) under `dest`; returns the project root there."""
    top = Path(_git(project_root, "rev-parse", "--show-toplevel"))
    prefix = _git(project_root, "rev-parse", "--show-prefix")
    commit = _git(project_root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    archive = subprocess.run(["git", "-C", str(top), "archive", "--format=tar", commit],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise DiffError(f"git archive {ref}: {archive.stderr.decode(errors='replace').strip()}")
    tar_path = dest.with_suffix(".tar")
    tar_path.write_bytes(archive.stdout)
    with tarfile.open(tar_path) as tar:
        tar.extractall(dest, filter="data")
    tar_path.unlink()
    return dest / prefix


def _strings(value: Any) -> Iterator[str]:
    return (leaf for leaf in leaves(value) if isinstance(leaf, str))


def _read_stack(stack_file: Path) -> dict:
    try:
        doc = yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}  # the synth of that side reports the broken file itself
    config = doc.get("config") if isinstance(doc, dict) else None
    return config if isinstance(config, dict) else {}


def copy_untracked_references(stack_file: Path, base_root: Path, sources: list[Path]) -> dict[str, Path]:
    """Copy what the base stack file names but git does not hold (a trained, gitignored model)
    from the first of `sources` that has it; returns {path: the source it came from}."""
    copied = {}
    for text in sorted(set(_strings(_read_stack(stack_file)))):
        if "://" in text or os.path.isabs(text) or not text.strip() or ".." in Path(text).parts:
            continue
        target = base_root / text
        source_root = next((s for s in sources if (s / text).exists()), None)
        if source_root is None or target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if (source_root / text).is_dir():
            shutil.copytree(source_root / text, target)
        else:
            shutil.copy2(source_root / text, target)
        copied[text] = source_root
    return copied


def secure_values(stack_file: Path) -> dict[str, str]:
    """`secure:` ciphertexts of a stack file by key path (`mldeploy:services.diabetes.keys.primary`)."""
    found: dict[str, str] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            if set(value) == {"secure"}:
                found[path] = str(value["secure"])
                return
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")

    walk(_read_stack(stack_file), "")
    return found


def with_asset_digests(value: Any, root: Path) -> Any:
    """`value` with every file asset/archive (`{"asset": "file", "path": p}`) carrying the sha256
    of `p` in the tree at `root`, so content changes show (the path alone is the same)."""
    if isinstance(value, dict):
        out = {k: with_asset_digests(v, root) for k, v in value.items()}
        kind = value.get("asset") or value.get("archive")
        if kind == "file" and isinstance(value.get("path"), str):
            path = root / value["path"]
            out["sha256"] = digest_path(path) if path.exists() else "(missing)"
        return out
    if isinstance(value, list):
        return [with_asset_digests(v, root) for v in value]
    return value


def synth_side(root: Path, stack: str, label: str) -> Side:
    """Run `mldeploy synth` of the tree at `root` (its own code) and read what it wrote."""
    stack_file = root / "stacks" / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        return Side(label, [], {}, exists=False)
    out = root / OUT / stack
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    code = "import sys; from mldeploy.cli import main; sys.argv[0] = 'mldeploy'; main()"
    run = subprocess.run([sys.executable, "-c", code, "synth", "--stack", stack, "--out", str(out),
                          "--project-dir", str(root)], cwd=root, env=env, capture_output=True, text=True)
    # Exit 1 (a policy violation or a leak) still wrote the synth folder: compare it anyway.
    if run.returncode not in (0, 1) or not (out / "resources.json").is_file():
        raise DiffError(f"synth of stack {stack!r} at {label} failed (exit {run.returncode}):\n"
                        f"{run.stderr.strip()}")
    policy = out / "policy.json"
    violations = json.loads(policy.read_text())["violations"] if policy.is_file() else []
    resources = with_asset_digests(json.loads((out / "resources.json").read_text()), root)
    return Side(label, resources, json.loads((out / "outputs.json").read_text()), violations,
                secure=secure_values(stack_file))


def _base_label(project_root: Path, base_ref: str) -> str:
    try:
        short = _git(project_root, "rev-parse", "--short", "--verify", "--quiet", f"{base_ref}^{{commit}}")
    except DiffError:
        raise DiffError(f"--base {base_ref!r} is not a commit in this repository "
                        "(in CI, fetch the history: actions/checkout with fetch-depth: 0)") from None
    return f"`{base_ref}` ({short})" if not short.startswith(base_ref) else f"`{short}`"


def diff_stack(project_root: Path, stack: str, base_ref: str, base_files: Path | None = None) -> StackDiff:
    """Synthesize `stack` at `base_ref` and in the working tree, and compare. Files the base
    names but git lacks come from `base_files` (a checkout of the base with its models built)
    or, failing that, from the working tree (then listed in `base.stand_ins`)."""
    project_root = project_root.resolve()
    base_label = _base_label(project_root, base_ref)
    sources = [base_files.resolve()] if base_files else []
    with tempfile.TemporaryDirectory(prefix="mldeploy-diff-") as tmp:
        base_root = export_tree(project_root, base_ref, Path(tmp) / "base")
        stack_file = base_root / "stacks" / f"Pulumi.{stack}.yaml"
        copied = copy_untracked_references(stack_file, base_root, [*sources, project_root]) \
            if stack_file.is_file() else {}
        base = synth_side(base_root, stack, base_label)
        base.stand_ins = sorted(p for p, src in copied.items() if src == project_root)
    head = synth_side(project_root, stack, "working tree")
    if not head.exists:
        raise DiffError(f"stack file stacks/Pulumi.{stack}.yaml not found in the working tree")
    return compare(stack, base, head)
