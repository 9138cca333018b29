"""`mldeploy diff`, the two sides: the stack synthesized at a git ref and in the working tree.

Each side runs its own tree's mldeploy in a subprocess (a pull request may change the program
itself), with the same project-relative output folder, so paths in inputs compare equal. File
assets (model files, scoring scripts) are compared by content: each side's resources get the
sha256 of the file in that side's tree. Files the base names but git lacks (trained models)
come from --base-files, else from the working tree (then said).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Iterator

import yaml

from mldeploy.cli.diffing import DiffError, Side, StackDiff, compare
from mldeploy.contract import stack_file_path
from mldeploy.nested import leaves
from mldeploy.plan.digest import digest_path
from mldeploy.synth.warnings import read_warnings

OUT = Path(".mldeploy") / "diff"  # inside each tree, gitignored


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
    stack_file = root / stack_file_path(stack)
    if not stack_file.is_file():
        return Side(label, [], {}, exists=False)
    out = root / OUT / stack
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    code = "import sys; from mldeploy.cli import main; sys.argv[0] = 'mldeploy'; main()"
    run = subprocess.run([sys.executable, "-c", code, "synth", "--stack", stack, "--out", str(out),
                          "--project-dir", str(root)], cwd=root, env=env, capture_output=True, text=True)
    # Exit 1 (a policy violation or a leak) still wrote the synth folder: compare it anyway.
    if run.returncode not in (0, 1) or not (out / "resources.json").is_file():
        # One line, as every mldeploy error: synth's own `error:` line (a stack error names file and
        # key), else its last line (a base whose own code failed), and which side it was.
        lines = [line.strip() for line in run.stderr.splitlines() if line.strip()]
        said = next((line for line in reversed(lines) if line.startswith("error: ")), lines[-1] if lines else "")
        raise DiffError(f"{said.removeprefix('error: ') or 'no message'} (synth of stack {stack!r} at {label}, "
                        f"exit {run.returncode})")
    policy = out / "policy.json"
    violations = json.loads(policy.read_text())["violations"] if policy.is_file() else []
    resources = with_asset_digests(json.loads((out / "resources.json").read_text()), root)
    said = {kind: list(dict.fromkeys(line.removeprefix(f"{kind}: ").strip() for line in run.stderr.splitlines()
                                     if line.startswith(f"{kind}: "))) for kind in ("warning", "note")}
    warned = read_warnings(out)  # synth's own list (synth/warnings.py), whole; an older side's stderr else
    if warned is not None:
        said["warning"] = [f"{'' if level == 'warning' else f'{level}: '}{stack_file_path(stack)}: {message}"
                           for level, message in warned]
    return Side(label, resources, json.loads((out / "outputs.json").read_text()), violations,
                secure=secure_values(stack_file), warnings=said["warning"], notes=said["note"],
                config={str(k).removeprefix("mldeploy:"): v for k, v in _read_stack(stack_file).items()})


def _base_label(project_root: Path, base_ref: str) -> str:
    try:
        short = _git(project_root, "rev-parse", "--short", "--verify", "--quiet", f"{base_ref}^{{commit}}")
    except DiffError:
        _refuse_without_commits(project_root)
        raise DiffError(f"--base {base_ref!r} is not a commit in this repository "
                        "(in CI, fetch the history: actions/checkout with fetch-depth: 0)") from None
    return f"`{base_ref}` ({short})" if not short.startswith(base_ref) else f"`{short}`"


def _refuse_without_commits(project_root: Path) -> None:
    """A new project (`mldeploy init` writes no repository) has nothing to compare against yet:
    say so and how to start, rather than that HEAD is not a commit."""
    try:
        _git(project_root, "rev-parse", "--is-inside-work-tree")
    except DiffError:
        raise DiffError(f"{project_root} is not in a git repository: mldeploy diff compares the working tree "
                        "with a commit; start one with `git init && git add -A && git commit -m 'first'`") from None
    try:
        _git(project_root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    except DiffError:
        raise DiffError(f"the git repository of {project_root} has no commit yet: mldeploy diff compares the "
                        "working tree with one; commit the project first (`git add -A && git commit -m "
                        "'first'`)") from None


def diff_stack(project_root: Path, stack: str, base_ref: str, base_files: Path | None = None) -> StackDiff:
    """Synthesize `stack` at `base_ref` and in the working tree, and compare. Files the base
    names but git lacks come from `base_files` (a checkout of the base with its models built)
    or, failing that, from the working tree (then listed in `base.stand_ins`)."""
    project_root = project_root.resolve()
    base_label = _base_label(project_root, base_ref)
    sources = [base_files.resolve()] if base_files else []
    with tempfile.TemporaryDirectory(prefix="mldeploy-diff-") as tmp:
        base_root = export_tree(project_root, base_ref, Path(tmp) / "base")
        stack_file = base_root / stack_file_path(stack)
        copied = copy_untracked_references(stack_file, base_root, [*sources, project_root]) \
            if stack_file.is_file() else {}
        base = synth_side(base_root, stack, base_label)
        base.stand_ins = sorted(p for p, src in copied.items() if src == project_root)
    head = synth_side(project_root, stack, "working tree")
    if not head.exists:
        raise DiffError(f"stack file {stack_file_path(stack)} not found in the working tree")
    return compare(stack, base, head)
