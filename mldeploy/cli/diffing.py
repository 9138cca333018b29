"""`mldeploy diff`: synthesize a stack at a git ref and in the working tree, offline, and say
which resources are added, removed and changed, and which properties changed (secrets masked).

Each side runs its own tree's mldeploy in a subprocess (a pull request may change the program
itself), with the same project-relative output folder, so paths in inputs compare equal.
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

from mldeploy.nested import leaves

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


@dataclass
class ResourceChange:
    kind: str  # "add" | "remove" | "change"
    urn: str
    type: str
    name: str
    properties: list[tuple[str, Any, Any]]


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
        return bool(self.changes or self.outputs)

    def of(self, kind: str) -> list[ResourceChange]:
        return [c for c in self.changes if c.kind == kind]


# -- comparing -------------------------------------------------------------------------------

_MISSING = object()


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
    """(path, before, after) for every leaf that differs; a missing side is `_MISSING`."""
    # An empty root (a resource with no inputs, or no side at all) has no leaves to compare.
    old = {p: v for p, v in flatten(before) if p or v not in ({}, [])}
    new = {p: v for p, v in flatten(after) if p or v not in ({}, [])}
    return [(path, old.get(path, _MISSING), new.get(path, _MISSING))
            for path in sorted(set(old) | set(new)) if old.get(path, _MISSING) != new.get(path, _MISSING)]


def compare(stack: str, base: Side, head: Side) -> StackDiff:
    old = {r["urn"]: r for r in base.resources}
    new = {r["urn"]: r for r in head.resources}
    changes, unchanged = [], 0
    for urn in sorted(set(old) | set(new)):
        r = new.get(urn) or old[urn]
        if urn not in old:
            changes.append(ResourceChange("add", urn, r["type"], r["name"], diff_values({}, r["inputs"])))
        elif urn not in new:
            changes.append(ResourceChange("remove", urn, r["type"], r["name"], diff_values(r["inputs"], {})))
        else:
            props = diff_values(old[urn]["inputs"], new[urn]["inputs"])
            if props:
                changes.append(ResourceChange("change", urn, r["type"], r["name"], props))
            else:
                unchanged += 1
    return StackDiff(stack, base, head, changes, diff_values(base.outputs, head.outputs), unchanged)


# -- rendering (markdown: reads in a terminal, renders in a PR comment or job summary) -------

_ICON = {"add": "➕ add", "remove": "➖ remove", "change": "✏️ change"}
_LIMIT = 60


def _cell(value: Any) -> str:
    if value is _MISSING:
        return "—"
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    text = text.replace("\n", " ").replace("|", "\\|").replace("`", "'")
    if len(text) > 120:
        text = text[:117] + "..."
    return f"`{text}`"


def render_markdown(d: StackDiff) -> str:
    lines = [f"### mldeploy diff: stack `{d.stack}`, {d.base.label} → {d.head.label}", ""]
    if not d.base.exists:
        lines += [f"_The stack does not exist at {d.base.label}: everything is new._", ""]
    if not d.changed:
        lines += [f"**No changes.** {d.unchanged} resources unchanged.", ""]
        return "\n".join(lines)
    counts = ", ".join(f"{len(d.of(k))} to {k}" for k in ("add", "remove", "change"))
    lines += [f"**{counts}** ({d.unchanged} unchanged)", ""]
    if d.changes:
        lines += ["| | resource | type | properties |", "|---|---|---|---|"]
        lines += [f"| {_ICON[c.kind]} | `{c.name}` | `{c.type}` | {len(c.properties)} |" for c in d.changes]
        lines.append("")
    for c in d.changes:
        shown = c.properties[:_LIMIT]
        lines += [f"<details><summary>{_ICON[c.kind]} <code>{c.name}</code> ({c.type})</summary>", "",
                  "| property | before | after |", "|---|---|---|"]
        lines += [f"| `{p}` | {_cell(b)} | {_cell(a)} |" for p, b, a in shown]
        if len(c.properties) > len(shown):
            lines.append(f"| … | {len(c.properties) - len(shown)} more | |")
        lines += ["", "</details>", ""]
    if d.outputs:
        lines += ["#### Stack outputs", "", "| output | before | after |", "|---|---|---|"]
        lines += [f"| `{p}` | {_cell(b)} | {_cell(a)} |" for p, b, a in d.outputs]
        lines.append("")
    blocking = [v for v in d.head.violations if v.get("enforcement") == "mandatory"]
    if blocking:
        lines += [f"#### ⛔ {len(blocking)} mandatory policy violation(s) at {d.head.label}", ""]
        lines += [f"- `{v['policy']}`: {v['message']}" for v in blocking]
        lines.append("")
    return "\n".join(lines)


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


def copy_untracked_references(stack_file: Path, base_root: Path, work_root: Path) -> list[str]:
    """Copy what the base stack file names but git does not hold (a trained, gitignored model)
    from the working tree, so the base synthesizes with the same artifacts as the head."""
    try:
        doc = yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return []  # the base synth reports the broken file itself
    copied = []
    for text in sorted(set(_strings(doc.get("config") if isinstance(doc, dict) else None))):
        if "://" in text or os.path.isabs(text) or not text.strip() or ".." in Path(text).parts:
            continue
        source, target = work_root / text, base_root / text
        if source.exists() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy2(source, target)
            copied.append(text)
    return copied


def synth_side(root: Path, stack: str, label: str) -> Side:
    """Run `mldeploy synth` of the tree at `root` (its own code) and read what it wrote."""
    if not (root / "stacks" / f"Pulumi.{stack}.yaml").is_file():
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
    return Side(label, json.loads((out / "resources.json").read_text()),
                json.loads((out / "outputs.json").read_text()), violations)


def diff_stack(project_root: Path, stack: str, base_ref: str) -> StackDiff:
    """Synthesize `stack` at `base_ref` and in the working tree, and compare."""
    project_root = project_root.resolve()
    try:
        short = _git(project_root, "rev-parse", "--short", "--verify", "--quiet", f"{base_ref}^{{commit}}")
    except DiffError:
        raise DiffError(f"--base {base_ref!r} is not a commit in this repository "
                        "(in CI, fetch the history: actions/checkout with fetch-depth: 0)") from None
    base_label = f"`{base_ref}` ({short})" if not short.startswith(base_ref) else f"`{short}`"
    with tempfile.TemporaryDirectory(prefix="mldeploy-diff-") as tmp:
        base_root = export_tree(project_root, base_ref, Path(tmp) / "base")
        stack_file = base_root / "stacks" / f"Pulumi.{stack}.yaml"
        if stack_file.is_file():
            copy_untracked_references(stack_file, base_root, project_root)
        base = synth_side(base_root, stack, base_label)
    head = synth_side(project_root, stack, "working tree")
    if not head.exists:
        raise DiffError(f"stack file stacks/Pulumi.{stack}.yaml not found in the working tree")
    return compare(stack, base, head)
