"""The scorer process: the Azure ML inference server (azmlinfsrv) exactly as its own command
runs it, with the few changes mldeploy needs, all here. Run as a file by the scoring
environment's Python (`python scorer_host.py --entry_script ... --port ...`): it imports only the
server and the standard library, never mldeploy (which is not installed there).

1. JSON the server cannot parse is the client's mistake (400), whatever the user's score.py:
   azmlinfsrv 1.5.1 parses the body with `json.loads` and turns only JSONDecodeError into a 400;
   an integer longer than Python's int-digit limit (ValueError) or nesting deeper than the
   recursion limit (RecursionError) fell through to its catch-all 500.
2. `MLDEPLOY_SCORER_HOST`: the address to bind (the server always binds 0.0.0.0).
3. `MLDEPLOY_SCORER_FD`: a listening socket already bound by the parent, used as is (gunicorn's
   `fd://` bind): nothing picks a free port and binds it later, so there is no race for it.
4. The served swagger marks as `required` every input run() has no default for (the server
   answers 400 without them, but its swagger listed them as optional: `{}` looked valid).
5. gunicorn's control socket is off: every gunicorn of a user shares its default path
   (~/.gunicorn/gunicorn.ctl), so two scorers served at once stepped on each other, and nothing
   here uses it.
6. gunicorn's access log is off: azmlinfsrv logs every request itself (`POST /score 200 1.3ms`);
   gunicorn's access line repeated it, written twice (its own handler and the server's).
7. The App Insights exporter (`azure.monitor.opentelemetry.exporter`, ~0.8 s of the server's
   ~1.1 s import, in every worker) is imported only when App Insights is configured: otherwise
   a stand-in module takes its place and imports it on first use.
8. `MLDEPLOY_SCORING_SERVER=mldeploy` (an image's `scoringServer`, by default `mldeploy`; every
   image sets the variable): the same app served by granian instead of gunicorn's sync worker -
   see `serve_with_granian`, scoring_app.py and wsgi_on_asgi.py. `azmlinfsrv` (or unset): gunicorn, exactly as
   azmlinfsrv runs.
9. `MLDEPLOY_LOGS_COMMAND` (set by the local target: `mldeploy logs --stack S --service N`): the
   server's 500 bodies that say "Check the logs for more info." name that command, which shows
   the traceback.

10. `MLDEPLOY_DRAIN_GATEWAY_PORT` (set in an ACI group, where the gateway and the scorer share
   one network and get their stop signals at once - ACI has no preStop hook): on SIGTERM the
   scorer keeps serving until the gateway has finished its requests (`wait_for_gateway`), then
   stops as before. Measured before: 22 of 252 requests under wrk got the gateway's 502 while the
   group stopped (granian had closed its socket under requests the gateway still sent).

11. `MLDEPLOY_TELEMETRY_NOWHERE` (set only by local runs, mldeploy/runtime/synthesized_pod.py, whose
   App Insights connection string points at a dead local address on purpose): the exporter's
   warnings are not shown (its logger shows errors only). Its "Retrying due to server request
   error ... 127.0.0.1:9" came every few seconds in every `serve --containers` scorer's log; the
   exporter itself still runs and sends, as in Azure, to the address that goes nowhere.

12. azmlinfsrv's warning "Found extra keys in the config file ... ['AZUREML_ENTRY_SCRIPT',
   'SCORING_TIMEOUT_MS', 'AZUREML_MODEL_DIR']" at every start is gone: it named only settings the
   server reads (`SupportedKeysAreNotExtra`); any key it does not read would still be named.

13. Math libraries' threads: each worker process gets cores / workers of them (at least one),
   through the variables the libraries read - ONNX Runtime's ORT_INTRA_OP_NUM_THREADS, OpenMP's,
   MKL's, OpenBLAS's - each only where the environment has not set it (`limit_math_threads`).
   Their default is one thread per core in every process: N workers x N threads on N cores, and
   in a container with a CPU limit one per core of the whole node. Measured with ONNX models
   (bench/scoring_onnx.py, docs/performance.md).

Everything above reaches into azmlinfsrv's (and granian's) internals by name, so the host runs
only on the versions it was tested against (`TESTED_VERSIONS`, the one home of those versions:
mldeploy pins them into every image and local environment, scoring/environment.py) and refuses to
start on others with one line naming both (`check_versions`).
"""
from __future__ import annotations

import ast
import gc
import importlib
import importlib.util
import json
import logging
import os
import re
import sys
import types
from pathlib import Path

APP_INSIGHTS_EXPORTER = "azure.monitor.opentelemetry.exporter"
SERVER_ENV = "MLDEPLOY_SCORING_SERVER"
UDS_ENV = "MLDEPLOY_SCORER_UDS"
PRELOAD_ENV = "MLDEPLOY_PRELOAD_IMPORTS"
HOST_PIPE_ENV = "MLDEPLOY_HOST_PIPE_FD"  # scoring_app.py reads the same names
HOST_PID_ENV = "MLDEPLOY_HOST_PID"
LISTEN_FD_ENV = "MLDEPLOY_SCORER_LISTEN_FD"  # scoring_app.py reads the same name
GATEWAY_TIMEOUT_ENV = "MLDEPLOY_GATEWAY_TIMEOUT_MS"  # set by plan/timeouts.py: the scorer is behind mldeploy's gateway
LOGS_COMMAND_ENV = "MLDEPLOY_LOGS_COMMAND"
TELEMETRY_NOWHERE_ENV = "MLDEPLOY_TELEMETRY_NOWHERE"
BATCH_MAX_SIZE_ENV = "MLDEPLOY_BATCH_MAX_SIZE"  # scoring_batcher.py's MAX_BATCH_ENV
INTERFACE_ENV = "MLDEPLOY_GRANIAN_INTERFACE"
DRAIN_GATEWAY_PORT_ENV = "MLDEPLOY_DRAIN_GATEWAY_PORT"  # plan/aci.py has the same name
# What math libraries read for their threads per process (change 13). ORT_INTRA_OP_NUM_THREADS:
# ONNX Runtime sizes its default intra-op pool from it since microsoft/onnxruntime#29688 (1.31.1
# does: a session's pool shrinks with it, measured); init's ONNX score.py reads it too, for
# older pins. OMP_NUM_THREADS: OpenMP (scikit-learn's, LightGBM's, XGBoost's), PyTorch;
# MKL_NUM_THREADS, OPENBLAS_NUM_THREADS: numpy's and scipy's BLAS, read when they load.
MATH_THREAD_ENV = ("ORT_INTRA_OP_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# The gateway keeps listening this long after its stop signal, answering `Connection: close`
# before nginx's graceful stop (render/gateway.py DRAIN_SECONDS; this file runs in the image alone,
# hence the copy - tests/scoring/test_scorer_host_drain.py holds them equal).
GATEWAY_DRAIN_S = 2
# The gateway's listener still open this long after SIGTERM: it is not stopping (its drain, plus
# ACI's unordered stop of the group's containers).
GATEWAY_STOP_WAIT_S = GATEWAY_DRAIN_S + 2.0
DRAIN_POLL_S = 0.05
# /proc/net/tcp states of a connection the gateway still holds (ESTABLISHED, SYN_SENT, SYN_RECV,
# CLOSE_WAIT) or of its listener (LISTEN); include/net/tcp_states.h.
HELD_STATES = {"01", "02", "03", "08", "0A"}
CHECK_THE_LOGS = "Check the logs for more info."
APP_TARGET = "scoring_app:create"  # scoring_app.py, next to this file (sys.path[0] when run as a file)
SERVER_PACKAGE = "azureml-inference-server-http"  # azmlinfsrv
GRANIAN_PACKAGE = "granian"
# The versions this host (and scoring_app.py) was tested against. granian 2.8.7: manylinux
# wheels for CPython 3.9-3.14 (x86_64, aarch64); its one dependency, click, is Flask's already.
TESTED_VERSIONS = {SERVER_PACKAGE: "1.5.1", GRANIAN_PACKAGE: "2.8.7"}


def packages_for(scoring_server: str) -> tuple[str, ...]:
    """What the host patches for a `scoringServer`: azmlinfsrv always, granian for `mldeploy`."""
    return (SERVER_PACKAGE, GRANIAN_PACKAGE) if scoring_server == "mldeploy" else (SERVER_PACKAGE,)


def check_versions(scoring_server: str, installed_version=None) -> None:
    """Exit with one line when a package the host patches is not at its tested version (read
    from the installed distribution's metadata, as pip records it)."""
    import importlib.metadata

    installed_version = installed_version or importlib.metadata.version
    wrong = []
    for package in packages_for(scoring_server):
        try:
            found = installed_version(package)
        except importlib.metadata.PackageNotFoundError:
            found = "not installed"
        if found != TESTED_VERSIONS[package]:
            wrong.append(f"{package} {found} (tested: {TESTED_VERSIONS[package]})")
    if wrong:
        sys.exit(f"error: mldeploy's scorer host patches {' and '.join(packages_for(scoring_server))} and runs only on "
                 f"the versions it was tested against; this environment has {', '.join(wrong)}: install "
                 + " ".join(f"{p}=={TESTED_VERSIONS[p]}" for p in packages_for(scoring_server)))


class BoundedJson:
    """Stands in for the `json` module inside the server's input parser: a body it cannot turn
    into Python objects raises JSONDecodeError, which the server answers with a JSON 400."""

    JSONDecodeError = json.JSONDecodeError

    @staticmethod
    def loads(text, *args, **kwargs):
        try:
            return json.loads(text, *args, **kwargs)
        except json.JSONDecodeError:
            raise
        except RecursionError:
            raise json.JSONDecodeError("JSON nested too deeply", _as_text(text), 0) from None
        except ValueError as err:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
            raise json.JSONDecodeError(f"unusable JSON value ({err})", _as_text(text), 0) from None

    dumps = staticmethod(json.dumps)
    dump = staticmethod(json.dump)
    load = staticmethod(json.load)


def tcp_sockets(tables=("/proc/net/tcp", "/proc/net/tcp6")) -> list[tuple[int, str]]:
    """(local port, state) of every TCP socket of this network namespace (proc(5) /proc/net/tcp)."""
    out = []
    for table in tables:
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3:
                out.append((int(fields[1].rsplit(":", 1)[1], 16), fields[3]))
    return out


def wait_for_gateway(gateway_port: int, scorer_port: int, sockets=tcp_sockets, clock=None, sleep=None) -> str:
    """Returns once the gateway beside this scorer (same network) has finished: its listener
    closed (nginx's graceful stop closes it first) and none of its client connections left, nor
    any connection into the scorer's port. The gateway still listening GATEWAY_STOP_WAIT_S after
    the start: only the scorer stops (a restart), at once. At most the gateway's drain + timeout +
    1 s: nginx answers every request within it. Read from /proc/net/tcp (standard library; the scorer
    cannot see the gateway's processes, which run in a container of their own). Returns why."""
    import time

    clock, sleep = clock or time.monotonic, sleep or time.sleep
    limit_s = int(os.environ.get(GATEWAY_TIMEOUT_ENV) or 60_000) / 1000 + 1 + GATEWAY_DRAIN_S
    start = clock()
    while any(port == gateway_port and state == "0A" for port, state in sockets()):
        if clock() - start >= GATEWAY_STOP_WAIT_S:
            return "the gateway is not stopping"
        sleep(DRAIN_POLL_S)
    while clock() - start < limit_s:
        if not any((port == gateway_port and state in HELD_STATES) or (port == scorer_port and state == "01")
                   for port, state in sockets()):
            return "the gateway has finished"
        sleep(DRAIN_POLL_S)
    return "the gateway's timeout has passed"


def _drained(gateway_port: int, scorer_port: int) -> None:
    print("mldeploy: stop signal: the scorer serves on until the gateway beside it has finished",
          file=sys.stderr, flush=True)
    why = wait_for_gateway(gateway_port, scorer_port)
    print(f"mldeploy: stopping the scorer: {why}", file=sys.stderr, flush=True)


def _drain_before_gunicorn_stops() -> None:
    """gunicorn's SIGTERM (a graceful stop) waits for `wait_for_gateway` first when
    `DRAIN_GATEWAY_PORT_ENV` is set; the arbiter goes on supervising its workers meanwhile (the
    wait runs on a thread, which sends SIGTERM again when it is over)."""
    import signal
    import threading

    from gunicorn.arbiter import Arbiter

    port = os.environ.get(DRAIN_GATEWAY_PORT_ENV)
    if not port:
        return
    handle_term = Arbiter.handle_term
    state = {"drained": False, "draining": False}

    def drain(scorer_port: int) -> None:
        _drained(int(port), scorer_port)
        state["drained"] = True
        os.kill(os.getpid(), signal.SIGTERM)

    def handle_term_after_gateway(self):
        if state["drained"]:
            return handle_term(self)
        if state["draining"]:  # repeated while the gateway finishes: changes nothing
            return None
        state["draining"] = True
        scorer_port = next((a[1] for a in (lst.getsockname() for lst in self.LISTENERS) if isinstance(a, tuple)), 0)
        threading.Thread(target=drain, args=(scorer_port,), name="mldeploy-drain", daemon=True).start()

    Arbiter.handle_term = handle_term_after_gateway


# At most this long for a gunicorn worker's telemetry flush at exit. In a pod the scorer's stop
# signal comes 20 s before the SIGKILL (render/k8s_pod.py SCORER_STOP_SECONDS: terminationGracePeriodSeconds
# minus the scorer's preStop pause), for gunicorn's stop, the flush, the exit and the sidecars after it.
EXIT_FLUSH_S = 5.0


def bounded_exit_flush(server, worker) -> None:
    """gunicorn's worker_exit hook: the worker has answered its last request; what is left is
    the interpreter's exit, where OpenTelemetry's atexit shutdown flushes App Insights (the
    BatchSpanProcessor/BatchLogRecordProcessor of azmlinfsrv's AppInsightsClient). That flush
    has no bound: the processors' shutdown() joins their export thread without a timeout
    (opentelemetry-sdk 1.33, sdk/trace/export/__init__.py and sdk/_logs/_internal/export/
    __init__.py; OTEL_BSP_EXPORT_TIMEOUT / OTEL_BLRP_EXPORT_TIMEOUT bound force_flush only), and
    each export waits the exporter's network timeout (azure-monitor-opentelemetry-exporter
    export/_base.py: the `timeout` keyword, 10 s, which azmlinfsrv does not pass and no
    environment variable sets). With an ingestion endpoint that does not answer, the flush
    outlasted a pod's grace period and the scorer was SIGKILLed (exit 137). So a daemon timer
    ends the worker (exit 0) when it is still exiting after EXIT_FLUSH_S; a reachable endpoint
    takes a fraction of that (what remains then is the interpreter's teardown, 2-4 s measured
    here on a loaded machine, nothing that needs to run), and its telemetry is sent whole."""
    import threading

    seconds = EXIT_FLUSH_S

    def give_up() -> None:
        print(f"mldeploy: worker {os.getpid()}: still exiting {seconds:g} s after its last request "
              "(App Insights' flush, if not reachable): exits now", file=sys.stderr, flush=True)
        os._exit(0)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()


def _as_text(text) -> str:
    return text if isinstance(text, str) else ""


def _patch_server() -> None:
    import azureml_inference_server_http.constants as constants
    import gunicorn.app.wsgiapp as wsgiapp

    _drain_before_gunicorn_stops()

    host = os.environ.get("MLDEPLOY_SCORER_HOST")
    if host:
        constants.DEFAULT_HOST = host
    fd = os.environ.pop("MLDEPLOY_SCORER_FD", None)

    class Application(wsgiapp.WSGIApplication):
        def __init__(self, *args, **kwargs):
            # azmlinfsrv builds gunicorn's argv itself (`-b host:port ...`); adjust it here.
            argv = sys.argv
            if fd is not None and "-b" in argv:
                argv[argv.index("-b") + 1] = f"fd://{int(fd)}"
            argv.insert(1, "--no-control-socket")
            if "--access-logfile" in argv:
                at = argv.index("--access-logfile")
                del argv[at:at + 2]
            # Only now: the server's config object is made when its modules are first imported,
            # which must come after azmlinfsrv has read its command line.
            _patch_input_parsers()
            print(limit_math_threads(int(argv[argv.index("-w") + 1]) if "-w" in argv else 1))  # before the app loads
            super().__init__(*args, **kwargs)
            self.cfg.set("worker_exit", bounded_exit_flush)

    wsgiapp.WSGIApplication = Application


def _patch_input_parsers() -> None:
    from azureml_inference_server_http.server import input_parsers

    input_parsers.json = BoundedJson
    _require_run_inputs()
    _name_logs_command(os.environ.get(LOGS_COMMAND_ENV))


def _name_logs_command(command: str | None) -> None:
    """azmlinfsrv's error bodies name the command that shows the server's log. They are built by
    routes.ErrorResponse, a subclass of AMLResponse; routes.py is reloaded when the app is
    created (create_app.py: importlib.reload), which would undo a change to routes itself, so the
    change is made to AMLResponse: a JSON `{"message": "... Check the logs for more info."}`
    with a 5xx status gets the command appended."""
    if not command:
        return
    from azureml_inference_server_http.api import aml_response

    cls = aml_response.AMLResponse
    if getattr(cls, "_mldeploy_logs_command", None):
        return
    original = cls.__init__

    def __init__(self, message, status_code, response_headers={}, json_str=False, run_function_failed=False):  # noqa: B006 - azmlinfsrv's signature
        if (json_str and isinstance(message, dict) and isinstance(message.get("message"), str)
                and message["message"].endswith(CHECK_THE_LOGS) and int(status_code) >= 500):
            message = {**message, "message": f"{message['message'][:-1]}: {command}"}
        original(self, message, status_code, response_headers, json_str, run_function_failed)

    cls.__init__ = __init__
    cls._mldeploy_logs_command = command


def _serve_with_granian_instead_of_gunicorn() -> None:
    """amlserver.run imports amlserver_linux (gunicorn) when it starts serving: a stand-in module
    takes its place (gunicorn is never imported), whose run() applies changes 1 and 4 - after
    azmlinfsrv has read its command line, in this parent process, so every forked worker has
    them - and serves with granian."""
    import azureml_inference_server_http as package

    def run(host, port, worker_count, *args, **kwargs):
        _patch_input_parsers()
        print(limit_math_threads(worker_count))  # before preload_imports loads the libraries
        return serve_with_granian(host, port, worker_count, *args, **kwargs)

    stand_in = types.ModuleType(f"{package.__name__}.amlserver_linux")
    stand_in.run = run
    sys.modules[stand_in.__name__] = stand_in
    package.amlserver_linux = stand_in


def _unescape_mount(text: str) -> str:
    """A mountinfo field with its octal escapes (`\\040` for a space) decoded (proc(5), mountinfo)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def _cgroup_dirs(root: Path) -> list[tuple[Path, Path]]:
    """(mount point, the process's own cgroup directory) of each hierarchy holding the CPU
    controller: the unified one (cgroup v2) and a v1 `cpu` one. Read from /proc/self/cgroup (the
    process's path in each hierarchy) and /proc/self/mountinfo (where each is mounted, and which
    of its directories the mount shows: its 4th field, `root`). Without a private cgroup namespace
    (Docker's and Kubernetes' cgroupns=host, systemd services) the path is the host's
    (`0::/kubepods.slice/.../cri-containerd-<id>.scope`) and the limit is in that directory, not
    in the mount point's own cpu.max; with one the path is `/` and they are the same. A path
    outside the namespace's root (`/../..`, cgroup_namespaces(7)) or outside what the mount shows
    leaves the mount point alone, the nearest directory the process can read."""
    try:
        memberships = (root / "proc/self/cgroup").read_text().splitlines()
        mounts = (root / "proc/self/mountinfo").read_text().splitlines()
    except OSError:
        memberships, mounts = [], []
    paths = {}  # "v2" / "v1" -> the process's path in that hierarchy
    for line in memberships:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and not controllers:
            paths["v2"] = path
        elif "cpu" in controllers.split(","):
            paths["v1"] = path
    found = []
    for line in mounts:
        fields, _, fs = line.partition(" - ")
        fields, fs = fields.split(), fs.split()
        if len(fields) < 5 or len(fs) < 3:
            continue
        kind = "v2" if fs[0] == "cgroup2" else "v1" if fs[0] == "cgroup" and "cpu" in fs[2].split(",") else None
        if kind is None or kind not in paths:
            continue
        mount_root, mount_point = _unescape_mount(fields[3]), root / _unescape_mount(fields[4]).lstrip("/")
        path = paths[kind]
        relative = (path[len(mount_root):] if mount_root == "/" or path == mount_root or path.startswith(mount_root + "/")
                    else None)
        parts = [p for p in (relative or "").split("/") if p]
        if relative is None or ".." in parts or not (mount_point.joinpath(*parts)).is_dir():
            parts = []
        found.append((mount_point, mount_point.joinpath(*parts)))
    if not found:  # no mountinfo to read: the usual mount points, the process's directory unknown
        found = [(root / "sys/fs/cgroup", root / "sys/fs/cgroup"), (root / "sys/fs/cgroup/cpu", root / "sys/fs/cgroup/cpu")]
    return found


def _cpu_quota(directory: Path) -> float | None:
    """The CFS bandwidth limit set in one cgroup directory, in CPUs (None: none set there)."""
    for quota_file, period_file in ((directory / "cpu.max", None),
                                    (directory / "cpu.cfs_quota_us", directory / "cpu.cfs_period_us")):
        try:
            quota, _, period = quota_file.read_text().strip().partition(" ")
            period = period_file.read_text().strip() if period_file else period
            if quota not in ("max", "-1") and float(quota) > 0 and float(period) > 0:
                return float(quota) / float(period)
        except (OSError, ValueError):
            continue
    return None


def available_cpus(root: Path = Path("/"), affinity: int | None = None) -> float:
    """The CPUs this process may use: those it may run on (its affinity), under the smallest CPU
    limit of its cgroup and every parent up to the mount point - the CFS bandwidth limit (v2:
    `cpu.max`, "$MAX $PERIOD" or "max $PERIOD", docs.kernel.org/admin-guide/cgroup-v2.html; v1:
    cpu.cfs_quota_us over cpu.cfs_period_us, -1 for none, docs.kernel.org/scheduler/sched-bwc.html),
    which the kubelet sets from a container's CPU limit (its cpuCFSQuota, on by default) and
    podman's --cpus too (measured: 0.5 CPUs -> 50000 / 100000 in the container's cgroup v1). A
    parent's limit bounds its children whatever theirs say, and a systemd slice or a pod-level
    cgroup sets one above a container's `max`: the JDK walks the same way since JDK-8322420
    ("Limits in parent nested control groups are not detected", openjdk/jdk#20646). `root`: a
    fake / for tests."""
    if affinity is None:  # sched_getaffinity is Linux's; elsewhere (a local run on macOS) every core counts
        affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    cpus = float(affinity)
    for mount_point, directory in _cgroup_dirs(root):
        while True:
            quota = _cpu_quota(directory)
            cpus = cpus if quota is None else min(cpus, quota)
            if directory == mount_point or mount_point not in directory.parents:
                break
            directory = directory.parent
    return cpus


def limit_math_threads(workers: int, environ=os.environ, cpus: float | None = None) -> str:
    """Change 13: each of MATH_THREAD_ENV not set in `environ` is set to a worker's share of the
    CPUs, cores / workers rounded down, at least 1. Returns the line the scorer prints."""
    cpus = available_cpus() if cpus is None else cpus
    threads = str(max(1, int(cpus // max(1, workers))))
    kept = [f"{name}={environ[name]}" for name in MATH_THREAD_ENV if environ.get(name)]
    chosen = [name for name in MATH_THREAD_ENV if not environ.get(name)]
    for name in chosen:
        environ[name] = threads
    line = f"mldeploy: {workers} worker(s) on {cpus:g} CPU(s)"
    if chosen:
        line += f": {threads} math-library thread(s) per worker ({', '.join(chosen)})"
    return line + (f"; kept from the environment: {', '.join(kept)}" if kept else "")


def app_insights_configured(environ=os.environ) -> bool:
    """What azmlinfsrv's AppInsightsClient checks before it uses the exporter (server/config.py:
    AML_APP_INSIGHTS_ENABLED, AML_APP_INSIGHTS_KEY; amlserver.py sets both from its flags)."""
    return environ.get("AML_APP_INSIGHTS_ENABLED", "").lower() == "true" and bool(environ.get("AML_APP_INSIGHTS_KEY"))


def quiet_telemetry_that_goes_nowhere(environ=os.environ) -> None:
    """Change 11: where a local run says its telemetry goes nowhere, the exporter's retry warnings
    are noise; its errors still show. Set before the server starts: its workers are forks."""
    if environ.get(TELEMETRY_NOWHERE_ENV):
        logging.getLogger(APP_INSIGHTS_EXPORTER).setLevel(logging.ERROR)


# azmlinfsrv 1.5.1's `check_extra_keys` (server/config.py, a pydantic "before" validator) compares
# the keys its settings came in under - environment names such as AZUREML_ENTRY_SCRIPT, the
# aliases it reads them by - with its fields' own names (entry_script), so every start with those
# variables set warns "Found extra keys in the config file ... ['AZUREML_ENTRY_SCRIPT', ...]" about
# keys it does read; amlserver.py sets them from its own flags, so that is every start, in Azure too.
# A config file's unknown keys never reach the check (JsonConfigSettingsSource reads only the
# fields' aliases), so in 1.5.1 the warning names only keys the server reads.
EXTRA_KEYS_WARNING = "Found extra keys in the config file"
AZMLINFSRV_CONFIG = "azureml_inference_server_http.server.config"


class SupportedKeysAreNotExtra(logging.Filter):
    """Takes the settings azmlinfsrv reads (its `alias_mapping`) out of that warning: it goes when
    nothing else is left; any other key (should a later version pass them on) is still named."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if not text.startswith(EXTRA_KEYS_WARNING):
            return True
        head, marker, listed = text.partition("Extra keys = ")
        try:
            keys = ast.literal_eval(listed.strip())
        except (ValueError, SyntaxError):
            return True
        # The module is still being imported when it warns; alias_mapping is defined above the check.
        supported = getattr(sys.modules.get(AZMLINFSRV_CONFIG), "alias_mapping", {})
        if not isinstance(keys, list) or not supported:
            return True
        unknown = [key for key in keys if key not in supported]
        if not unknown:
            return False
        record.msg, record.args = f"{head}{marker}{unknown}", ()
        return True


def quiet_supported_keys_warning() -> None:
    """Change 12. Before azmlinfsrv's modules are imported; workers are forks and inherit the filter."""
    logging.getLogger("azmlinfsrv").addFilter(SupportedKeysAreNotExtra())


def defer_app_insights_exporter() -> None:
    """Put a stand-in for the exporter module in sys.modules: the server's
    `from ... import AzureMonitorLogExporter, AzureMonitorTraceExporter` costs nothing, and any
    use (a call, another attribute) imports the real module in its place first."""
    if APP_INSIGHTS_EXPORTER in sys.modules:
        return
    stand_in = types.ModuleType(APP_INSIGHTS_EXPORTER)

    def real():
        if sys.modules.get(APP_INSIGHTS_EXPORTER) is stand_in:
            del sys.modules[APP_INSIGHTS_EXPORTER]
        return importlib.import_module(APP_INSIGHTS_EXPORTER)

    def deferred(name):
        def make(*args, **kwargs):
            return getattr(real(), name)(*args, **kwargs)
        return make

    def other(name):  # PEP 562: any other public name loads the real module
        if name.startswith("__"):  # the import system probes e.g. __path__ on `from ... import`
            raise AttributeError(name)
        return getattr(real(), name)

    spec = importlib.util.find_spec(APP_INSIGHTS_EXPORTER)  # locates it, imports none of it
    if spec is None:
        return
    stand_in.__path__ = list(spec.submodule_search_locations or [])  # its submodules stay importable
    stand_in.AzureMonitorLogExporter = deferred("AzureMonitorLogExporter")
    stand_in.AzureMonitorTraceExporter = deferred("AzureMonitorTraceExporter")
    stand_in.__getattr__ = other
    sys.modules[APP_INSIGHTS_EXPORTER] = stand_in


def _require_run_inputs() -> None:
    import inspect

    from azureml_inference_server_http.server import swagger

    original = swagger.get_input_schema

    def get_input_schema(run_function):
        schema = dict(original(run_function))
        properties = schema.get("properties") or {}
        required = [name for name, p in inspect.signature(run_function).parameters.items()
                    if p.default is inspect.Parameter.empty and name in properties]
        if required:
            schema["required"] = sorted(set(schema.get("required", [])) | set(required))
        return schema

    swagger.get_input_schema = get_input_schema


def serve_with_granian(host: str, port: int, worker_count: int, health_port: int | None = None) -> None:
    """Stands in for azmlinfsrv's amlserver_linux.run (gunicorn): everything azmlinfsrv's command
    did before it (flags, environment, settings printed) is unchanged.

    granian (a Rust HTTP server; https://github.com/emmett-framework/granian) parses HTTP outside
    Python and hands each request to its ASGI interface, where wsgi_on_asgi.py runs the WSGI app
    on two threads per worker process: granian's WSGI interface empties every header value with a
    byte outside visible ASCII, which azmlinfsrv (gunicorn) hands to run() as latin-1 (see that
    module; `granian_wsgi` keeps the WSGI interface for measuring). The app runs one request at a
    time (OneAtATime in scoring_app.py), as a gunicorn sync worker does.

    Connections (`connection_settings`, `shared_socket_granian`): all workers accept on one
    socket, which the host holds; a worker takes one connection at a time. Every other connection
    waits in the socket's queue until a worker is free - not inside a worker: none is lost when a
    worker goes, and none waits behind another's run() while a worker idles. Behind mldeploy's
    gateway (`GATEWAY_TIMEOUT_ENV` set) a worker keeps its connection open after the response
    unless another connection waits in that queue (then it closes it and takes the waiting one:
    scoring_app.py `WaitingConnections`); the gateway closes a kept connection it has not reused
    within a few milliseconds (render/gateway.py `KEEPALIVE_IDLE_MS`), so an idle kept connection
    holds a worker no longer than that. Without the gateway (a client of unknown habits) each
    connection carries one request and is closed after it, as gunicorn's sync worker does. granian frees a worker's slot when its client
    closes the connection, even while run() still runs: a worker whose request outlives the
    gateway's timeout is retired just before it (scoring_app.py), so it never takes the next one.
    granian's workers accept from their Rust runtimes, which go on accepting while the worker's
    thread is inside run(): with kept-alive connections and several workers a request could wait
    behind another one's run() in a busy worker while a second worker was idle (p99 at 4
    connections 44 ms against a p50 of 0.6 ms). With `backpressure=1` a busy worker accepts
    nothing, and since an idle kept-alive connection would then hold a worker's only slot (15 of
    16 connections starved, measured), each connection carries one request (HTTP/1.1 keep-alive
    off: the response says `Connection: close`). Measured through the gateway (Unix socket): 2
    workers - p99 at 4 connections 1.6-1.9 ms against a p50 of 0.9 ms, requests/s within 5 % of
    kept-alive ones; 1 worker - the same requests/s at 1 connection, 0.75x at 4 and 16
    connections, but with kept-alive ones p99 at 4 connections was 26-51 ms against a p50 of
    0.65 ms. (Kept only while nobody waits, as above, the queue stays in the host's socket.)

    A worker that exits is started again (`respawn_failed_workers`); one that retired (told
    through the host's pipe) never counts towards granian's crash-loop stop (`WorkerRespawns`).
    Each request's environ starts from nothing but the request (`request_environ_without_process_env`)."""
    from granian.constants import HTTPModes, Interfaces

    if health_port:
        sys.exit("error: SEPERATE_HEALTH_ENDPOINT is not supported by scoringServer mldeploy: use azmlinfsrv")
    uds = os.environ.pop(UDS_ENV, None)
    if uds:
        Path(uds).unlink(missing_ok=True)  # left by the parent's bind or a killed server: bound anew here
    bind = {"uds": Path(uds), "uds_permissions": 0o666} if uds else {"address": os.environ.get("MLDEPLOY_SCORER_HOST", host), "port": port}
    if os.environ.get(PRELOAD_ENV, "true").lower() != "false":
        preload_imports(os.environ.get("AZUREML_ENTRY_SCRIPT"))
    request_environ_without_process_env()
    interface = {"interface": Interfaces.WSGI, "blocking_threads": app_threads()} if granian_wsgi() else \
        {"interface": Interfaces.ASGINL}  # ASGI without lifespan; the app's threads are wsgi_on_asgi.py's
    server = shared_socket_granian()(APP_TARGET, workers=worker_count, http=HTTPModes.http1, websockets=False, factory=True,
                                     respawn_failed_workers=True, log_access=False, **interface, **connection_settings(), **bind)
    serve_until_stopped(server, target_loader=_load_app)


def serve_until_stopped(server, **serve_args) -> None:
    """`server.serve(...)`; a worker's failed boot (`WorkerReports`) ends this process with that
    worker's code, also when granian ends it with its own: a worker that has exited before
    granian's stop reaches it counts as a crash, and granian exits 1 (`shutdown`). Measured: 8 of
    240 failing init()s under CPU load (3 busy loops, load 9) exited 1 instead of azmlinfsrv's 3."""
    reports = WorkerReports(server)
    ended = None
    try:
        server.serve(**serve_args)
    except SystemExit as granian_exit:
        ended = granian_exit
    failed = reports.boot_failure()
    if failed is not None:
        sys.exit(failed)
    if ended is not None:
        raise ended


def _load_app(target: str):
    """Each worker's app. Imported here by its name (this file's folder is sys.path[0]), not by
    granian's loader: that resolves the module against the working folder and climbs through
    every parent holding an `__init__.py`, so a working folder that is a Python package made each
    worker fail to import it, and the host start them again and again."""
    import scoring_app

    if granian_wsgi():
        return scoring_app.create()
    import wsgi_on_asgi

    app = scoring_app.create()
    bridge = wsgi_on_asgi.WsgiOnAsgi(app, threads=app_threads(), dispatched=app.dispatched)
    requests_past_the_loop(bridge)
    return bridge


def requests_past_the_loop(bridge) -> None:
    """granian's ASGI interface hands each request to the event loop (granian/_futures.py
    `_cbsched_aioschedule`: `loop.call_soon_threadsafe` from its hand-over thread), which reads
    the body through granian (another round trip between its threads and the loop) and hands
    the request to the app's thread. Here the hand-over thread offers each request to the
    bridge first (`WsgiOnAsgi.take`), which sends it to the app's thread once its body is in,
    without the loop; what the bridge does not take goes to the loop as before. Patched in the
    worker (this runs before granian makes its scheduler); granian 2.8.7's names (TESTED_VERSIONS)."""
    import granian._futures as futures

    standard = futures._cbsched_aioschedule

    def aioschedule(loop, ctx, cb):
        schedule = standard(loop, ctx, cb)
        if not bridge.past_the_loop(loop):
            return schedule

        def _schedule(watcher):
            try:
                taken = bridge.take(watcher, loop)
            except BaseException as exc:  # noqa: BLE001 - granian's own 500 and log line, as for a coroutine that raised
                watcher.err(exc)
                return
            if not taken:
                schedule(watcher)

        return _schedule

    futures._cbsched_aioschedule = aioschedule


def granian_wsgi(environ=os.environ) -> bool:
    """`MLDEPLOY_GRANIAN_INTERFACE=wsgi`: the app on granian's WSGI interface, as before
    wsgi_on_asgi.py (header bytes outside visible ASCII arrive empty) - for measuring the two
    against each other (bench/scoring.py --interfaces); otherwise granian's ASGI interface."""
    return environ.get(INTERFACE_ENV, "asgi").lower() == "wsgi"


def app_threads() -> int:
    """Threads a worker runs the app on: one per request it holds (`requests_per_worker`), and
    a spare for a request that arrives while a run() its client gave up on still runs (it
    waits for its turn or, once the worker retires, gets a 503: scoring_app.OneAtATime)."""
    return requests_per_worker() + 1


def request_environ_without_process_env() -> None:
    """granian 2.8.7 starts every request's WSGI environ from a copy of `os.environ`
    (granian/wsgi.py `_callback_wrapper`): run() saw every variable of the scorer's process -
    secrets included - and `HTTP_*` variables (HTTP_PROXY: the "httpoxy" class of bug) as request
    headers no client sent. Its module is handed an empty environment instead; the request's own
    keys (CGI variables, headers, wsgi.*) are all added by granian per request."""
    from granian import wsgi

    wsgi.os = types.SimpleNamespace(environ={})


class WorkerRespawns(dict):
    """granian's record of when each worker was last started (`respawned_wrks`): a worker that
    exits within 5.5 s of its start makes granian stop the whole server ("crash loop"). A worker
    that retired on purpose (scoring_app.py, its pid told through the host's pipe) is no crash:
    for it the record reads as never."""

    def __init__(self, server, retired: set[int]):
        super().__init__()
        self._server, self._retired = server, retired

    def get(self, idx, default=None):
        workers = self._server.wrks
        if idx < len(workers) and workers[idx].inner.pid in self._retired:
            return 0
        return super().get(idx, default)


def shared_socket_granian():
    """granian's server class, binding a TCP address once for all its workers, as it binds a Unix
    socket. On Linux granian 2.8.7 has each worker bind the address itself with SO_REUSEPORT
    (server/common.py `_init_shared_socket`): the kernel then hands each new connection to one
    worker's socket by a hash of its addresses, whether that worker is busy or not, and the
    request waits in the busy worker's queue while another worker idles; and a second scorer
    started on the same port bound it too and took part of the traffic. Here the host binds it
    once, without SO_REUSEPORT (a port in use is an error, as with gunicorn), and all workers
    accept from it: the worker that accepts is one with a free slot (`connection_settings`).
    This is granian's own path for other platforms (the same method, and MPServer's; the holder
    of a socket made in Python is how it hands one over on Windows), taken on Linux as well; its
    names are granian 2.8.7's (TESTED_VERSIONS; the host checks it at start)."""
    import socket
    import threading

    from granian import Granian
    from granian._granian import SocketHolder

    class SharedSocketGranian(Granian):
        _draining = False

        def signal_handler_interrupt(self, *args, **kwargs):
            """A stop signal (args: signum, frame) behind a gateway that stops beside the scorer
            (`DRAIN_GATEWAY_PORT_ENV`): the stop comes once the gateway has finished; a signal
            repeated meanwhile changes nothing (a runtime may send it again: the pod runner's
            second `podman stop` did, and stopped the scorer under the gateway's requests). A
            call without a signal (a worker's failed boot) stops at once."""
            port = os.environ.get(DRAIN_GATEWAY_PORT_ENV)
            if not args or not port:
                super().signal_handler_interrupt(*args, **kwargs)
                return
            if self._draining:
                return
            self._draining = True
            stop = super().signal_handler_interrupt
            threading.Thread(target=lambda: (_drained(int(port), self.bind_port), stop()),
                             name="mldeploy-drain", daemon=True).start()

        def _init_shared_socket(self):
            if self.bind_uds:
                super()._init_shared_socket()
                # The workers (forked: the same descriptor) look whether a connection waits on it.
                os.environ[LISTEN_FD_ENV] = str(self._sfd)
                return
            family = socket.AF_INET6 if ":" in self.bind_addr else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.bind_addr, self.bind_port))
            except OSError as err:
                sock.close()
                sys.exit(f"error: cannot listen on {self.bind_addr}:{self.bind_port}: {err.strerror}")
            sock.listen(self.backlog)
            sock.set_inheritable(True)
            self._sso, self._sfd, self._ssp = sock, sock.fileno(), None
            self._shd = SocketHolder(self._sfd, False, self.backlog)  # (fd, is a Unix socket, backlog)
            os.environ[LISTEN_FD_ENV] = str(self._sfd)

    return SharedSocketGranian


def requests_per_worker(environ=os.environ) -> int:
    """How many requests a worker holds at once: one, or with batching (scoring_batcher.py) up to
    maxBatchSize - the requests one run() may score together."""
    return int(environ.get(BATCH_MAX_SIZE_ENV) or 1)


def keeps_connections(environ=os.environ) -> bool:
    """Whether a worker keeps its connection after a response (while nobody waits): only behind
    mldeploy's gateway, the one client whose idle connections are known to end within
    milliseconds (see serve_with_granian). A batching worker too (maxBatchSize connections at
    once): its answers on several threads at once asked the shared poll object together, and
    Python's poll refuses that ("RuntimeError: concurrent poll() invocation") - the empty 500s
    that had kept batching workers closing every connection; scoring_app.WaitingConnections now
    asks one thread at a time."""
    return bool(environ.get(GATEWAY_TIMEOUT_ENV))


def connection_settings() -> dict:
    """granian's settings for connections (see serve_with_granian): one connection per worker at
    a time (with batching: up to maxBatchSize, each on a thread of its own), kept after its
    response only behind the gateway."""
    from granian.http import HTTP1Settings

    return {"backpressure": requests_per_worker(), "http1_settings": HTTP1Settings(keep_alive=keeps_connections())}


class WorkerReports:
    """The host's pipe, inherited by every forked worker (`HOST_PIPE_ENV`), one line per message:
    `boot <code>` - a worker could not start (the entry script's import or init(); azmlinfsrv
    exits 3): the server stops and this process exits with that code, as gunicorn does when a
    worker fails to boot, instead of starting the worker again and again; `retire <pid>` - a
    worker retires on purpose (`WorkerRespawns`). Read by a thread of the host."""

    END = b"end 0\n"  # the host's own last line: every line before it has been read

    def __init__(self, server):
        import threading

        self._read_fd, self._write_fd = os.pipe()
        os.environ[HOST_PIPE_ENV] = str(self._write_fd)
        os.environ[HOST_PID_ENV] = str(os.getpid())  # a worker forked after the host died knows it
        self._server = server
        self.failed: list[int] = []
        self.retired: set[int] = set()
        self._read_all = threading.Event()
        server.respawned_wrks = WorkerRespawns(server, self.retired)
        threading.Thread(target=self._listen, name="mldeploy-host-pipe", daemon=True).start()

    def _listen(self) -> None:
        with os.fdopen(self._read_fd, "rb") as pipe:
            for line in pipe:
                kind, _, value = line.decode(errors="replace").partition(" ")
                if kind == "retire" and value.strip().isdigit():
                    self.retired.add(int(value))
                elif kind == "boot":
                    self.failed.append(int(value) if value.strip().lstrip("-").isdigit() else 1)
                    self._server.signal_handler_interrupt()
                elif line == self.END:
                    break
        self._read_all.set()

    def boot_failure(self, timeout: float = 30.0) -> int | None:
        """Once the server has stopped (its workers with it): the code of the first worker that
        could not start, or None. Every line the workers wrote is read first - the pipe keeps
        their order, and the host's own last line comes after them - not whatever the thread had
        reached when the server happened to stop."""
        if self._write_fd is not None:
            os.write(self._write_fd, self.END)
            self._read_all.wait(timeout)
            os.close(self._write_fd)
            self._write_fd = None
        return self.failed[0] if self.failed else None


def preload_imports(entry_script: str | None) -> list[str]:
    """Import, once in this parent process, the server's modules and the modules the entry
    script imports at its top level (read with `ast`, not run): the workers granian forks start
    with them loaded instead of each importing them again (scikit-learn alone ~2 s) - ready
    sooner, and less memory (pages shared until written).

    Only imports run here: the entry script itself, and so its `init()`, runs in each worker
    after the fork, as azmlinfsrv runs it, so threads, sessions or connections that init() opens
    belong to the worker that uses them (a fork copies only the calling thread; azmlinfsrv's own
    WORKER_PRELOAD runs init() before the fork and loses them). A module that cannot be imported
    here is skipped: the worker imports it and reports its error as azmlinfsrv would.
    `MLDEPLOY_PRELOAD_IMPORTS=false` turns this off. Returns the modules imported."""
    names = ["flask", "werkzeug", "azureml_inference_server_http.server.routes", "inference_schema.schema_decorators"]
    try:
        tree = ast.parse(Path(entry_script).read_bytes())
    except (OSError, SyntaxError, ValueError, TypeError):  # TypeError: no entry script (--config_file names it)
        tree = ast.Module(body=[], type_ignores=[])
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    imported = []
    for name in dict.fromkeys(names):
        try:
            importlib.import_module(name)
            imported.append(name)
        except Exception:  # noqa: BLE001 - the worker meets (and reports) the same error
            continue
    gc.collect()
    gc.freeze()  # the workers do not write the parent's objects' GC headers: pages stay shared
    return imported


def main() -> None:
    check_versions(os.environ.get(SERVER_ENV, "azmlinfsrv"))
    if os.environ.get(SERVER_ENV, "azmlinfsrv") == "mldeploy":
        # azmlinfsrv prints its settings; into a file or pipe they stayed in the buffer until the
        # process ended - lost when it was killed (its own runs show them at once).
        sys.stdout.reconfigure(line_buffering=True)
        _serve_with_granian_instead_of_gunicorn()
    else:
        _patch_server()
    quiet_telemetry_that_goes_nowhere()
    quiet_supported_keys_warning()
    # A config file (--config_file, AZUREML_CONFIG_FILE) may turn App Insights on as well.
    if not app_insights_configured() and not {"--appinsights_instrumentation_key", "--config_file"} & set(sys.argv) \
            and "AZUREML_CONFIG_FILE" not in os.environ:
        defer_app_insights_exporter()
    from azureml_inference_server_http.amlserver import run

    sys.argv[0] = "azmlinfsrv"
    run()


if __name__ == "__main__":
    main()
