"""runtime/swap.py's sequence with stand-in scorers (a few lines of Python answering 200 on the
Unix socket they are handed, or exiting at once) and no gateway: a reload whose second new scorer
fails switches nothing, stops the first, and leaves no file; one that succeeds switches every link
and retires the old scorers. The real processes: test_swap_names_e2e.py, test_*_swap_e2e.py."""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mldeploy.runtime.processes import Child, StartError
from mldeploy.runtime.swap import GatewaySwap, ScorerSocket, swap_one_way

SERVE = ("import os, socket\n"
         "s = socket.socket(fileno=int(os.environ['FD']))\n"
         "while True:\n"
         "    c, _ = s.accept(); c.recv(65536)\n"
         "    c.sendall(b'HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok'); c.close()\n")
FAIL = "import sys; print('RuntimeError: green is broken on purpose', flush=True); sys.exit(3)"


class _Context:
    """What GatewaySwap.start asks of a build context: written to a folder."""

    def write(self, dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "score.py").write_text("")


def _child(code: str, folder: Path, name: str, made: list | None = None):
    def child_of(context_dir: Path, sock) -> Child:
        child = Child(name, [sys.executable, "-c", code], env={}, cwd=context_dir, log=folder / f"{name}.log",
                      sock=sock, sock_env=lambda fd: {"FD": str(fd)})
        (made if made is not None else []).append(child)
        return child
    return child_of


@pytest.fixture
def endpoint(tmp_path):
    """Two deployments' places in a socket folder, each with its first scorer serving."""
    sockets = Path(tempfile.mkdtemp(prefix="swap-", dir="/tmp"))  # short: a socket's path is
    (tmp_path / "gateway").mkdir()  # where the drain file goes
    places = {}
    for index, name in enumerate(("blue", "green")):
        place = places[name] = ScorerSocket(sockets, f"{index}.sock", f"{index}-", tmp_path / name)
        _Context().write(place.context_dir)
        place.child = _child(SERVE, tmp_path, f"{name}-old")(place.context_dir, place.listen())
        place.child.start()
    yield places, sockets, tmp_path
    for place in places.values():
        place.child.stop()
    for path in sockets.iterdir():
        path.unlink()
    sockets.rmdir()


def _starts(places, folder: Path, codes: dict[str, str], reloaded: list[str], made: list | None = None):
    swap = GatewaySwap(folder / "gateway", lambda: reloaded.append("reload"), lambda: reloaded.append("adopt"))
    for name, code in codes.items():
        swap.start(places[name], _Context(), _child(code, folder, f"{name}-new", made),
                   f"the new scorer of deployment {name!r}")
    return swap


def test_a_second_deployment_whose_new_scorer_fails_switches_none_and_leaves_nothing(endpoint):
    places, sockets, folder = endpoint
    before = {name: place.child for name, place in places.items()}
    reloaded: list[str] = []
    made: list[Child] = []
    started = time.monotonic()
    with pytest.raises(StartError) as failure:
        swap_one_way([lambda: _starts(places, folder, {"blue": SERVE, "green": FAIL}, reloaded, made)], timeout=60)
    assert str(failure.value).startswith("the new scorer of deployment 'green' exited (code 3) before it was ready: "
                                         "RuntimeError: green is broken on purpose"), failure.value
    assert time.monotonic() - started < 30, "the exit is seen at once, not after the timeout"
    assert reloaded == [], "the gateway was not reloaded: nothing was switched"
    assert {name: os.readlink(place.link) for name, place in places.items()} == {"blue": "0-0.sock", "green": "1-0.sock"}
    assert {name: place.child for name, place in places.items()} == before
    assert all(child.exit_code() is None for child in before.values()), "the old scorers serve on"
    assert sorted(p.name for p in sockets.iterdir()) == ["0-0.sock", "0.sock", "1-0.sock", "1.sock"], \
        "the new scorers' sockets are removed"
    assert not [p for p in folder.rglob("context.1")], "the new scorers' build contexts are removed"
    assert not list(folder.glob("gateway/*")), "the drain ended"
    assert [c.name for c in made] == ["blue-new", "green-new"] and all(c.pid for c in made), "both were started"
    assert all(c.exit_code() is not None for c in made), "the new scorers are stopped"


def test_a_reload_whose_new_scorers_are_ready_switches_every_link_and_retires_the_old(endpoint):
    places, sockets, folder = endpoint
    before = {name: place.child for name, place in places.items()}
    reloaded: list[str] = []
    swap_one_way([lambda: _starts(places, folder, {"blue": SERVE, "green": SERVE}, reloaded)], timeout=60)
    assert reloaded == ["reload", "adopt"]
    assert {name: os.readlink(place.link) for name, place in places.items()} == {"blue": "0-1.sock", "green": "1-1.sock"}
    assert all(child.exit_code() is not None for child in before.values()), "the old scorers are stopped"
    assert sorted(p.name for p in sockets.iterdir()) == ["0-1.sock", "0.sock", "1-1.sock", "1.sock"]
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("context*")) == \
        ["blue/context.1", "green/context.1"]


def test_socket_names_that_would_not_fit_the_socket_folder_are_refused(tmp_path):
    with pytest.raises(StartError, match="100000-0.sock, 100000-1.sock are longer than 12 characters"):
        ScorerSocket(tmp_path, "100000.sock", "100000-", tmp_path)
    ScorerSocket(tmp_path, "99999.sock", "99999-", tmp_path)
