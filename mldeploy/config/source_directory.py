"""An image's source directory (`images.<name>.sourceDirectory`): the folder shipped whole beside
the entry script, as Azure ML ships v1's `InferenceConfig(source_directory=...)` and v2's
`CodeConfiguration(code=...)`. This module owns which of its files are shipped, and refuses at
parse time what must never be (secrets, the models, links out of it, more than Azure ML takes).

What is shipped, as Azure ML's own SDK decides it: every file of the folder, minus what the
folder's `.amlignore` names, or its `.gitignore` when there is no `.amlignore` (azure-ai-ml,
`_utils/_asset_utils.py`, get_ignore_file: ".amlignore takes precedence over .gitignore ... The
ignore file must be in the root directory"; learn.microsoft.com/azure/machine-learning/
how-to-save-write-experiment-files#storage-limits-of-experiment-snapshots). The patterns are
matched with pathspec's gitignore rules, the library that SDK matches them with. mldeploy adds:
`__pycache__/`, `*.pyc` and `.git/` are never shipped (bytecode the scorer writes itself, and a
repository's history: neither is source, and either would change the image's digest with no
change to the code).
"""
from __future__ import annotations

import fnmatch
import os
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Iterator, NamedTuple

from pathspec import GitIgnoreSpec

from mldeploy import PROJECT
from mldeploy.config.errors import ConfigError
from mldeploy.config.files import check_path

# Azure ML refuses a code snapshot of more than 300 MB or 2000 files (how-to-save-write-experiment-
# files, "Storage limits of experiment snapshots"): a v1 source_directory that deployed fits them,
# and the same bound keeps a mistaken folder (a dataset, a virtualenv) from being read whole into
# every synth and image build.
MAX_SOURCE_FILES = 2000
MAX_SOURCE_BYTES = 300 * 1024 * 1024
IGNORE_FILES = (".amlignore", ".gitignore")  # the first present is used, as Azure ML does
ALWAYS_LEFT_OUT = GitIgnoreSpec.from_lines(["__pycache__/", "*.pyc", ".git/"])
# Files that hold credentials by convention: shipped in an image (readable by whoever pulls it)
# or a code asset, they would leak. Refused, with the ignore file as the way to leave them out.
SECRET_PATTERNS = (".env", ".env.*", "*.pem", "*.key", "*.pfx", "*.p12", "id_rsa*", "id_ed25519*", "credentials",
                   "credentials.*", "*.publishsettings", ".netrc", ".pypirc", "secrets.*")


def ignore_spec(folder: Path) -> tuple[str | None, GitIgnoreSpec]:
    """The folder's ignore file (its name, or None) and its patterns."""
    for name in IGNORE_FILES:
        path = folder / name
        if path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            return name, GitIgnoreSpec.from_lines(lines)
    return None, GitIgnoreSpec.from_lines([])


def left_out(spec: GitIgnoreSpec, rel: str) -> bool:
    """Whether the walk below leaves the file at `rel` (inside the folder, POSIX) out: it, or a
    folder above it, matches the folder's ignore patterns `spec` or ALWAYS_LEFT_OUT (a folder that
    matches is not entered, so a negated pattern cannot bring a file inside it back: git's rule)."""
    parts = rel.split("/")
    folders = ["/".join(parts[:i]) + "/" for i in range(1, len(parts))]
    return any(ALWAYS_LEFT_OUT.match_file(f) or spec.match_file(f) for f in folders) or \
        ALWAYS_LEFT_OUT.match_file(rel) or spec.match_file(rel)


def _secret_looking(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name.lower(), pattern) for pattern in SECRET_PATTERNS)


def source_files(value: str | None, root: Path, model_paths: tuple[Path, ...] = ()) -> tuple[tuple[str, Path], ...]:
    """(path inside the folder, file) for each file shipped from source directory `value` (relative
    to project `root`; None: no sourceDirectory, nothing shipped beside the script), sorted;
    ValueError naming the file when one may not be shipped (`model_paths`: the stack's models,
    which may not be among them).

    A symbolic link that stays inside the folder ships what it leads to, at the link's path: a
    file's content, a folder's files as if the folder were there (so `lib -> vendor/lib` ships
    `lib/x.py` and `vendor/lib/x.py`). That is what Azure ML's v2 upload does (azure-ai-ml
    `_utils/_asset_utils.py`: `os.walk(path, followlinks=True)`, "for symlinks, use symlink name and
    structure in directory to create remote upload path") and what the build context holds: its
    files are written as regular files (render/build_context.py), never as links - Docker would
    send a link as a link (BuildKit resolves it inside the context, not on the host:
    github.com/moby/buildkit/discussions/6840), a link to an absolute path then broken in the image.
    A link leading out of the folder is refused, as is a cycle (a link to a folder that holds it:
    os.walk with followlinks, azure-ai-ml's, would walk it without end)."""
    if value is None:
        return ()
    walked = _walked(value, root.resolve())
    models = {p.resolve() for p in model_paths}
    for rel, real in walked.folders if models else ():
        if real in models:
            raise ValueError(f"{value}/{rel} is a model's folder (models.*.path): the image carries its models "
                             f"already, in AZUREML_MODEL_DIR; move it out of {value}, or {walked.how}")
    for (rel, _), real in zip(walked.files, walked.real_files) if models else ():
        if real in models:
            raise ValueError(f"{value}/{rel} is a model file (models.*.path): the image carries its models "
                             f"already, in AZUREML_MODEL_DIR; move it out of {value}, or {walked.how}")
    if walked.over:
        raise ValueError(walked.over)
    return walked.files


class _Walk(NamedTuple):
    files: tuple[tuple[str, Path], ...]  # (path inside the folder, the file as walked), sorted
    real_files: tuple[Path, ...]  # each file's real path, in the same order
    folders: tuple[tuple[str, Path], ...]  # (path inside the folder, real path) of each folder walked
    how: str  # the way out every error names: a line in the ignore file
    over: str | None  # the walk stopped at a limit (too many files or bytes): why


# The walks of the scope `walks_cached()` opened (a synth, a Pulumi program run, a `serve` start), by
# project root and sourceDirectory; None outside one (each reload of `serve --reload` walks anew).
_WALKS: dict[tuple[Path, str], _Walk] | None = None


@contextmanager
def walks_cached() -> Iterator[None]:
    """Walk each source directory once while this lasts: the load-time rule, the script warnings,
    the build contexts and batch's code files of one synth (or one `pulumi up` program run, or one
    `serve` start) see one listing of the folder, read once (a 2000-file folder was walked three
    times per synth, and per serve start).
    Only for a run that ends: a file changed after the walk is seen by the next scope. Nested
    scopes share the outermost one's walks."""
    global _WALKS
    if _WALKS is not None:
        yield
        return
    _WALKS = {}
    try:
        yield
    finally:
        _WALKS = None


def _walked(value: str, root: Path) -> _Walk:
    walks = _WALKS  # read once: a scope may end on another thread meanwhile
    if walks is None:
        return _walk(value, root)
    key = (root, value)
    if key not in walks:
        walks[key] = _walk(value, root)
    return walks[key]


def _walk(value: str, root: Path) -> _Walk:
    """The files folder `value` of project `root` ships, refusing what may never be shipped."""
    folder = root / value
    if not folder.is_dir():
        raise ValueError(f"{value} is not a folder; sourceDirectory is the folder shipped beside the entry script")
    ignore_name, spec = ignore_spec(folder)
    how = (f"leave it out with a line in {value}/{ignore_name}" if ignore_name
           else f"leave it out with a line in {value}/.amlignore (gitignore syntax)")
    real_folder = folder.resolve()
    files: list[tuple[str, Path, Path]] = []
    walked_folders: list[tuple[str, Path]] = []
    total = 0
    # Depth first, without recursion (a deep tree is no RecursionError): (the folder as walked, its
    # path inside `value`, the real folders from `value` down to it - a link to one of them is a cycle).
    pending: list[tuple[Path, PurePosixPath, tuple[Path, ...]]] = [(folder, PurePosixPath("."), (real_folder,))]
    while pending:
        current, base, chain = pending.pop()
        if len(walked_folders) >= MAX_SOURCE_FILES:
            raise ValueError(f"{value} holds more than {MAX_SOURCE_FILES} folders (a folder reached through "
                             f"several symbolic links counts each time): {how}")
        walked_folders.append((base.as_posix(), chain[-1]))
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as err:
            raise ValueError(f"cannot read {value}/{base.as_posix()}: {err.strerror}") from None
        subfolders = []
        for entry in entries:
            rel = (base / entry.name).as_posix()
            path = Path(current) / entry.name
            link = entry.is_symlink()
            if _is_folder(entry):
                if ALWAYS_LEFT_OUT.match_file(rel + "/") or spec.match_file(rel + "/"):
                    continue
                # A folder's real path is its real parent's and its name, but for a link (followed).
                real = _resolve(path, value, rel, how) if link else chain[-1] / entry.name
                if link:
                    target = os.readlink(path)
                    if real != real_folder and real_folder not in real.parents:
                        raise ValueError(f"{value}/{rel} is a symbolic link to a folder outside {value} ({target}): "
                                         f"copy the folder into {value}, or {how}")
                    if real in chain:
                        # Named where it is (its folder's real path), not by the way the walk came to it.
                        raise ValueError(f"{_inside(value, chain[-1] / entry.name, real_folder)} is a symbolic link "
                                         f"to {target}, a folder that holds the link "
                                         f"({_inside(value, real, real_folder)}): a cycle, shipped without end; "
                                         f"remove the link, or {how}")
                subfolders.append((path, base / entry.name, (*chain, real)))
                continue
            if ALWAYS_LEFT_OUT.match_file(rel) or spec.match_file(rel):
                continue
            resolved = _resolve(path, value, rel, how) if link else chain[-1] / entry.name
            if link and real_folder not in resolved.parents:
                raise ValueError(f"{value}/{rel} is a symbolic link that leads outside {value} "
                                 f"({os.readlink(path)}): copy the file into it, or {how}")
            if not (resolved.is_file() if link else entry.is_file(follow_symlinks=False)):
                raise ValueError(f"{value}/{rel} is not a regular file (a FIFO, device, socket or broken link); {how}")
            if _secret_looking(entry.name) or _secret_looking(resolved.name):
                raise ValueError(f"{value}/{rel} looks like a file of secrets (.env, *.pem, *.key, credentials): "
                                 f"the image and the code asset would carry it to whoever can pull them; {how}")
            try:
                size = entry.stat().st_size  # follows a link: the size of what ships
                with open(resolved, "rb") as f:
                    f.read(1)
            except OSError as err:
                raise ValueError(f"cannot read {value}/{rel}: {err.strerror}") from None
            total += size
            files.append((rel, path, resolved))
            # Over a limit the walk stops, and says so after the models' check (source_files): a
            # model of 400 MB inside the folder is named as a model, not as 300 MB too many.
            if len(files) > MAX_SOURCE_FILES:
                return _walk_result(files, walked_folders, how, f"{value} ships more than {MAX_SOURCE_FILES} files, "
                                    f"Azure ML's limit for a code snapshot: {how} (a dataset, a virtualenv, outputs)")
            if total > MAX_SOURCE_BYTES:
                return _walk_result(files, walked_folders, how, f"{value} ships more than "
                                    f"{MAX_SOURCE_BYTES // (1024 * 1024)} MB, Azure ML's limit for a code snapshot: "
                                    f"{how} (a dataset, a virtualenv, outputs)")
        pending.extend(reversed(subfolders))
    return _walk_result(files, walked_folders, how, None)


def _walk_result(files: list[tuple[str, Path, Path]], folders: list[tuple[str, Path]], how: str,
                 over: str | None) -> _Walk:
    files = sorted(files)
    return _Walk(tuple((rel, path) for rel, path, _ in files), tuple(real for _, _, real in files), tuple(folders),
                 how, over)


def _is_folder(entry: os.DirEntry) -> bool:
    """A folder, or a link to one (a broken link or a loop of links is no folder: it is reported as
    a file that is not regular)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _stat_ok(path: Path, test) -> bool:
    """Path.exists/is_file without their OSError for a name the file system cannot hold (ENAMETOOLONG: a
    name over 255 bytes): no such file either; check_path then says why in one line."""
    try:
        return test(path)
    except OSError:
        return False


def _resolve(path: Path, value: str, rel: str, how: str) -> Path:
    """`path` with every link followed; ValueError naming it for a loop of links (x -> y -> x)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # Python 3.11's pathlib: RuntimeError("Symlink loop from ...")
        raise ValueError(f"{value}/{rel} is a symbolic link that leads back to itself ({os.readlink(path)}): "
                         f"a loop of links; remove it, or {how}") from None


def _inside(value: str, real: Path, real_folder: Path) -> str:
    """`real` (a folder inside the source directory) as the user names it: `value/...`."""
    return (PurePosixPath(value) / real.relative_to(real_folder).as_posix()).as_posix()


def check_entry_script(value: str, folder: str | None, root: Path, kind: str) -> list[str]:
    """Check entry script `value` (a path in the project, or inside `folder` when a sourceDirectory
    is set) as a file of `kind` (config/files.py); the parts of its path in the app folder."""
    if folder is None:
        check_path(kind, value, root)
        return [PurePosixPath(value.replace("\\", "/")).name]
    # v1: InferenceConfig(source_directory="./source_dir", entry_script="./echo_score.py"); v2:
    # CodeConfiguration(code=..., scoring_script="score.py"), "the scoring script file path relative
    # to the code directory" (learn.microsoft.com/python/api/azure-ai-ml/azure.ai.ml.entities.codeconfiguration).
    inside = PurePosixPath(value.replace("\\", "/"))
    if not value or inside.is_absolute() or ".." in inside.parts or inside.as_posix() == ".":
        raise ValueError(f"entryScript {value!r} must name a file inside sourceDirectory {folder!r}, relative to "
                         f"it (v1's entry_script, v2's scoring_script): e.g. score.py for {folder}/score.py")
    joined = (PurePosixPath(folder) / inside).as_posix()
    prefix = folder.rstrip("/") + "/"
    if not _stat_ok(root / joined, Path.exists) and value.startswith(prefix) and _stat_ok(root / value, Path.is_file):
        raise ValueError(f"entryScript is relative to sourceDirectory {folder!r} (v1's entry_script, v2's "
                         f"scoring_script): write {value[len(prefix):]!r}, not {value!r}")
    check_path(kind, joined, root)
    return list(inside.parts)


class ShipsSourceDirectory:
    """The paths of an entry script that may sit in a sourceDirectory (images, batch entries)."""

    source_directory: str | None
    entry_script: str

    @property
    def script_path(self) -> str:
        """The entry script's path in the project (`entryScript`, inside `sourceDirectory` when set)."""
        if self.source_directory is None:
            return self.entry_script
        return (PurePosixPath(self.source_directory) / self.script_in_source).as_posix()

    @property
    def script_in_source(self) -> str:
        """The entry script's path in the shipped folder: inside `sourceDirectory`, or its file name."""
        path = PurePosixPath(self.entry_script.replace("\\", "/"))
        return path.as_posix() if self.source_directory is not None else path.name


def image_source_files(image, settings, root: Path) -> tuple[tuple[str, Path], ...]:
    """The files an image's (or a batch entry's) settings `image` ship from its sourceDirectory (none
    without one), the stack's models never among them."""
    models = tuple(root / m.path for m in settings.models.values())
    return source_files(image.source_directory, root, models)


def check_source_directories(settings, root: Path) -> None:
    """ConfigError for an image's or batch entry's sourceDirectory holding a file it may not ship
    (a load-time rule)."""
    owners = [(f"images.{n}", i) for n, i in sorted(settings.images.items())]
    owners += [(f"{section}.{n}", e) for section, entries in sorted(settings.sections.items())
               for n, e in sorted(entries.items()) if isinstance(e, ShipsSourceDirectory)]
    for where, owner in owners:
        try:
            image_source_files(owner, settings, root)
        except ValueError as err:
            raise ConfigError(f"{PROJECT}:{where}.sourceDirectory", str(err)) from None
