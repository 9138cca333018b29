"""What `mldeploy serve` says before a service starts (mldeploy/targets/serving.py): where it will
listen, in words a user reads - a port, or that the system picks one."""
from __future__ import annotations

from pathlib import Path

import pytest

from mldeploy.targets import target_of
from mldeploy.targets.stack import load_stack
from mldeploy.targets.target import LocalServe
from tests.harness import ROOT


@pytest.mark.parametrize("port, where", [
    (None, "127.0.0.1 (a free port: see the scoring URI below)"),
    (8899, "127.0.0.1:8899"),
])
def test_an_endpoint_s_start_line_says_where_it_listens(tmp_path: Path, port, where):
    """An online endpoint has no port of its own: its start line said `127.0.0.1:<any>`."""
    settings = load_stack(ROOT, "managed")
    said: list[str] = []
    serve = LocalServe(stack=settings, prepared=lambda image: (None, None), run_dir=tmp_path, port=port,
                       logs_command="mldeploy logs", tls_files=None, max_concurrent=None, info=said.append)
    target_of(settings.services["diabetes"]).local_runner("diabetes", settings.services["diabetes"], serve)
    assert len(said) == 1 and f"behind a gateway on {where}, answering as managed does" in said[0], said
    assert "<any>" not in said[0], said
