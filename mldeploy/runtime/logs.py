"""The logs of a service served on this machine (`mldeploy serve`): its scorer's and gateway's
log files, merged by time and prefixed with where each line comes from.

    sources = local_sources(run_dir)             # [LogSource("scorer", .../scorer.log), ...]
    for line in merged_tail(sources, 100): print(line)
    follow(sources, print, stop)                  # new lines as they are written
    pod_sources(engine, pod_name(stack, service)) # the containers `serve --containers` runs

Lines carry the time their writer put on them (azmlinfsrv `2026-12-04 11:38:22,007`, nginx
`2026/12/04 11:38:21`); a line without one (a traceback's, granian's `[INFO] ...`) keeps the
time of the line before it in its file, so a traceback stays in one piece.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    from mldeploy.runtime.containers import Engine

SCORER_LOG = "scorer.log"
GATEWAY_LOG = "gateway.log"
_STAMP = re.compile(r"^(\d{4})[-/](\d\d)[-/](\d\d)[ T](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?")


@dataclass(frozen=True)
class LogSource:
    """One log file and the prefix its lines get."""

    name: str
    path: Path


def local_sources(run_dir: Path, deployment: str | None = None) -> list[LogSource]:
    """The log files `serve` writes for one service (run_dir: .mldeploy/local/<stack>/<service>):
    `scorer.log` and `gateway.log`; an online endpoint has one scorer per deployment
    (`<deployment>/scorer.log`)."""
    sources = []
    if (run_dir / SCORER_LOG).exists():
        sources.append(LogSource("scorer", run_dir / SCORER_LOG))
    for log in sorted(run_dir.glob(f"*/{SCORER_LOG}")):
        if deployment in (None, log.parent.name):
            sources.append(LogSource(f"{log.parent.name}/scorer", log))
    if (run_dir / GATEWAY_LOG).exists():
        sources.append(LogSource("gateway", run_dir / GATEWAY_LOG))
    return sources


@dataclass(frozen=True)
class ContainerSource:
    """One running container of a pod `serve --containers` started, and the prefix its lines get."""

    name: str  # the pod's container: scorer, gateway, ...
    container: str  # the engine's name for it


# The engine's own time on each line (`logs --timestamps`, RFC 3339): docker trims the fraction's
# trailing zeros and writes Z, podman writes nine digits and an offset.
_ENGINE_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)? ?")


def pod_sources(engine: "Engine", pod: str, deployment: str | None = None) -> list[ContainerSource]:
    """The running containers of pod `pod` (named `<pod>-<container>` by runtime/pod.py, labelled
    SERVICE_LABEL=`pod`; its docker infra container left out); with `deployment`, only that
    deployment's (its label)."""
    from mldeploy.runtime.pod import DEPLOYMENT_LABEL, SERVICE_LABEL

    only = ["--filter", f"label={DEPLOYMENT_LABEL}={deployment}"] if deployment is not None else []
    names = engine.out("ps", "--filter", f"name=^{pod}-", "--filter", f"label={SERVICE_LABEL}={pod}", *only,
                       "--format", "{{.Names}}", check=False).split()
    return [ContainerSource(n[len(pod) + 1:], n) for n in sorted(names)
            if n.startswith(f"{pod}-") and n != f"{pod}-infra"]


def container_lines(engine: "Engine", source: ContainerSource, tail: int | None) -> list[str]:
    """The container's last `tail` lines (all with None), stdout and stderr in the order written:
    the engine returns them on two pipes, so they are ordered by the time it put on each line."""
    done = engine.run("logs", "--timestamps", *(["--tail", str(tail)] if tail is not None else []),
                      source.container, check=False)
    keyed = []
    for stream, data in enumerate((done.stdout, done.stderr)):
        for n, line in enumerate(data.decode(errors="replace").splitlines()):
            m = _ENGINE_STAMP.match(line)
            key = (m.group(1) + "." + (m.group(2) or "").ljust(9, "0")) if m else ""
            keyed.append(((key, stream, n), line[m.end():] if m else line))
    lines = [text for _, text in sorted(keyed, key=lambda k: k[0])]
    return lines if tail is None else lines[-tail:] if tail else []


def _stamp(line: str) -> str | None:
    """A sortable `YYYYMMDDhhmmss.ffffff` of the line's own time, if it starts with one."""
    m = _STAMP.match(line)
    if not m:
        return None
    return "".join(m.groups()[:6]) + "." + (m.group(7) or "").ljust(6, "0")[:6]


def file_lines(path: Path) -> list[str]:
    """The file's lines, its rotated copy's (`<log>.1`, processes.Child.cap_log) first."""
    lines: list[str] = []
    for p in (path.with_name(path.name + ".1"), path):
        try:
            lines += p.read_text(errors="replace").splitlines()
        except OSError:
            continue
    return lines


def merge(entries: Iterable[tuple[LogSource, list[str]]]) -> list[str]:
    """Every source's lines, prefixed `name | `, in time order (stable: a file keeps its order)."""
    keyed = []
    for index, (source, lines) in enumerate(entries):
        last = ""
        for n, line in enumerate(lines):
            last = _stamp(line) or last
            keyed.append(((last, index, n), f"{source.name} | {line}"))
    return [text for _, text in sorted(keyed, key=lambda k: k[0])]


def merged_tail(sources: list[LogSource], tail: int | None) -> list[str]:
    lines = merge((s, file_lines(s.path)) for s in sources)
    return lines if tail is None else lines[-tail:] if tail else []


def follow(sources: list[LogSource], emit: Callable[[str], None], stop: Callable[[], bool],
           poll_s: float = 0.5) -> None:
    """Emit lines appended to the sources from now on (a file truncated by its rotation is read
    again from its start), until `stop()` is true."""
    offsets = {s.path: _size(s.path) for s in sources}
    partial = {s.path: b"" for s in sources}
    while not stop():
        batch = []
        for source in sources:
            size = _size(source.path)
            if size < offsets[source.path]:  # rotated (copied and truncated in place)
                offsets[source.path], partial[source.path] = 0, b""
            if size == offsets[source.path]:
                continue
            with open(source.path, "rb") as f:
                f.seek(offsets[source.path])
                data = partial[source.path] + f.read(size - offsets[source.path])
            offsets[source.path] = size
            *complete, partial[source.path] = data.split(b"\n")
            batch.append((source, [c.decode(errors="replace") for c in complete]))
        for line in merge(batch):
            emit(line)
        time.sleep(poll_s)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
