"""`serve --containers` keeps the endpoint file plain `serve` keeps (runtime/local.py EndpointRecord),
so `mldeploy test --local` finds it: each run path (pod, split, online endpoint) publishes its URI and
keys owner-only once it answers and withdraws them on SIGTERM and on a failed start. The engine's
pods, ingress and containers are stand-ins here (no podman); tests/containers/ runs the real ones."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest

from mldeploy.cli import serve_containers
from mldeploy.cli.serve import run_dir
from mldeploy.cli.serve_split import run_split
from mldeploy.cli.test import _local_endpoint
from mldeploy.runtime.local import ENDPOINT_FILE, Endpoint, EndpointRecord
from mldeploy.runtime.pod import PodError

KEYS = ("k" * 32, "s" * 32)


@pytest.fixture(autouse=True)
def _signal_handlers():
    """The run paths install their own SIGTERM/SIGINT handlers: pytest's are restored after."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


class _Seen:
    """What `test --local` found while the service ran (read when the stand-in is first polled)."""

    def __init__(self, root: Path):
        self.root, self.found, self.mode, self.raw = root, None, None, None

    def look_then_stop(self) -> None:
        if self.found is None:
            path = run_dir(self.root, "dev", "svc") / ENDPOINT_FILE
            self.mode, self.raw = path.stat().st_mode & 0o777, json.loads(path.read_text())
            self.found = _local_endpoint(self.root, "dev", "svc")
            os.kill(os.getpid(), signal.SIGTERM)  # the run path's own handler: a graceful stop


def _fake_pod(seen: _Seen, fail_ready: bool = False):
    class FakePod:
        def __init__(self, engine, pod_id, inputs, pod_dir, publish=()):
            self.name, self.states = pod_id, ["scorer", "gateway"]

        def start(self):
            pass

        def wait_ready(self, timeout):
            if fail_ready:
                raise PodError("scorer never became ready")

        @property
        def ready(self):
            seen.look_then_stop()
            return True

        def describe(self):
            return ""

        def terminate(self):
            pass

        def remove(self):
            pass

    return FakePod


def _pod_src():
    return SimpleNamespace(inputs=SimpleNamespace(extra_env={}, labels={}, images={}, spec={"containers": []}),
                           keys=KEYS,
                           deployment={"metadata": {"name": "svc"}})


def _record(root: Path) -> EndpointRecord:
    record = EndpointRecord(run_dir(root, "dev", "svc"), "service 'svc'")
    record.claim()
    return record


def _run_pod(root: Path, cafile: str | None = None) -> None:
    serve_containers._run(SimpleNamespace(name="podman"), "mldeploy-dev-svc", "svc", _pod_src(), root / "pod",
                          variants={}, port=18890, gateway_port=8890, timeout=5, as_json=False, cafile=cafile,
                          sample=None, logs_command="mldeploy logs --stack dev --service svc --local",
                          record=_record(root))


def test_a_pod_publishes_its_uri_and_keys_for_test_local_and_withdraws_them_on_sigterm(tmp_path, monkeypatch):
    seen = _Seen(tmp_path)
    monkeypatch.setattr("mldeploy.runtime.pod.LocalPod", _fake_pod(seen))
    _run_pod(tmp_path, cafile=str(tmp_path / "cert.pem"))
    assert seen.found == ("https://127.0.0.1:18890/score", KEYS[0], str(tmp_path / "cert.pem"))
    assert seen.mode == 0o600, "the keys are the owner's only, as plain serve keeps them"
    assert seen.raw == {"scoringUri": "https://127.0.0.1:18890/score", "swaggerUri": "https://127.0.0.1:18890/swagger.json",
                        "primaryKey": KEYS[0], "secondaryKey": KEYS[1], "caFile": str(tmp_path / "cert.pem"),
                        "pid": os.getpid()}
    assert not (run_dir(tmp_path, "dev", "svc") / ENDPOINT_FILE).exists(), "withdrawn on stop"


def test_a_pod_that_fails_to_start_leaves_no_endpoint_file(tmp_path, monkeypatch):
    seen = _Seen(tmp_path)
    monkeypatch.setattr("mldeploy.runtime.pod.LocalPod", _fake_pod(seen, fail_ready=True))
    with pytest.raises(SystemExit) as exit_:
        _run_pod(tmp_path)
    assert exit_.value.code == 1 and not (run_dir(tmp_path, "dev", "svc") / ENDPOINT_FILE).exists()


def test_a_split_publishes_its_ingress_for_test_local_and_withdraws_it_on_sigterm(tmp_path, monkeypatch):
    seen = _Seen(tmp_path)

    class FakeIngress:
        def __init__(self, *args, **kwargs):
            pass

        def start(self, upstreams):
            return 18891

        def check(self):
            return None

        def stop(self, timeout):
            pass

    monkeypatch.setattr("mldeploy.runtime.pod.LocalPod", _fake_pod(seen))
    monkeypatch.setattr("mldeploy.runtime.ingress.SplitIngress", FakeIngress)
    runs = SimpleNamespace(stack="dev", name="svc", built={}, engine=SimpleNamespace(name="podman"), work=tmp_path / "w",
                           port=18891, timeout=5, sample=None, as_json=True, record=_record(tmp_path))
    split = SimpleNamespace(pods={"blue": (_pod_src(), 50), "green": (_pod_src(), 50)}, gateway_port=8890,
                            max_body_mb=100, scoring_timeout_ms=60000, keys=KEYS)
    run_split(runs, split)
    assert seen.found == ("http://127.0.0.1:18891/score", KEYS[0], None) and seen.mode == 0o600
    assert seen.raw["secondaryKey"] == KEYS[1] and seen.raw["pid"] == os.getpid()
    assert not (run_dir(tmp_path, "dev", "svc") / ENDPOINT_FILE).exists()


def _fake_endpoint(seen: _Seen, fail_start: bool = False):
    from mldeploy.runtime.processes import StartError

    class FakeContainerEndpoint:
        def __init__(self, plan, built, engine, work, *, port, prefix, code_dirs):
            self.port = port

        def start(self, timeout):
            if fail_start:
                raise StartError("deployment blue never became ready")
            base = f"http://127.0.0.1:{self.port}"
            return Endpoint(base + "/score", base + "/swagger.json", *KEYS)

        def container(self, dep):
            return f"mldeploy-dev-svc-{dep}"

        def check(self):
            seen.look_then_stop()
            return []

        def stop(self):
            pass

    return FakeContainerEndpoint


def _serve_endpoint(root: Path) -> None:
    plan = SimpleNamespace(images={"blue": "x"}, deployments=[SimpleNamespace(name="blue")])
    serve_containers._serve_endpoint(SimpleNamespace(name="podman"), "dev", "svc", plan, {"blue": "img:1"}, root / "w",
                                     port=18892, timeout=5, as_json=True, sample=None, record=_record(root),
                                     code_dirs={})


def test_an_endpoint_publishes_its_front_door_for_test_local_and_withdraws_it_on_sigterm(tmp_path, monkeypatch):
    seen = _Seen(tmp_path)
    monkeypatch.setattr("mldeploy.runtime.endpoint_containers.ContainerEndpoint", _fake_endpoint(seen))
    _serve_endpoint(tmp_path)
    assert seen.found == ("http://127.0.0.1:18892/score", KEYS[0], None) and seen.mode == 0o600
    assert not (run_dir(tmp_path, "dev", "svc") / ENDPOINT_FILE).exists()


def test_an_endpoint_that_fails_to_start_leaves_no_endpoint_file(tmp_path, monkeypatch):
    monkeypatch.setattr("mldeploy.runtime.endpoint_containers.ContainerEndpoint",
                        _fake_endpoint(_Seen(tmp_path), fail_start=True))
    with pytest.raises(SystemExit) as exit_:
        _serve_endpoint(tmp_path)
    assert exit_.value.code == 1 and not (run_dir(tmp_path, "dev", "svc") / ENDPOINT_FILE).exists()


def test_serve_containers_keeps_the_record_where_plain_serve_keeps_it(tmp_path, monkeypatch):
    """The wiring: `serve --containers` gives serve_containers plain `serve`'s run folder of this stack and service."""
    from mldeploy.cli import serve

    got = {}
    monkeypatch.setattr(serve_containers, "serve_containers", lambda *a, **kw: got.update(kw))
    monkeypatch.setattr(serve, "select_services", lambda settings, service: None)
    monkeypatch.setattr(serve, "sample_for", lambda settings, service, root: None)
    serve._serve_containers(tmp_path, SimpleNamespace(stack="dev"), "svc", None, 5, False, None, ())
    assert got["record_dir"] == run_dir(tmp_path, "dev", "svc")


def test_every_run_path_gets_the_record_of_that_folder(tmp_path, monkeypatch):
    got = {}
    monkeypatch.setattr("mldeploy.runtime.containers.find_engine", lambda: SimpleNamespace(name="podman", settings=None))
    monkeypatch.setattr("mldeploy.targets.target_of", lambda svc: SimpleNamespace(name="aks", containers=object()))
    monkeypatch.setattr(serve_containers, "_synthesize_and_build", lambda root, stack, engine, work: (work, {}))
    monkeypatch.setattr(serve_containers, "_found",
                        lambda *a: SimpleNamespace(run_with=lambda runs: got.setdefault("runs", runs)))
    serve_containers.serve_containers(tmp_path, SimpleNamespace(stack="dev", services={"svc": object()}), "svc",
                                      port=0, timeout=5, as_json=False, tls_files=None, image_map={}, sample=None,
                                      record_dir=run_dir(tmp_path, "dev", "svc"))
    assert got["runs"].record.run_dir == run_dir(tmp_path, "dev", "svc") and not got["runs"].record.published


def test_a_record_withdraws_only_the_file_it_published(tmp_path):
    """Another `serve`'s file (written after the claim) is not this run's to remove."""
    record = _record(tmp_path)
    other = run_dir(tmp_path, "dev", "svc") / ENDPOINT_FILE
    other.parent.mkdir(parents=True)
    other.write_text("{}")
    record.withdraw()
    assert other.exists()


def test_serve_containers_of_a_service_plain_serve_still_runs_is_refused_before_anything_starts(tmp_path, monkeypatch,
                                                                                                 capsys):
    import subprocess
    import sys

    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "mldeploy", "serve"])
    try:
        while b"time.sleep" not in open(f"/proc/{live.pid}/cmdline", "rb").read():
            pass  # until the child runs its own program (before exec /proc shows ours)
        path = run_dir(tmp_path, "dev", "svc") / ENDPOINT_FILE
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"pid": live.pid, "primaryKey": "theirs"}))
        monkeypatch.setattr("mldeploy.runtime.containers.find_engine",
                            lambda: SimpleNamespace(name="podman", settings=None))
        monkeypatch.setattr("mldeploy.targets.target_of", lambda svc: SimpleNamespace(name="aks", containers=object()))
        monkeypatch.setattr(serve_containers, "_synthesize_and_build", lambda *a: pytest.fail("nothing may start"))
        with pytest.raises(SystemExit) as exit_:
            serve_containers.serve_containers(tmp_path, SimpleNamespace(stack="dev", services={"svc": object()}), "svc",
                                              port=0, timeout=5, as_json=False, tls_files=None, image_map={},
                                              sample=None, record_dir=path.parent)
        assert exit_.value.code == 1
        assert f"service 'svc' is already served by process {live.pid}: stop it first" in capsys.readouterr().err
        assert json.loads(path.read_text())["primaryKey"] == "theirs", "the running serve's file is left alone"
    finally:
        live.kill()
        live.wait()
