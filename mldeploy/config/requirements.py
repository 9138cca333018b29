"""A pip requirements file with the files it includes (`-r`/`--requirement`, `-c`/`--constraint`),
read once at load time: which project files the environment is made of, and its requirements and
constraints as self-contained lists for the places that take one file (Azure ML's conda file, the
local virtualenv).

Read as pip reads it (pip 24-26, src/pip/_internal/req/req_file.py): a line ending in a backslash
joins the next (`join_lines`), `#` at the start or after whitespace starts a comment (`COMMENT_RE`
`(^|\\s+)#.*$`), and a nested file's path is relative to the file that names it
(`os.path.join(os.path.dirname(filename), req_path)`); every line of a file named by `-c`, and of
any file it includes, is a constraint. pip's parser is internal (pip documents no Python API and
says not to import `pip._internal`), so this small reader follows it rather than importing it.

An included file must be a project file (the image is built from the project's files and every
machine deploying the stack must build the same): no URL, no absolute path, no `${VAR}` pip would
expand only at build time, nothing outside the project, no missing file, no file that includes
itself through others. Each refusal is one line naming the file, the line and the rule.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mldeploy.config.errors import ConfigError
from mldeploy.config.strict_yaml import read_text_file

_COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's COMMENT_RE
_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?<=^-[rc]))(\S.*)?$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^file:")
MAX_INCLUDED_FILES = 100  # bound the walk (a tree this size is a mistake, not an environment)


@dataclass(frozen=True)
class RequirementsTree:
    """The file a stack names (`main`, project-relative) and every file it includes, in the order
    pip reads them (`files`: project-relative POSIX path -> text); `requirements` and `constraints`:
    their logical lines (includes inlined, `-r`/`-c` lines gone), in pip's reading order."""

    main: str
    files: tuple[tuple[str, str], ...]
    requirements: tuple[str, ...]
    constraints: tuple[str, ...]

    @property
    def includes(self) -> bool:
        return len(self.files) > 1

    def text(self) -> str:
        """The requirements as one self-contained requirements file (constraints not included)."""
        return "".join(line + "\n" for line in self.requirements)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first physical line number, the line) for each logical line pip reads: continuations
    joined, comments removed, blank lines skipped."""
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        # pip's join_lines: a comment line never continues; a trailing backslash does.
        if raw.endswith("\\") and not re.match(r"^\s*#", raw):
            pending += raw[:-1] + " "
            continue
        line = _COMMENT.sub("", pending + raw).strip()
        pending = ""
        if line:
            lines.append((start, line))
    if pending.strip():
        line = _COMMENT.sub("", pending).strip()
        if line:
            lines.append((start, line))
    return lines


def include_of(line: str) -> tuple[bool, str] | None:
    """(is a constraint, the named path) for an include line, None for any other line."""
    match = _INCLUDE.match(line)
    if not match:
        return None
    return match.group(1) in ("-c", "--constraint"), (match.group(2) or "").strip()


def read_requirements(value: str, root: Path) -> RequirementsTree:
    """The requirements file `value` (project-relative, already checked to be a project file)
    with everything it includes; ValueError with one line naming the file, line and rule."""
    root = root.resolve()
    files: dict[str, str] = {}
    requirements: list[str] = []
    constraints: list[str] = []
    walked: set[tuple[str, bool]] = set()  # a file included twice (not a cycle) adds its lines once

    def walk(rel: str, constraint: bool, chain: tuple[str, ...]) -> None:
        if (rel, constraint) in walked:
            return
        walked.add((rel, constraint))
        text = files.get(rel)
        if text is None:
            try:
                text = read_text_file(root / rel, "requirements file")
            except ConfigError as err:
                raise ValueError(f"{rel}: {err.message}") from None
            files[rel] = text
            if len(files) > MAX_INCLUDED_FILES:
                raise ValueError(f"{value} includes more than {MAX_INCLUDED_FILES} files")
        for number, line in logical_lines(text):
            include = include_of(line)
            if include is None:
                (constraints if constraint else requirements).append(line)
                continue
            nested_constraint, path = include
            target = _included(rel, number, line, path, root)
            if target in chain:
                raise ValueError(f"{rel}: line {number}: {line[:60]!r} includes {target}, which includes "
                                 f"{rel} again ({' -> '.join(chain[chain.index(target):] + (target,))}): "
                                 "pip would include files forever; remove one of the includes")
            walk(target, constraint or nested_constraint, chain + (target,))

    main = PurePosixPath(Path(value).as_posix()).as_posix()
    walk(main, False, (main,))
    return RequirementsTree(main=main, files=tuple(files.items()), requirements=tuple(requirements),
                            constraints=tuple(constraints))


def _included(rel: str, number: int, line: str, path: str, root: Path) -> str:
    """The project-relative path of the file an include line names, or ValueError with its rule."""
    where = f"{rel}: line {number}: {line[:60]!r}"
    if not path:
        raise ValueError(f"{where} names no file: `-r`/`-c` take the path of a requirements file")
    if _URL.match(path) or "${" in path or path.startswith("~"):
        raise ValueError(f"{where} includes a file that is not in the project (a URL, `~` or a ${{VAR}} pip "
                         "expands only at build time): name a file of the project, relative to this one")
    if Path(path).is_absolute():
        raise ValueError(f"{where} includes an absolute path: name a file of the project, relative to {rel} "
                         "(as pip resolves it), so every machine deploying the stack builds the same")
    # The path as pip joins it (kept, not the symlink-resolved one: the image holds the files at these
    # paths); what it resolves to must stay inside the project.
    joined = os.path.normpath((PurePosixPath(rel).parent / path).as_posix())
    resolved = (root / joined).resolve()
    if joined.startswith("..") or root not in resolved.parents:
        raise ValueError(f"{where} includes a file outside the project root ({root}, the folder with "
                         "Pulumi.yaml): the image is built from the project's files; copy it into the project")
    if not resolved.exists():
        raise ValueError(f"{where} includes {joined}, which does not exist "
                         f"(pip resolves the path relative to {rel})")
    if not resolved.is_file():
        raise ValueError(f"{where} includes {joined}, which is not a regular file")
    return joined
