"""One local service: the image's build context served by the scorer behind the gateway, both
child processes on 127.0.0.1 - the same pair and the same nginx config as ACI and AKS.

    server = LocalServer(plan_serve("diabetes", service, production=False), context, env, run_dir, port=8890)
    endpoint = server.start()      # ready to score; endpoint.json written for `mldeploy test`
    server.check()                 # call periodically: restarts a scorer (or gateway) that died
    server.stop()                  # nothing left running

Everything about the service is decided in its plan (plan/serve.py); this module reads no
settings. `max_concurrent` (default: the plan's, an AKS service's replicaMaxConcurrentRequests,
else no cap) makes the gateway answer 503 beyond that many requests in flight, as AKS does;
`tls_files` (PEM cert, key) turn TLS on from files nginx reads in place, overriding the
service's `tls`. Otherwise TLS is on exactly when the plan's one TLS rule says so (plan/tls.py,
with the stack's `production`).
"""
from __future__ import annotations

import grp
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping

from mldeploy.plan.batching import SAMPLE_ENV, SAMPLE_FILE as BATCHING_SAMPLE_FILE
from mldeploy.render.build_context import APP_DIR, MODELS_DIR, SCORING_SERVER_ENV, BuildContext
from mldeploy.runtime.env import ScoringEnv
from mldeploy.contract import (KEYS_MAP_NAME, LIVENESS_PATH, READINESS_PATH, SCORER_PORT, SCORE_PATH, SWAGGER_PATH,
                               TLS_CERT_NAME, TLS_KEY_NAME)
from mldeploy.plan.gateway import HOP_SOCKET, GatewaySpec, TlsFiles, Upstream
from mldeploy.plan.secret_env import serve_environment
from mldeploy.plan.serve import ServePlan
from mldeploy.plan.keys import KEY_ALPHABET, KEY_LENGTH
from mldeploy.render.gateway import (DRAIN_SECONDS, config_dirs, drain_file, hop_socket, render_keys_map,
                                     render_nginx_conf)
from mldeploy.plan.timeouts import scorer_timeouts
from mldeploy.scoring import SCORER_HOST
from mldeploy.scoring.scorer_host import LOGS_COMMAND_ENV, UDS_ENV
from mldeploy.runtime.processes import (Child, StartError, find_nginx, listen_socket, refuse_new_connections,
                                        socket_dir, start_and_wait)
# reload_gateway: named here too, where LocalEndpoint finds it (and tests make it linger).
from mldeploy.runtime.swap import GatewaySwap, ScorerSocket, reload_gateway, swap_one_way

ENDPOINT_FILE = "endpoint.json"
SCORER_SOCKET_NAME = "scorer.sock"
MAX_RESTART_DELAY_S = 30.0


@dataclass(frozen=True)
class Endpoint:
    """Where a running local service answers, and its keys (printed once, kept 0600 on disk)."""

    scoringUri: str
    swaggerUri: str
    primaryKey: str | None
    secondaryKey: str | None
    caFile: str | None = None  # TLS: the served certificate, the one clients should trust


def new_key() -> str:
    """A key by the one key rule (plan/keys.py), from the OS's cryptographic random source."""
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


def check_tls_files(cert: Path, key: Path) -> None:
    """StartError unless `cert` and `key` are readable PEM files that belong together (what nginx
    needs); messages name the files, never their content."""
    texts = {}
    for kind, path, marker in (("certificate", cert, "CERTIFICATE-----"), ("private key", key, "PRIVATE KEY-----")):
        try:
            texts[kind] = path.read_text(errors="replace")
        except OSError as err:
            raise StartError(f"cannot read TLS file {path}: {err.strerror}") from None
        if "-----BEGIN " not in texts[kind] or marker not in texts[kind]:
            raise StartError(f"TLS file {path} is not a PEM {kind}")
    if "ENCRYPTED" in texts["private key"]:
        raise StartError(f"TLS key {key} is encrypted: give it unencrypted (nginx cannot ask for its passphrase)")
    try:
        # The callback refuses a passphrase instead of prompting on the terminal.
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key, password=lambda: b"")
    except ssl.SSLError as err:
        raise StartError(f"TLS key {key} does not fit certificate {cert}: {err.reason or err}") from None


# nginx.conf's escaping rule: paths are written unquoted, so a path holding whitespace, quotes,
# `;`, `{`, `}`, `$` or `#` would end a directive early or start another one. Refused here.
_NGINX_UNSAFE = re.compile(r"[\s;{}'\"$#\\]")


def check_nginx_path(path: Path) -> None:
    """StartError for a path that cannot be written unquoted into nginx.conf."""
    if _NGINX_UNSAFE.search(str(path)):
        raise StartError(f"the path {str(path)!r} holds a character nginx.conf cannot take (space, quote, "
                         "';', '{', '}', '$', '#', '\\'): move the project (or the TLS files) to a plain path")


def publish_endpoint(run_dir: Path, endpoint: "Endpoint") -> None:
    """The endpoint file `mldeploy test --stack` reads: URIs and keys, owner-only, with our pid."""
    write_private(run_dir / ENDPOINT_FILE, json.dumps({**asdict(endpoint), "pid": os.getpid()}))


def withdraw_endpoint(run_dir: Path) -> None:
    (run_dir / ENDPOINT_FILE).unlink(missing_ok=True)


class EndpointRecord:
    """The endpoint file of a service served other than by LocalServer (`serve --containers`: its
    pod is the engine's), so `mldeploy test --local` finds it as it finds plain `serve`'s: claimed
    before anything starts (a `serve` of it that still runs is refused, a killed one's file
    removed), published once the service answers, withdrawn on stop - only the file this process
    published, never another `serve`'s."""

    def __init__(self, run_dir: Path, what: str):
        self.run_dir, self.what, self.published = run_dir, what, False

    def claim(self) -> None:
        refuse_if_running(self.run_dir / ENDPOINT_FILE, self.what)

    def publish(self, endpoint: Endpoint) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        publish_endpoint(self.run_dir, endpoint)
        self.published = True

    def withdraw(self) -> None:
        if self.published:
            withdraw_endpoint(self.run_dir)
            self.published = False


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (keys, TLS key) - also when it already existed with
    a wider mode (open's mode applies only to a new file)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def link_models_into_app(context_dir: Path) -> None:
    """`app/azureml-models` -> the context's models, as the image has them (/var/azureml-app/azureml-models,
    render/build_context.py). The real azureml-core, which a v1 environment installs through
    azureml-defaults, looks only there: its Model.get_model_path reads
    `os.path.join(os.environ['AML_APP_ROOT'], 'azureml-models')` (azureml/core/model.py, MODELS_DIR, 1.61),
    and the local app root is `app/`; without the link a v1 score.py served by it stopped with
    ModelNotFoundException locally while its image found the model. An entry in the app folder of
    that name (a sourceDirectory's own) is left alone."""
    link = context_dir / "app" / "azureml-models"
    if not link.exists() and not link.is_symlink() and (context_dir / "azureml-models").is_dir():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path("..") / "azureml-models", target_is_directory=True)


def v2_deployment_env(context_dir: Path, script: Path) -> tuple[dict[str, str], Path]:
    """(AML_APP_ROOT and AZUREML_ENTRY_SCRIPT, the working folder) of a scorer rehearsing an Azure ML v2
    online deployment (managed or Kubernetes), whose code folder is `context_dir/app` and whose models
    are beside it in `context_dir/azureml-models`, as Azure lays them out under /var/azureml-app.

    Azure ML v2 sets AML_APP_ROOT to the scoring script's folder inside the code folder, not to
    /var/azureml-app, and AZUREML_ENTRY_SCRIPT to the script's name: a deployed managed deployment reads
    back `AML_APP_ROOT: /var/azureml-app/onlinescoring, AZUREML_ENTRY_SCRIPT: score.py, AZUREML_MODEL_DIR:
    /var/azureml-app/azureml-models/<model>/1` (ansible-collections/azure,
    plugins/modules/azure_rm_ml_online_deployment_info.py, its RETURN sample of `az ml`'s
    environment_variables), and Microsoft's own local rehearsal of a deployment does the same ("Set the
    directory containing scoring script as AML_APP_ROOT/working directory", Azure/azure-sdk-for-python
    sdk/ml/azure-ai-ml/azure/ai/ml/_local_endpoints/azureml_image_context.py, from pull request 30296:
    "In online deployment, AML_APP_ROOT is set to the directory containing scoring script"). The working
    folder is AML_APP_ROOT too: Azure ML's images start the server with `cd "${AML_APP_ROOT:-/var/azureml-app}"`
    (Azure/AzureML-Containers, base/triton/.../runit/gunicorn/run). A Kubernetes online deployment runs
    the same deployment (code configuration, environment, model) through the Azure ML extension; nothing
    documents another layout there (not verifiable here: no cluster). So azureml-core's
    Model.get_model_path, which looks in `<AML_APP_ROOT>/azureml-models` and then the working folder
    (azureml/core/model.py 1.61: MODELS_DIR, _get_model_path_local_from_root), finds no model in Azure:
    nor does it here (no link_models_into_app)."""
    return {"AML_APP_ROOT": str(script.parent), "AZUREML_ENTRY_SCRIPT": script.name}, script.parent


def scorer_child(context: BuildContext, env: ScoringEnv, context_dir: Path, run_dir: Path, *,
                 sock: socket.socket, workers: int, scoring_timeout_ms: int, name: str = "scorer",
                 extra_env: dict[str, str] | None = None, v2_deployment: bool = False) -> Child:
    """The scorer of a build context written to `context_dir`, serving the address of the
    listening socket `sock`: azmlinfsrv (gunicorn) is handed the socket itself; granian
    (scoringServer mldeploy) cannot take a socket, so `sock` is closed and granian binds its
    address again - a Unix socket in a private folder, or the same port on 127.0.0.1.
    `v2_deployment`: the app's folders as an Azure ML v2 online deployment has them (v2_deployment_env);
    otherwise as the image mldeploy builds (v1's layout: ACI, AKS, Container Apps, local)."""
    inet = sock.family == socket.AF_INET
    # azmlinfsrv requires --port; the handed socket (TCP or Unix) replaces what it would bind.
    port = sock.getsockname()[1] if inet else SCORER_PORT
    # The app folder is the image's /var/azureml-app: the entry script (at its path inside
    # sourceDirectory, when set) and the files shipped beside it, whose root is on the import path.
    app_root = context_dir / "app"
    script = app_root / PurePosixPath(context.entry_script).relative_to(APP_DIR)
    model_dir = context_dir / "azureml-models" / Path(context.model_dir).relative_to(MODELS_DIR)
    if v2_deployment:
        app_env, cwd = v2_deployment_env(context_dir, script)
    else:
        link_models_into_app(context_dir)
        # An empty working folder: the server would serve a stale swagger.json found there.
        app_env, cwd = {"AML_APP_ROOT": str(app_root)}, run_dir / name
    child_env = {
        "PATH": f"{env.path / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", str(run_dir)),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "PYTHONUNBUFFERED": "1",
        "AZUREML_MODEL_DIR": str(model_dir),
        **app_env,
        **(extra_env or {}),
        **scorer_timeouts(scoring_timeout_ms),
        # images.<name>.batching; the sample is the written context's copy (render/build_context.py)
        **{k: str(context_dir / BATCHING_SAMPLE_FILE) if k == SAMPLE_ENV else v for k, v in context.batching_env},
        "MLDEPLOY_SCORER_HOST": "127.0.0.1",  # azmlinfsrv binds 0.0.0.0 unless told
    }
    argv = [str(env.python), str(SCORER_HOST), "--entry_script", str(script),
            "--model_dir", str(model_dir), "--port", str(port), "--worker_count", str(workers)]
    child_env[SCORING_SERVER_ENV] = context.scoring_server
    if context.scoring_server == "mldeploy":
        if not inet:
            child_env[UDS_ENV] = sock.getsockname()
        sock.close()
        return Child(name, argv, env=child_env, cwd=cwd, log=run_dir / f"{name}.log")
    return Child(name, argv, env=child_env, cwd=cwd, log=run_dir / f"{name}.log",
                 sock=sock, sock_env=lambda fd: {"MLDEPLOY_SCORER_FD": str(fd)})


def _worker_user() -> list[str]:
    """nginx started by root runs its workers as `nobody`, which cannot enter a run folder under
    a private (0700) one - /root/<project>, pytest's folders - yet the workers write there: request
    bodies over the 1 MB buffer (client_body_temp_path), long answers (proxy_temp_path), and read
    a TLS certificate reloaded per handshake. So locally the workers run as the invoking user,
    given on the command line (-g) and not in nginx.conf, which stays the one ACI and AKS run:
    there the image's own user owns /tmp. Not a bigger memory buffer instead: it would not cover
    the answers or the certificate. Running as root adds nothing: the scorer beside nginx already
    runs the user's code as root. nginx warns about `user` when not root, hence only then."""
    if os.geteuid() != 0:
        return []
    return ["-g", f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"]


def write_gateway_files(spec: GatewaySpec, keys: tuple[str, str] | None) -> Path:
    """The gateway's run folder (`spec.run_dir`) as nginx starts from it: the folders it writes in,
    nginx.conf and, with `keys`, the keys map (owner-only). Returns the folder."""
    for folder in config_dirs(spec):
        Path(folder).mkdir(parents=True, exist_ok=True)
    gw_dir = Path(spec.run_dir)
    (gw_dir / "nginx.conf").write_text(render_nginx_conf(spec))
    if keys:
        write_private(gw_dir / KEYS_MAP_NAME, render_keys_map(*keys))
    return gw_dir


def gateway_child(nginx: str, gw_dir: Path, sock: socket.socket, log: Path, hop_socket: Path | None = None) -> Child:
    """nginx serving `gw_dir/nginx.conf` on the listening socket `sock`, which it takes from
    `NGINX` (the variable its binary upgrade passes sockets in; nginx.org/en/docs/control.html).
    Its own hop socket (`hop_socket`, a service's gateway; nginx binds it itself) is removed before
    every start: one left by a killed nginx would keep the next from binding it.
    Stopped with SIGQUIT, nginx's graceful shutdown (same page: it stops listening and finishes
    the requests in flight; SIGTERM is its fast shutdown, which drops them), after the drain
    that ends kept-alive connections cleanly first (render/gateway.py _drain: its file in
    `gw_dir`, removed before every start), new connections refused meanwhile
    (processes.refuse_new_connections)."""
    drain = Path(drain_file(str(gw_dir)))

    def drain_first(child: Child) -> None:
        refuse_new_connections(child)  # first: no connection is left queued when nginx stops listening
        drain.touch()
        time.sleep(DRAIN_SECONDS)

    argv = [nginx, "-p", str(gw_dir), "-c", str(gw_dir / "nginx.conf"), "-e", "stderr", *_worker_user()]
    return Child("gateway", argv, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, cwd=gw_dir, log=log,
                 sock=sock, sock_env=lambda fd: {"NGINX": f"{fd};"}, stop_signal=signal.SIGQUIT,
                 stale_files=(drain, *((hop_socket,) if hop_socket else ())), before_stop=drain_first)


class LocalServer:
    """The scorer and gateway of one service, supervised."""

    def __init__(self, plan: ServePlan, context: BuildContext, env: ScoringEnv, run_dir: Path, *, port: int,
                 keys: tuple[str, str] | None = None, max_concurrent: int | None = None,
                 tls_files: tuple[Path, Path] | None = None, logs_command: str | None = None):
        self.plan, self.name, self.context, self.env = plan, plan.name, context, env
        self.logs_command = logs_command  # named in the scorer's 500 bodies (`mldeploy logs ...`)
        self.run_dir = run_dir.resolve()
        self.port = port
        self.keys = (keys or (new_key(), new_key())) if plan.auth_enabled else None
        self.max_concurrent = max_concurrent or plan.max_concurrent
        # Absolute: nginx resolves relative paths against its own prefix, not our working folder.
        self.tls_files = (Path(tls_files[0]).resolve(), Path(tls_files[1]).resolve()) if tls_files else None
        self.gateway: Child | None = None
        self._place: ScorerSocket | None = None  # where the gateway reaches the scorer, and which serves
        self._sockets: list[socket.socket] = []
        self._socket_dir: Path | None = None
        self._next_restart = 0.0
        self._delay = 0.5

    @property
    def scorer(self) -> Child | None:
        """The scorer serving now (None before start)."""
        return self._place.child if self._place is not None else None

    # -- start ------------------------------------------------------------------------------

    def start(self, timeout: float = 120.0) -> Endpoint:
        for path in (self.run_dir, *(self.tls_files or ())):
            check_nginx_path(path)
        self._check_tls()
        self._environment()  # a `secure:` variable serve cannot read: refused before anything starts
        nginx = find_nginx()
        self._refuse_if_running()
        try:
            self._prepare(nginx)
        except BaseException:
            # A failure before any process runs (a context or gateway file that cannot be written, a
            # socket that cannot be bound): the sockets and their folder go, as after a later failure.
            self.stop()
            raise
        base = f"{'https' if self.tls_enabled else 'http'}://127.0.0.1:{self.port}"
        # The scorer is ready when its own GET / answers through the gateway (it may listen on a Unix socket).
        start_and_wait([(self.scorer, base + READINESS_PATH, "the scorer")], self.gateway, base + LIVENESS_PATH,
                       timeout, self.stop)
        endpoint = self.endpoint()
        publish_endpoint(self.run_dir, endpoint)
        return endpoint

    def _prepare(self, nginx: str) -> None:
        """Everything before the processes start: both sockets, the build context, the scorer's and
        the gateway's children and the gateway's files."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        gateway_sock = listen_socket(self.port)
        self._sockets = [gateway_sock]  # closed here once the children have them
        scorer_sock = self._scorer_socket()
        self._sockets.append(scorer_sock)
        self.port = gateway_sock.getsockname()[1]
        context_dir = self._place.context_dir
        self.context.write(context_dir)
        self._place.child = self._scorer_child(self.context, self.env, context_dir, scorer_sock)
        self.gateway = self._gateway_child(nginx, gateway_sock)

    @property
    def tls_enabled(self) -> bool:
        """Files given on the command line, else the plan's decision (plan/tls.py)."""
        return self.tls_files is not None or self.plan.tls_on

    def _tls_paths(self) -> tuple[Path, Path] | None:
        """Where nginx reads the certificate and key: the given files, or copies of the settings'."""
        if self.tls_files:
            return self.tls_files
        if self.plan.tls:
            tls_dir = self.run_dir / "gateway" / "tls"
            return tls_dir / TLS_CERT_NAME, tls_dir / TLS_KEY_NAME
        return None

    def endpoint(self) -> Endpoint:
        scheme = "https" if self.tls_enabled else "http"
        base = f"{scheme}://127.0.0.1:{self.port}"
        tls = self._tls_paths()
        return Endpoint(base + SCORE_PATH, base + SWAGGER_PATH,
                        self.keys[0] if self.keys else None, self.keys[1] if self.keys else None,
                        str(tls[0]) if tls else None)

    def _environment(self) -> dict[str, str]:
        """The stack's environmentVariables of the scorer, a `secure:` one's value from serve's environment."""
        try:
            return serve_environment(self.plan.environment, self.name)
        except ValueError as err:
            raise StartError(str(err)) from None

    def _check_tls(self) -> None:
        """Refuse, before anything starts, TLS values that are not PEM: a `secure:` value read
        from a stack file offline (as `serve` does) is only a placeholder - Pulumi decrypts it."""
        if self.tls_files:
            check_tls_files(*self.tls_files)
            return
        tls = self.plan.tls
        if tls is None:
            if self.tls_enabled:
                # TLS on (production, or certManager) with no certificate this machine can read:
                # serving plain HTTP would rehearse something the cluster never answers.
                raise StartError(
                    f"service {self.name!r} serves HTTPS (production stack or certManager; plan/tls.py) but its "
                    "certificate is issued in the cluster: give `serve` PEM files (--tls-cert, --tls-key)")
            return
        for key, value, marker in (("certificate", tls.certificate, "CERTIFICATE-----"),
                                   ("key", tls.key, "PRIVATE KEY-----")):
            if "-----BEGIN " not in value.reveal() or marker not in value.reveal():
                raise StartError(
                    f"service {self.name!r}: tls.{key} is not PEM text. A `secure:` value in a stack "
                    "file is decrypted only by `pulumi up`, so the local target cannot use it: give "
                    "`serve` PEM files (--tls-cert, --tls-key), remove `tls` from this local service, "
                    "or serve it with `pulumi up` (LocalService)")

    def _refuse_if_running(self) -> None:
        refuse_if_running(self.run_dir / ENDPOINT_FILE, f"service {self.name!r}")

    def _scorer_socket(self) -> socket.socket:
        """The scorer's listening socket: a Unix socket, so the gateway sets up no TCP connection
        per request (the scorer closes each one; ~10 % more requests/s through the gateway,
        issue 14). In a short folder of its own under the temp dir (socket_dir), not the run
        folder: nginx's workers (`nobody` when root starts nginx) must reach it, a project's
        folders may be private, and their paths may be too long for a socket. The gateway's own
        socket (its hop for chunked bodies) goes beside it. The gateway reaches it through
        SCORER_SOCKET_NAME, a symbolic link to the socket of the scorer serving now (s0.sock, then
        s1.sock and s0.sock in turn, one for each reload: swap.py ScorerSocket)."""
        self._socket_dir = socket_dir()
        self._place = ScorerSocket(self._socket_dir, SCORER_SOCKET_NAME, "s", self.run_dir)
        return self._place.listen()

    def _scorer_child(self, context: BuildContext, env: ScoringEnv, context_dir: Path, sock: socket.socket) -> Child:
        # The target's own rule (an AKS service: one worker per concurrent request).
        return scorer_child(context, env, context_dir, self.run_dir, sock=sock,
                            workers=self.plan.workers, scoring_timeout_ms=self.plan.scoring_timeout_ms,
                            extra_env={**self._environment(),
                                       **({LOGS_COMMAND_ENV: self.logs_command} if self.logs_command else {})})

    def _gateway_child(self, nginx: str, sock: socket.socket) -> Child:
        gw_dir = self.run_dir / "gateway"
        tls = self._tls_paths()
        spec = self.plan.gateway_at(run_dir=str(gw_dir), listen_port=self.port, upstream=self._scorer_upstream(),
                                    tls=TlsFiles(str(tls[0]), str(tls[1])) if tls else None,
                                    max_conns=self.max_concurrent, hop_socket=str(self._socket_dir / HOP_SOCKET))
        write_gateway_files(spec, self.keys)
        # TLS files given are read in place (no copy of the private key is made), and the
        # settings' `tls` (maybe undecryptable `secure:` values) is ignored.
        if self.plan.tls and not self.tls_files:
            (gw_dir / "tls").mkdir(exist_ok=True)
            write_private(gw_dir / "tls" / TLS_CERT_NAME, self.plan.tls.certificate.reveal())
            write_private(gw_dir / "tls" / TLS_KEY_NAME, self.plan.tls.key.reveal())
        return gateway_child(nginx, gw_dir, sock, self.run_dir / "gateway.log", Path(hop_socket(spec)))

    def _scorer_upstream(self) -> Upstream:
        return Upstream("127.0.0.1", unix_socket=str(self._socket_dir / SCORER_SOCKET_NAME))

    # -- reload (`serve --reload`) --------------------------------------------------------------

    @property
    def contexts(self) -> dict[str, BuildContext]:
        """The build context its scorer serves, by image name (as LocalEndpoint.contexts)."""
        return {self.context.image: self.context}

    def swap_images(self, changes: Mapping[str, tuple[BuildContext, ScoringEnv]], timeout: float) -> float:
        """`serve --reload`: a scorer of the new build context (`changes`: its one image -> (context,
        env)) started beside the running one, swapped in once its init() has finished, one way (swap.py
        swap_one_way: once a request got the new code's answer, none sent after it gets the old one).
        The gateway keeps its process, port, keys and nginx.conf. StartError when the new scorer exits
        or is not ready within `timeout`: it is stopped, and the old one serves on untouched. Returns
        the seconds the new one took to be ready."""
        return swap_one_way([lambda: self.next_scorers(changes)], timeout)

    def next_scorers(self, changes: Mapping[str, tuple[BuildContext, ScoringEnv]],
                     what: str = "the new scorer") -> GatewaySwap:
        """A reload's new scorer of its image's new context, started behind this gateway (swap.py; a
        split of gateways, targets/serving.py SplitReload, swaps several LocalServers' together)."""
        [(context, env)] = changes.values()

        def adopt() -> None:
            self.context, self.env = context, env

        swap = GatewaySwap(self.run_dir / "gateway", lambda: reload_gateway(self.gateway, self.plan.scoring_timeout_ms),
                           adopt)
        swap.start(self._place, context, lambda context_dir, sock: self._scorer_child(context, env, context_dir, sock),
                   what)
        return swap

    # -- supervise --------------------------------------------------------------------------

    def check(self) -> list[str]:
        """Restart any child that exited (with a growing delay if it keeps dying); keep logs capped."""
        events = []
        for child in (self.scorer, self.gateway):
            if child is not None:
                child.cap_log()
            if child is None or child.exit_code() is None:
                continue
            now = time.monotonic()
            if now < self._next_restart:
                continue
            code = child.exit_code()
            child.stop(timeout=2)  # reap what is left of its group
            child.restarts += 1
            child.start()
            self._delay = min(MAX_RESTART_DELAY_S, self._delay * 2)
            self._next_restart = now + self._delay
            events.append(f"{self.name}: the {child.name} exited (code {code}); restarted it "
                          f"(restart {child.restarts})")
        if events == [] and self._delay > 0.5 and time.monotonic() > self._next_restart + 60:
            self._delay = 0.5  # a minute without a crash: back to quick restarts
        return events

    def stop(self) -> None:
        """Gateway first, gracefully (the requests in flight finish: at most the scoring timeout),
        then the scorer, which then holds nothing."""
        mark_stopping(self.run_dir)
        if self.gateway is not None:
            self.gateway.stop(timeout=self.plan.scoring_timeout_ms / 1000 + 5)
        if self.scorer is not None:
            self.scorer.stop()
        for sock in self._sockets:
            sock.close()
        self._sockets = []
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None
        withdraw_endpoint(self.run_dir)


# How long a start waits for a `serve` of the same service that is stopping (its stop: the gateway's
# drain, DRAIN_SECONDS, nginx's graceful quit, then the scorer's; an idle service's took 5.4 s here
# on the loaded 2-core machine, tests/runtime/test_serve_reload_e2e.py; requests in flight: longer).
STOPPING_WAIT_S = 10.0


def mark_stopping(run_dir: Path) -> None:
    """Note in the endpoint file this process published that it is stopping, so that a `serve`
    started meanwhile waits for it (refuse_if_running) instead of refusing."""
    path = run_dir / ENDPOINT_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(data, dict) and data.get("pid") == os.getpid() and not data.get("stopping"):
        write_private(path, json.dumps({**data, "stopping": True}))


def refuse_if_running(endpoint_file: Path, what: str, wait_s: float = STOPPING_WAIT_S) -> None:
    """StartError if `endpoint_file` belongs to a `serve` that still runs; a file left by one
    that was killed (SIGKILL leaves it behind) is removed, so the keys in it do not linger. A
    `serve` that is stopping (mark_stopping: `kill PID`, Ctrl+C) is waited for, `wait_s` at most,
    saying so on stderr."""
    deadline = time.monotonic() + wait_s
    said = False
    while True:
        try:
            data = json.loads(endpoint_file.read_text())
            pid = int(data["pid"])
            stopping = bool(data.get("stopping"))
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError):
            pid, stopping = None, False
        if pid is None or pid == os.getpid() or not _is_mldeploy(pid):
            break
        if not stopping:
            raise StartError(f"{what} is already served by process {pid}: stop it first")
        if time.monotonic() >= deadline:
            raise StartError(f"{what} is still served by process {pid}, which did not stop within {wait_s:.0f} s: "
                             f"wait for it, or stop it (kill {pid})")
        if not said:
            print(f"{what} is still served by process {pid}, which is stopping: waiting up to {wait_s:.0f} s "
                  "for it to stop", file=sys.stderr, flush=True)
            said = True
        time.sleep(0.1)
    endpoint_file.unlink(missing_ok=True)


def _is_mldeploy(pid: int, proc: Path = Path("/proc")) -> bool:
    """Whether `pid` runs mldeploy (a stale file's pid may since belong to another program)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        argv = (proc / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        argv = _command_from_ps(pid)
        if argv is None:
            return True  # neither /proc nor ps: a live pid is taken as ours, the safe side
    # An argument naming the program: the console script (`.../bin/mldeploy`) or `-m mldeploy`.
    # Not "mldeploy" anywhere: a python in a venv of a checkout named mldeploy has it in its path.
    return any(arg.rsplit(b"/", 1)[-1] in (b"mldeploy", b"mldeploy.cli") for arg in argv)


def _command_from_ps(pid: int) -> list[bytes] | None:
    """`pid`'s command line from `ps -ww -o command= -p PID` (no /proc: macOS), split at blanks
    (an argument holding a blank is split too: the program's name, its last part, stays whole);
    [] when the process has gone meanwhile, None when ps cannot be run. `-ww`: ps cuts the line at
    the terminal's width, COLUMNS when set (80 for procps without a terminal), which can end an
    argument such as `/srv/mldeploy/.venv/data.csv` right after `mldeploy` (seen in a CI run);
    twice, unlimited, in procps (ps(1): "Use this option twice for unlimited width") and BSD/macOS
    ps ("If the -w option is specified more than once, ps will use as many columns as necessary")."""
    try:
        done = subprocess.run(["ps", "-ww", "-o", "command=", "-p", str(pid)], capture_output=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.split()
