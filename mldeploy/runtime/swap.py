"""`serve --reload`'s one-way switch, the one sequence every local runner swaps scorers with:
LocalServer (one scorer behind its gateway), LocalEndpoint (a scorer per deployment behind the
endpoint's) and a split of gateways (targets/serving.py SplitReload: a LocalServer per variant).

    swap_one_way([lambda: server.next_scorers(changes), ...], timeout)  # StartError: nothing switched

1. start: each new scorer is started beside the running one, on the spare of its ScorerSocket's two
   socket names, and its gateway drains (render/gateway.py _drain: the gateway's answers say
   `Connection: close`, and so do the requests it passes on).
2. wait: every new scorer's init() has finished (wait_all_ok: all polled together). A new scorer
   that exits or is not ready in time: every new scorer is stopped, its socket and build context
   removed, the drains end, and the old scorers serve on - nothing was switched.
3. switch: after DRAIN_SECONDS of drain no nginx worker keeps an idle connection to an old scorer;
   only then is each link made to lead to its new scorer's socket (os.replace: atomic; connect()
   follows the link), so every later request opens a connection to a new scorer. Before, a worker's
   kept connection to the old scorer was reused after others had reached the new one (answers
   flipped).
4. retire: each gateway is reloaded (reload_gateway: same config, new workers, the old ones finish
   their requests and exit) - how `serve` knows the old scorers hold no request any more - then the
   drain ends, the old scorers stop and their sockets and build contexts are removed.

One way only: once a request got the new code's answer, none sent after it gets the old one. All
the new scorers of one call are switched together, whichever gateway and image they serve.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from mldeploy.render.build_context import BuildContext
from mldeploy.render.gateway import DRAIN_SECONDS, drain_file
from mldeploy.runtime.processes import (SOCKET_NAME_MAX, Child, StartError, child_pids, listen_unix_socket,
                                        unix_http_status, wait_all_ok)


def point_socket_link(link: Path, target: Path) -> None:
    """Make the symbolic link `link` lead to the socket `target` in the same folder, atomically
    (os.replace of a new link): a connect() through it reaches either the old or the new socket."""
    staged = link.with_suffix(".next")
    staged.unlink(missing_ok=True)
    os.symlink(target.name, staged)
    os.replace(staged, link)


def reload_gateway(gateway: Child | None, scoring_timeout_ms: int) -> None:
    """nginx's graceful reload (SIGHUP: it re-reads nginx.conf, starts new workers, the old ones
    finish their requests and exit; nginx.org/en/docs/control.html), returning once the old
    workers have exited - at most the scoring timeout + 5 s - so that no kept connection of theirs
    to a scorer outlives the return."""
    if gateway is None or gateway.exit_code() is not None:
        return
    old_workers = child_pids(gateway.pid)
    os.kill(gateway.pid, signal.SIGHUP)
    deadline = time.monotonic() + scoring_timeout_ms / 1000 + 5
    while old_workers & child_pids(gateway.pid) and time.monotonic() < deadline:
        time.sleep(0.05)


class ScorerSocket:
    """Where a gateway reaches one scorer - `link`, a symbolic link in the socket folder - and what
    serves there now: the scorer (`child`), the socket the link leads to, the folder its build
    context was written to. A scorer removes its own socket's path when it exits (gunicorn and
    granian both unlink it), which must never be the gateway's: hence the link. Successive scorers
    alternate between two socket names (`<stem>0.sock`, `<stem>1.sock`) and two context folders
    (`context`, `context.1` in `context_parent`): names never grow however many reloads, and at most
    two of each exist - the running scorer's and a reload's next one's."""

    def __init__(self, socket_folder: Path, link_name: str, stem: str, context_parent: Path):
        self.link = socket_folder / link_name
        self.sockets = (socket_folder / f"{stem}0.sock", socket_folder / f"{stem}1.sock")
        self.context_dirs = (context_parent / "context", context_parent / "context.1")
        names = (self.link.name, self.link.with_suffix(".next").name, *(s.name for s in self.sockets))
        if max(map(len, names)) > SOCKET_NAME_MAX:  # socket_dir() leaves room for that many characters
            # Only an endpoint of 100,000 deployments or more (named by their place): a line, not a traceback.
            raise StartError(f"the scorer socket names {', '.join(names)} are longer than {SOCKET_NAME_MAX} "
                             "characters, which the socket folder leaves room for: serve fewer deployments at once")
        self.slot = 0  # which socket and context folder the scorer serving now has
        self.child: Child | None = None

    @property
    def socket(self) -> Path:
        return self.sockets[self.slot]

    @property
    def context_dir(self) -> Path:
        return self.context_dirs[self.slot]

    def listen(self) -> socket.socket:
        """The first scorer's listening socket, the link made to lead to it."""
        sock = listen_unix_socket(self.socket)
        point_socket_link(self.link, self.socket)
        return sock


@dataclass
class NextScorer:
    """A scorer a reload started beside the one `place` serves, in its spare `slot`."""

    place: ScorerSocket
    slot: int
    child: Child
    what: str  # how an error names it: "the new scorer", "the new scorer of deployment 'green'"
    started: float  # time.monotonic() before its start
    ready_s: float = 0.0  # seconds from its start until its init() had finished

    @property
    def sock_path(self) -> Path:
        return self.place.sockets[self.slot]

    @property
    def context_dir(self) -> Path:
        return self.place.context_dirs[self.slot]


class GatewaySwap:
    """One gateway's share of a reload: the new scorers started behind it (start), and the steps
    swap_one_way takes them through. `reload_workers` retires the gateway's old workers
    (reload_gateway of the runner's gateway); `adopt` records, once the old scorers have stopped,
    what the runner serves now (its build contexts and environments)."""

    def __init__(self, gateway_dir: Path, reload_workers: Callable[[], None], adopt: Callable[[], None]):
        self.drain = Path(drain_file(str(gateway_dir)))
        self.reload_workers, self.adopt = reload_workers, adopt
        self.next: list[NextScorer] = []
        self.drained_from: float | None = None

    def start(self, place: ScorerSocket, context: BuildContext,
              child_of: Callable[[Path, socket.socket], Child], what: str) -> None:
        """A scorer of `context` (child_of(its context folder, its listening socket)) started beside
        the one `place` serves, and the gateway draining. A failure stops every scorer started here
        before it is raised."""
        started, slot = time.monotonic(), 1 - place.slot
        sock_path, context_dir = place.sockets[slot], place.context_dirs[slot]
        try:
            context.write(context_dir)
            child = child_of(context_dir, listen_unix_socket(sock_path))
        except BaseException:
            sock_path.unlink(missing_ok=True)
            shutil.rmtree(context_dir, ignore_errors=True)
            self.abandon()
            raise
        self.next.append(NextScorer(place, slot, child, what, started))
        try:
            child.start()
        except BaseException:
            self.abandon()
            raise
        if self.drained_from is None:
            self.drain.touch()
            self.drained_from = time.monotonic()

    def abandon(self) -> None:
        """The new scorers stopped and their files removed; the running ones serve on, undrained."""
        for next_scorer in self.next:
            next_scorer.child.stop()
            next_scorer.sock_path.unlink(missing_ok=True)
            shutil.rmtree(next_scorer.context_dir, ignore_errors=True)
        self.next = []
        self.drain.unlink(missing_ok=True)

    def switch(self) -> None:
        """Once the gateway has drained long enough that no nginx worker keeps an idle connection to
        an old scorer, each link leads to its new scorer: every request from now on reaches one."""
        if self.drained_from is not None:
            time.sleep(max(0.0, self.drained_from + DRAIN_SECONDS - time.monotonic()))
        for next_scorer in self.next:
            point_socket_link(next_scorer.place.link, next_scorer.sock_path)

    def retire(self) -> None:
        """After switch: nginx's old workers finish their requests (the old scorers' last ones), the
        drain ends, the old scorers stop and their sockets and build contexts are removed."""
        self.reload_workers()
        self.drain.unlink(missing_ok=True)
        for next_scorer in self.next:
            place = next_scorer.place
            old, old_socket, old_context = place.child, place.socket, place.context_dir
            place.child, place.slot = next_scorer.child, next_scorer.slot
            if old is not None:
                old.stop()
            old_socket.unlink(missing_ok=True)  # gunicorn and granian remove it; a killed one may not
            shutil.rmtree(old_context, ignore_errors=True)
        self.adopt()


def swap_one_way(starts: Iterable[Callable[[], GatewaySwap]], timeout: float) -> float:
    """Start every gateway's new scorers (`starts`), wait until all are ready (`timeout` for all of
    them), switch them all, retire the old ones; the seconds the slowest took to be ready. StartError
    (Ctrl+C too): every new scorer stopped, nothing switched, the old ones serving on."""
    deadline = time.monotonic() + timeout
    swaps: list[GatewaySwap] = []
    try:
        for start in starts:
            swaps.append(start())
        waiting = [n for swap in swaps for n in swap.next]
        ready_at = wait_all_ok([(n.child, lambda n=n: unix_http_status(n.sock_path, timeout=1.0), n.what)
                                for n in waiting], timeout, deadline)
    except BaseException:
        for swap in swaps:
            swap.abandon()
        raise
    for next_scorer, at in zip(waiting, ready_at):
        next_scorer.ready_s = at - next_scorer.started
    for swap in swaps:
        swap.switch()
    for swap in swaps:
        swap.retire()
    return max((n.ready_s for n in waiting), default=0.0)
