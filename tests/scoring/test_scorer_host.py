"""The scorer process's changes to azmlinfsrv (mldeploy/scoring/scorer_host.py), without serving."""
from __future__ import annotations

import json
import os

import pytest

from mldeploy.scoring import scorer_host


@pytest.mark.parametrize("body", [b'{"data": [' + b"9" * 5000 + b"]}", b"[" * 100_000 + b"]" * 100_000,
                                  b'{"data": "\xff"}'])
def test_unusable_json_is_a_decode_error_the_server_answers_with_400(body):
    with pytest.raises(json.JSONDecodeError):
        scorer_host.BoundedJson.loads(body)


def test_usable_json_is_parsed_as_json_parses_it():
    assert scorer_host.BoundedJson.loads(b'{"data": [[1, 2.5]]}') == {"data": [[1, 2.5]]}


def test_gunicorn_serves_the_handed_socket_without_a_shared_control_socket(monkeypatch, tmp_path):
    import gunicorn.app.wsgiapp as wsgiapp
    from azureml_inference_server_http.server import input_parsers, swagger

    for module, name in ((wsgiapp, "WSGIApplication"), (input_parsers, "json"), (swagger, "get_input_schema")):
        monkeypatch.setattr(module, name, getattr(module, name))  # restored after the test
    monkeypatch.setenv("MLDEPLOY_SCORER_FD", "7")
    for name in scorer_host.MATH_THREAD_ENV:
        monkeypatch.setenv(name, "")  # unset for the host, and restored after the test
    monkeypatch.setattr("sys.argv", ["azmlinfsrv", "-b", "127.0.0.1:5001", "-w", "1", "--access-logfile", "-",
                                     "azureml_inference_server_http.server.entry:app"])
    scorer_host._patch_server()
    app = wsgiapp.WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]")
    assert all(os.environ[name] for name in scorer_host.MATH_THREAD_ENV), "math libraries' threads set before the app loads"
    assert app.cfg.bind == ["fd://7"], "the scorer must serve the socket bound by mldeploy"
    assert app.cfg.control_socket_disable, "every gunicorn of a user shares the default control socket"
    assert input_parsers.json is scorer_host.BoundedJson
    assert app.cfg.accesslog is None, "azmlinfsrv logs each request itself: gunicorn's access log repeats it"


@pytest.mark.parametrize("environ, configured", [
    ({}, False),
    ({"AML_APP_INSIGHTS_ENABLED": "true"}, False),
    ({"AML_APP_INSIGHTS_KEY": "0000"}, False),
    ({"AML_APP_INSIGHTS_ENABLED": "true", "AML_APP_INSIGHTS_KEY": "0000"}, True),
])
def test_app_insights_counts_as_configured_as_the_server_checks_it(environ, configured):
    assert scorer_host.app_insights_configured(environ) is configured, environ


DEFERRED_EXPORTER = """
import sys
from mldeploy.scoring import scorer_host
name = scorer_host.APP_INSIGHTS_EXPORTER
scorer_host.defer_app_insights_exporter()
import azureml_inference_server_http.server.appinsights_client as client
loaded_at_import = [m for m in sys.modules if m.startswith(name + ".")]
from azure.monitor.opentelemetry.exporter import AzureMonitorMetricExporter
print(loaded_at_import, AzureMonitorMetricExporter.__module__.startswith(name), sys.modules[name].__file__ is not None)
"""


def test_the_app_insights_exporter_is_imported_only_on_first_use():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", DEFERRED_EXPORTER], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "True", "True"], (
        f"the server's import must not load the exporter; any other use must get the real module: {out}")


def test_error_bodies_name_the_logs_command_and_nothing_else_changes(monkeypatch):
    """Change 9: azmlinfsrv's 'Check the logs' 5xx bodies (routes.ErrorResponse, an AMLResponse)
    name the command; a user's own AMLResponse and other errors are left as they are."""
    from azureml_inference_server_http.api import aml_response
    from azureml_inference_server_http.server import routes

    monkeypatch.setattr(aml_response.AMLResponse, "__init__", aml_response.AMLResponse.__init__)  # restored after
    monkeypatch.setattr(aml_response.AMLResponse, "_mldeploy_logs_command", None, raising=False)
    command = "mldeploy logs --stack local --service iris"
    scorer_host._name_logs_command(command)
    failed = routes.ErrorResponse(500, "An unexpected error occurred in scoring script. Check the logs for more info.")
    assert json.loads(failed.get_data()) == {"message": "An unexpected error occurred in scoring script. Check the "
                                                        f"logs for more info: {command}"}
    assert json.loads(routes.ErrorResponse(400, "bad input").get_data()) == {"message": "bad input"}
    own = aml_response.AMLResponse("Check the logs for more info.", 503)
    assert own.get_data() == b"Check the logs for more info.", "a user's own text body is theirs"
    scorer_host._name_logs_command(None)  # not set (images): nothing to do


def test_the_host_refuses_versions_it_was_not_tested_against_in_one_line():
    installed = {scorer_host.SERVER_PACKAGE: "1.5.1", scorer_host.GRANIAN_PACKAGE: "2.9.0"}
    with pytest.raises(SystemExit) as exc:
        scorer_host.check_versions("mldeploy", installed.__getitem__)
    message = str(exc.value.code)
    assert "\n" not in message and message.startswith("error: "), message
    assert "granian 2.9.0 (tested: 2.8.7)" in message and "granian==2.8.7" in message, message
    assert "azureml-inference-server-http 1.5.1 (tested" not in message, "only what differs is named"


def test_the_azmlinfsrv_server_checks_only_azmlinfsrv():
    scorer_host.check_versions("azmlinfsrv", {scorer_host.SERVER_PACKAGE: "1.5.1"}.__getitem__)  # no granian: fine
    with pytest.raises(SystemExit, match=r"azureml-inference-server-http 1\.4\.0 \(tested: 1\.5\.1\)"):
        scorer_host.check_versions("azmlinfsrv", {scorer_host.SERVER_PACKAGE: "1.4.0"}.__getitem__)


@pytest.mark.parametrize("server", ["azmlinfsrv", "mldeploy"])
def test_the_host_started_on_another_azmlinfsrv_version_exits_with_one_line(tmp_path, server):
    """The real start: a distribution's metadata earlier on sys.path (version 1.4.0) is what
    importlib.metadata reports; the host exits before serving, naming both versions."""
    import os
    import subprocess
    import sys

    from mldeploy.scoring import SCORER_HOST

    dist = tmp_path / "azureml_inference_server_http-1.4.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: azureml-inference-server-http\nVersion: 1.4.0\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), scorer_host.SERVER_ENV: server}
    proc = subprocess.run([sys.executable, str(SCORER_HOST), "--entry_script", "score.py", "--port", "0"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-1000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "azureml-inference-server-http 1.4.0 (tested: 1.5.1)" in lines[0], proc.stderr[-1000:]


class _Clock:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _tables(*steps):
    """/proc/net/tcp as (port, state) lists, one per call; the last one repeats."""
    calls = iter(steps)
    last = {}

    def sockets():
        last["table"] = next(calls, last.get("table"))
        return last["table"]

    return sockets


GATEWAY, SCORER = 80, 5001


def test_the_scorer_waits_until_the_gateway_has_finished_its_requests(monkeypatch):
    """An ACI group stops both containers at once: the scorer serves on while the gateway's
    listener is open, then while it holds client connections or a connection into the scorer."""
    monkeypatch.setenv(scorer_host.GATEWAY_TIMEOUT_ENV, "10000")
    clock = _Clock()
    steps = [[(GATEWAY, "0A"), (SCORER, "0A"), (GATEWAY, "01"), (SCORER, "01")],  # serving
             [(SCORER, "0A"), (GATEWAY, "01"), (SCORER, "01")],  # listener closed, a request in flight
             [(SCORER, "0A"), (SCORER, "01")],                   # the client answered, nginx's upstream open
             [(SCORER, "0A"), (SCORER, "08"), (GATEWAY, "06")]]  # nginx gone: close-wait, time-wait only
    sockets = _tables(*steps)
    seen = []

    def counted():
        seen.append(1)
        return sockets()

    why = scorer_host.wait_for_gateway(GATEWAY, SCORER, sockets=counted, clock=clock, sleep=clock.sleep)
    assert why == "the gateway has finished" and len(seen) == len(steps), (why, len(seen))


def test_a_gateway_that_goes_on_listening_does_not_hold_the_scorer(monkeypatch):
    """Only the scorer stops (a restart by its liveness probe): it waits GATEWAY_STOP_WAIT_S, no more."""
    monkeypatch.setenv(scorer_host.GATEWAY_TIMEOUT_ENV, "10000")
    clock = _Clock()
    why = scorer_host.wait_for_gateway(GATEWAY, SCORER, sockets=lambda: [(GATEWAY, "0A"), (GATEWAY, "01")],
                                       clock=clock, sleep=clock.sleep)
    assert why == "the gateway is not stopping"
    assert clock.now <= scorer_host.GATEWAY_STOP_WAIT_S + scorer_host.DRAIN_POLL_S


def test_the_wait_ends_at_the_gateways_timeout(monkeypatch):
    monkeypatch.setenv(scorer_host.GATEWAY_TIMEOUT_ENV, "3000")
    clock = _Clock()
    why = scorer_host.wait_for_gateway(GATEWAY, SCORER, sockets=lambda: [(GATEWAY, "01")],
                                       clock=clock, sleep=clock.sleep)
    limit = 3.0 + 1 + scorer_host.GATEWAY_DRAIN_S  # the gateway's timeout, 1 s, its drain
    assert why == "the gateway's timeout has passed" and limit <= clock.now <= limit + scorer_host.DRAIN_POLL_S


def test_tcp_sockets_reads_ports_and_states(tmp_path):
    table = tmp_path / "tcp"
    table.write_text(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 1\n"
        "   1: 0100007F:1389 0100007F:A2C4 01 00000000:00000000 00:00000000 00000000  1000        0 2\n")
    assert scorer_host.tcp_sockets((str(table), str(tmp_path / "absent"))) == [(80, "0A"), (5001, "01")]


class _StoppedServer:
    """A granian server whose only worker wrote `boot 3` to the host's pipe and then exited
    before granian's stop reached it: granian counts that as a crash and exits 1 itself."""

    def __init__(self, exit_code: int | None):
        self.wrks, self.exit_code, self.stops = [], exit_code, 0

    def signal_handler_interrupt(self):
        self.stops += 1

    def serve(self):
        import os

        os.write(int(os.environ[scorer_host.HOST_PIPE_ENV]), b"boot 3\n")
        if self.exit_code is not None:
            raise SystemExit(self.exit_code)


@pytest.mark.parametrize("granian_exit", [1, None])
def test_a_worker_that_could_not_start_sets_the_exit_code_however_granian_ended(monkeypatch, granian_exit):
    """The boot report is read before the host exits, whichever of granian's stop or its
    listener thread came first (under CPU load granian's own exit 1 had won: 8 of 240 starts)."""
    monkeypatch.delenv(scorer_host.HOST_PIPE_ENV, raising=False)  # set by the host; restored after
    monkeypatch.delenv(scorer_host.HOST_PID_ENV, raising=False)
    server = _StoppedServer(granian_exit)
    with pytest.raises(SystemExit) as ended:
        scorer_host.serve_until_stopped(server)
    assert ended.value.code == 3, f"the host exited {ended.value.code}, not the failed boot's 3"


def test_granians_own_exit_stands_when_no_worker_failed_to_start(monkeypatch):
    monkeypatch.delenv(scorer_host.HOST_PIPE_ENV, raising=False)
    monkeypatch.delenv(scorer_host.HOST_PID_ENV, raising=False)

    class Crashed(_StoppedServer):
        def serve(self):
            raise SystemExit(1)

    with pytest.raises(SystemExit) as ended:
        scorer_host.serve_until_stopped(Crashed(1))
    assert ended.value.code == 1


def test_granians_hand_over_thread_offers_each_request_to_the_bridge_first(monkeypatch):
    """requests_past_the_loop: granian's scheduler (granian/_futures.py `_cbsched_aioschedule`,
    on its hand-over thread) gives each request to the bridge's `take`; what it does not take -
    or a loop whose methods cannot be replaced - goes to the event loop as granian would."""
    import sys
    import types

    scheduled = []
    futures = types.SimpleNamespace(_cbsched_aioschedule=lambda loop, ctx, cb: scheduled.append)
    granian = types.ModuleType("granian")
    granian._futures = futures
    monkeypatch.setitem(sys.modules, "granian", granian)
    monkeypatch.setitem(sys.modules, "granian._futures", futures)

    class Bridge:
        def __init__(self, replaceable=True):
            self.taken, self.replaceable = [], replaceable

        def past_the_loop(self, loop):
            return self.replaceable

        def take(self, watcher, loop):
            if watcher == "boom":
                raise RuntimeError("boom")
            self.taken.append(watcher)
            return watcher == "plain"

    class Watcher(str):
        errors: list = []

        def err(self, exc):
            self.errors.append(exc)

    bridge = Bridge()
    scorer_host.requests_past_the_loop(bridge)
    schedule = futures._cbsched_aioschedule("loop", "ctx", "cb")
    for watcher in (Watcher("plain"), Watcher("chunked"), Watcher("boom")):
        schedule(watcher)
    assert bridge.taken == ["plain", "chunked"] and scheduled == ["chunked"], (bridge.taken, scheduled)
    assert [str(e) for e in Watcher.errors] == ["boom"]

    futures._cbsched_aioschedule = lambda loop, ctx, cb: scheduled.append
    scorer_host.requests_past_the_loop(Bridge(replaceable=False))
    futures._cbsched_aioschedule("loop", "ctx", "cb")("plain")
    assert scheduled == ["chunked", "plain"]


TELEMETRY_SCORE = "def init():\n    pass\n\n\ndef run(data):\n    return {'ok': 1}\n"


def _scorer_with_telemetry_to_nowhere(tmp_path, told: bool):
    """The scorer host (azmlinfsrv's gunicorn: this venv has no granian; both fork their workers)
    with App Insights on and the local runs' stand-in telemetry, told or not that it goes nowhere."""
    import os
    import subprocess
    import sys

    from mldeploy.runtime.processes import free_port
    from mldeploy.runtime.synthesized_pod import LOCAL_TELEMETRY_ENV, NO_INSIGHTS
    from mldeploy.scoring import SCORER_HOST

    folder = tmp_path / ("told" if told else "not-told")
    folder.mkdir()
    (folder / "score.py").write_text(TELEMETRY_SCORE)
    env = {**os.environ, **LOCAL_TELEMETRY_ENV, "AML_APP_INSIGHTS_ENABLED": "true",
           "AML_APP_INSIGHTS_KEY": NO_INSIGHTS["instrumentation-key"], scorer_host.SERVER_ENV: "azmlinfsrv"}
    if not told:
        env.pop(scorer_host.TELEMETRY_NOWHERE_ENV)
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(SCORER_HOST), "--entry_script", "score.py", "--port", str(port)],
                            env=env, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, port


def test_local_runs_telemetry_that_goes_nowhere_does_not_warn_every_few_seconds(tmp_path):
    """Change 11: a local run's scorer (serve --containers) still exports to 127.0.0.1:9 - the
    warning shows the export was tried - but says nothing about it when told that is on purpose."""
    import time
    import urllib.request

    runs = {told: _scorer_with_telemetry_to_nowhere(tmp_path, told) for told in (True, False)}
    try:
        for told, (proc, port) in runs.items():
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
                    break
                except OSError:
                    assert proc.poll() is None and time.monotonic() < deadline, f"scorer (told={told}) never answered"
                    time.sleep(0.1)
            request = urllib.request.Request(f"http://127.0.0.1:{port}/score", data=b'{"data": 1}',
                                             headers={"Content-Type": "application/json"})
            assert urllib.request.urlopen(request, timeout=10).status == 200
        time.sleep(8)  # the exporters send every 5 s
    finally:
        logs = {}
        for told, (proc, _) in runs.items():
            proc.terminate()
            logs[told] = proc.communicate(timeout=30)[0]
    assert "Retrying due to server request error" in logs[False], (
        "the stand-in's export must have been tried (else this test proves nothing): " + logs[False][-1500:])
    assert "Retrying" not in logs[True] and "opentelemetry.exporter" not in logs[True], logs[True][-1500:]



SUPPORTED_KEYS_WARNING = """
import logging, sys
from mldeploy.scoring import scorer_host
if sys.argv[1] == "filtered":
    scorer_host.quiet_supported_keys_warning()
import azureml_inference_server_http.server.config
"""


@pytest.mark.parametrize("config_file", [None, {"FOO_SETTING": 1, "SCORING_TIMEOUT_MS": 5000}])
def test_azmlinfsrv_no_longer_warns_of_keys_it_reads_as_extra(tmp_path, config_file):
    import subprocess
    import sys
    from pathlib import Path

    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
           "AZUREML_ENTRY_SCRIPT": str(tmp_path / "score.py"), "AZUREML_MODEL_DIR": str(tmp_path),
           "SCORING_TIMEOUT_MS": "60000"}
    (tmp_path / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")
    if config_file is not None:
        (tmp_path / "config.json").write_text(json.dumps(config_file))
        env["AZUREML_CONFIG_FILE"] = str(tmp_path / "config.json")

    def stderr(mode):
        done = subprocess.run([sys.executable, "-c", SUPPORTED_KEYS_WARNING, mode], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stderr

    assert "Extra keys = ['AZUREML_ENTRY_SCRIPT'" in stderr("plain"), "azmlinfsrv 1.5.1 warns of keys it reads"
    assert scorer_host.EXTRA_KEYS_WARNING not in stderr("filtered")


def test_the_warning_still_names_keys_the_server_does_not_read(monkeypatch):
    import logging
    import types

    monkeypatch.setitem(__import__("sys").modules, scorer_host.AZMLINFSRV_CONFIG,
                        types.SimpleNamespace(alias_mapping={"AZUREML_ENTRY_SCRIPT": "entry_script"}))
    text = f"{scorer_host.EXTRA_KEYS_WARNING} that are not supported by the server.\nExtra keys = "

    def seen(keys):
        record = logging.LogRecord("azmlinfsrv", logging.WARNING, __file__, 1, text + repr(keys), None, None)
        return record.getMessage() if scorer_host.SupportedKeysAreNotExtra().filter(record) else None

    assert seen(["AZUREML_ENTRY_SCRIPT"]) is None
    assert seen(["AZUREML_ENTRY_SCRIPT", "FOO"]) == text + "['FOO']"
    other = logging.LogRecord("azmlinfsrv", logging.WARNING, __file__, 1, "something else", None, None)
    assert scorer_host.SupportedKeysAreNotExtra().filter(other)


def _cgroup(tmp_path, files: dict[str, str]):
    """A fake / holding `files` (paths relative to it)."""
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text + "\n")
    return tmp_path


@pytest.mark.parametrize("files, cpus", [
    ({}, 8.0),  # no CPU controller visible: the CPUs the process may run on
    ({"sys/fs/cgroup/cpu.max": "max 100000"}, 8.0),  # cgroup v2, no limit
    ({"sys/fs/cgroup/cpu.max": "150000 100000"}, 1.5),  # cgroup v2: a container limited to 1.5 CPUs
    ({"sys/fs/cgroup/cpu.max": "1600000 100000"}, 8.0),  # a limit above the CPUs it may run on
    ({"sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000"}, 8.0),  # v1, none
    ({"sys/fs/cgroup/cpu/cpu.cfs_quota_us": "50000", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000"}, 0.5),  # v1 --cpus 0.5
    ({"sys/fs/cgroup/cpu.max": "not a number"}, 8.0),
])
def test_without_proc_the_usual_mount_points_limit_the_affinity(tmp_path, files, cpus):
    assert scorer_host.available_cpus(_cgroup(tmp_path, files), affinity=8) == cpus, files


V2_MOUNT = "30 23 0:26 {root} /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate"
V1_CPU_MOUNT = "32 31 0:29 {root} /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct"
POD = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice"
CONTAINER = f"{POD}/cri-containerd-abc.scope"


def _proc(cgroup: str, *mounts: str) -> dict[str, str]:
    return {"proc/self/cgroup": cgroup, "proc/self/mountinfo": "\n".join(mounts)}


@pytest.mark.parametrize("files, cpus", [
    # cgroup v2 in the host's cgroup namespace (cgroupns=host): the container's limit is in its own directory,
    # the mount point's cpu.max (none: the host's root cgroup has no cpu.max) says nothing.
    ({**_proc(f"0::/{CONTAINER}", V2_MOUNT.format(root="/")), f"sys/fs/cgroup/{CONTAINER}/cpu.max": "150000 100000",
      f"sys/fs/cgroup/{POD}/cpu.max": "max 100000"}, 1.5),
    # The pod's cgroup (a parent) limits more than the container's own: the smallest limit up the tree counts.
    ({**_proc(f"0::/{CONTAINER}", V2_MOUNT.format(root="/")), f"sys/fs/cgroup/{CONTAINER}/cpu.max": "max 100000",
      f"sys/fs/cgroup/{POD}/cpu.max": "50000 100000", "sys/fs/cgroup/kubepods.slice/cpu.max": "400000 100000"}, 0.5),
    # A private cgroup namespace: the path is /, the mount point is the container's cgroup.
    ({**_proc("0::/", V2_MOUNT.format(root="/")), "sys/fs/cgroup/cpu.max": "200000 100000"}, 2.0),
    # A child cgroup inside a private namespace (systemd in the container: init.scope) under the container's limit.
    ({**_proc("0::/init.scope", V2_MOUNT.format(root="/")), "sys/fs/cgroup/init.scope/cpu.max": "max 100000",
      "sys/fs/cgroup/cpu.max": "300000 100000"}, 3.0),
    # Outside the namespace's root (cgroup_namespaces(7): "../" entries): the mount point is all it can read.
    ({**_proc("0::/../../other", V2_MOUNT.format(root="/")), "sys/fs/cgroup/cpu.max": "100000 100000"}, 1.0),
    # The mount shows only the container's directory (its root field): the path is relative to that.
    ({**_proc(f"0::/{CONTAINER}", V2_MOUNT.format(root=f"/{POD}")), "sys/fs/cgroup/cri-containerd-abc.scope/cpu.max":
      "250000 100000"}, 2.5),
    # cgroup v1 (Docker without a cgroup namespace): the mount root is the container's cgroup, the path the same.
    ({**_proc("4:cpu,cpuacct:/docker/abc\n0::/", V1_CPU_MOUNT.format(root="/docker/abc")),
      "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "50000", "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000"}, 0.5),
    # cgroup v1 with the whole hierarchy mounted: the process's directory, then its parents.
    ({**_proc("4:cpu,cpuacct:/kubepods/pod1/abc", V1_CPU_MOUNT.format(root="/")),
      "sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/abc/cpu.cfs_quota_us": "-1",
      "sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/abc/cpu.cfs_period_us": "100000",
      "sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/cpu.cfs_quota_us": "150000",
      "sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/cpu.cfs_period_us": "100000"}, 1.5),
    # A hybrid layout (this machine's): the unified hierarchy has no cpu controller, the v1 one sets none.
    ({**_proc("1:cpu:/\n0::/", "31 23 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw",
              V1_CPU_MOUNT.format(root="/").replace("cpu,cpuacct rw,rel", "cpu rw,rel")),
      "sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000"}, 8.0),
])
def test_the_smallest_cpu_limit_from_the_processs_own_cgroup_up_to_the_mount_counts(tmp_path, files, cpus):
    assert scorer_host.available_cpus(_cgroup(tmp_path, files), affinity=8) == cpus, files


def test_a_mount_point_with_an_escaped_space_is_read(tmp_path):
    files = {**_proc("0::/a", r"30 23 0:26 / /sys/fs/my\040cgroup rw - cgroup2 cgroup2 rw"),
             "sys/fs/my cgroup/a/cpu.max": "100000 100000"}
    assert scorer_host.available_cpus(_cgroup(tmp_path, files), affinity=8) == 1.0


def test_without_sched_getaffinity_every_core_counts(tmp_path, monkeypatch):
    monkeypatch.delattr("os.sched_getaffinity")
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert scorer_host.available_cpus(_cgroup(tmp_path, {})) == 6.0


@pytest.mark.parametrize("workers, cpus, threads", [(2, 2.0, "1"), (1, 4.0, "4"), (2, 4.0, "2"), (3, 2.0, "1"),
                                                     (2, 1.5, "1"), (1, 0.5, "1"), (4, 16.0, "4")])
def test_each_worker_gets_its_share_of_the_cores_in_every_math_librarys_variable(workers, cpus, threads):
    environ = {}
    line = scorer_host.limit_math_threads(workers, environ, cpus=cpus)
    assert environ == dict.fromkeys(scorer_host.MATH_THREAD_ENV, threads), (workers, cpus, environ)
    assert line.startswith(f"mldeploy: {workers} worker(s) on {cpus:g} CPU(s): {threads} math-library thread(s) "
                           "per worker (ORT_INTRA_OP_NUM_THREADS, "), line


def test_a_thread_count_the_environment_sets_is_kept_and_named():
    environ = {"OMP_NUM_THREADS": "4", "ORT_INTRA_OP_NUM_THREADS": "0"}  # 0: ONNX Runtime's own default
    line = scorer_host.limit_math_threads(2, environ, cpus=2.0)
    assert environ == {"OMP_NUM_THREADS": "4", "ORT_INTRA_OP_NUM_THREADS": "0", "MKL_NUM_THREADS": "1",
                       "OPENBLAS_NUM_THREADS": "1"}, environ
    assert line.endswith("(MKL_NUM_THREADS, OPENBLAS_NUM_THREADS); kept from the environment: "
                         "ORT_INTRA_OP_NUM_THREADS=0, OMP_NUM_THREADS=4"), line
