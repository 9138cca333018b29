"""Content digests: the same bytes give the same digest, on any machine, in any order."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Mapping


def files_of(path: Path) -> list[tuple[str, Path]]:
    """(relative posix name, path) of a file, or of every file below a folder, sorted."""
    if path.is_file():
        return [(path.name, path)]
    return sorted(
        (p.relative_to(path).as_posix(), p) for p in path.rglob("*") if p.is_file()
    )


def digest_files(entries: list[tuple[str, bytes]]) -> str:
    """sha256 over (name, size, bytes) of each entry, sorted by name."""
    h = hashlib.sha256()
    for name, data in sorted(entries):
        h.update(name.encode() + b"\0" + str(len(data)).encode() + b"\0")
        h.update(data)
    return h.hexdigest()


def digest_path(path: Path) -> str:
    return digest_files([(name, p.read_bytes()) for name, p in files_of(path)])


def digest_mapping(files: Mapping[str, bytes]) -> str:
    return digest_files(list(files.items()))
