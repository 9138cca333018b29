"""One v2 online endpoint with its deployments' scorers in containers (`mldeploy serve
--containers` of a `managed` or `kubernetes-endpoint` service): each deployment runs its own
synthesized image - its own model version - as a container on the engine's bridge network, and
the endpoint's front door is the same nginx the process rehearsal runs (runtime/endpoint_local.py:
one renderer, plan/gateway.py's endpoint_gateway) on 127.0.0.1, reaching each scorer at its
container's IP. Azure runs the front door itself, so it stays a process here; what the
containers add is each deployment's image exactly as built, laid out as Azure ML v2 runs a deployment
(v2_layout: the code folder mounted beside the models, AML_APP_ROOT and the working folder the scoring
script's folder), as `serve` lays out its processes (runtime/local.py v2_deployment_env).

    server = ContainerEndpoint(plan_serve_endpoint("diabetes", service), images, engine, run_dir, port=8890,
                               prefix="mldeploy-managed-diabetes")
    endpoint = server.start()      # every scorer answers GET /, then the gateway
    server.stop()                  # containers removed, nginx stopped
"""
from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mldeploy.contract import LIVENESS_PATH, SCORE_PATH, SCORER_PORT, SWAGGER_PATH
from mldeploy.plan.gateway import Upstream
from mldeploy.plan.serve import EndpointServePlan
from mldeploy.plan.scorer import workers_and_timeouts
from mldeploy.runtime.containers import Engine, EngineError
from mldeploy.runtime.local import Endpoint, gateway_child, new_key, write_gateway_files
from mldeploy.runtime.pod import DEPLOYMENT_LABEL, SERVICE_LABEL
from mldeploy.runtime.processes import Child, StartError, find_nginx, last_error, listen_socket, start_hint
from mldeploy.render.build_context import APP_DIR

# Where a v2 deployment's code folder is in its container: Azure ML mounts the code folder under
# /var/azureml-app by its own name, beside the models in /var/azureml-app/azureml-models (Microsoft's
# local rehearsal of a deployment: "docker_code_mount_path = /var/azureml-app/<code folder's name>/",
# the model at /var/azureml-app/azureml-models/..., Azure/azure-sdk-for-python
# sdk/ml/azure-ai-ml/azure/ai/ml/_local_endpoints/azureml_image_context.py; a deployed deployment reads
# back AML_APP_ROOT=/var/azureml-app/onlinescoring for a code folder `onlinescoring`, the sources of
# runtime/local.py v2_deployment_env). The folder's name is Azure's to give (a script finds its folder by
# AML_APP_ROOT or __file__): here the build context's, `app`, as `serve` names it.
V2_CODE_DIR = f"{APP_DIR}/app"


@dataclass(frozen=True)
class V2Layout:
    """How a deployment's container runs its image as Azure ML v2 runs a deployment."""

    env: tuple[tuple[str, str], ...]  # AML_APP_ROOT, AZUREML_ENTRY_SCRIPT
    workdir: str  # AML_APP_ROOT
    mount: tuple[str, str]  # (the code folder on this machine, V2_CODE_DIR)
    command: tuple[str, ...]  # the image's CMD, its --entry_script the code folder's script


def v2_layout(image_cmd: list[str], code_dir: Path) -> V2Layout:
    """The v2 layout of an image whose CMD (render/build_context.py) serves `--entry_script
    /var/azureml-app/<script>` - the v1 image's layout - with `code_dir`, its build context's app folder
    (the code asset: program.py code_files), mounted at V2_CODE_DIR. AML_APP_ROOT is the script's folder
    in it, AZUREML_ENTRY_SCRIPT its name ("Set the directory containing scoring script as AML_APP_ROOT/
    working directory", azureml_image_context.py above), the working folder AML_APP_ROOT (Azure ML's
    images start the server with `cd "${AML_APP_ROOT:-/var/azureml-app}"`: Azure/AzureML-Containers
    base/triton/openmpi3.1.2-nvidia-tritonserver20.07-py3/runit/gunicorn/run). AZUREML_MODEL_DIR stays the
    image's: /var/azureml-app/azureml-models/<name>/<version>, where Azure mounts a deployment's model.
    azmlinfsrv makes AZUREML_ENTRY_SCRIPT the script's full path again from --entry_script
    (azureml_inference_server_http 1.5.1 amlserver.py merge_configuration), as under `serve`."""
    at = image_cmd.index("--entry_script") + 1
    script = PurePosixPath(image_cmd[at]).relative_to(APP_DIR)
    in_container = PurePosixPath(V2_CODE_DIR) / script
    app_root = str(in_container.parent)
    command = (*image_cmd[:at], str(in_container), *image_cmd[at + 1:])
    return V2Layout(env=(("AML_APP_ROOT", app_root), ("AZUREML_ENTRY_SCRIPT", script.name)), workdir=app_root,
                    mount=(str(code_dir), V2_CODE_DIR), command=command)



class ContainerEndpoint:
    """Every deployment's scorer container and the endpoint's gateway."""

    def __init__(self, plan: EndpointServePlan, images: dict[str, str], engine: Engine,
                 run_dir: Path, *, port: int, prefix: str, keys: tuple[str, str] | None = None,
                 code_dirs: dict[str, Path] | None = None):
        """`code_dirs`: each image's code folder on this machine (its build context's app folder), run in the
        v2 layout (v2_layout); without one an image runs as built."""
        self.plan, self.name, self.images, self.engine = plan, plan.name, images, engine
        self.code_dirs = code_dirs or {}
        self.run_dir, self.port, self.prefix = run_dir.resolve(), port, prefix
        # Locally every auth mode is served with keys, as in the process rehearsal.
        self.keys = keys or (new_key(), new_key())
        self.addresses: dict[str, str] = {}  # deployment -> its container's IP
        self.gateway: Child | None = None

    def container(self, deployment: str) -> str:
        return f"{self.prefix}-{deployment}"

    def start(self, timeout: float = 180.0) -> Endpoint:
        nginx = find_nginx()
        sock = listen_socket(self.port)
        self.port = sock.getsockname()[1]
        try:
            for dep in self.plan.deployments:
                self._run_scorer(dep.name, dep)
            deadline = time.monotonic() + timeout
            for dep_name in sorted(self.addresses):
                self._wait_ready(dep_name, deadline)
            spec = self.plan.gateway_at(run_dir=str(self.run_dir / "gateway"), listen_port=self.port,
                                        scorers={n: Upstream(ip, SCORER_PORT) for n, ip in self.addresses.items()})
            gw_dir = write_gateway_files(spec, self.keys)
            self.gateway = gateway_child(nginx, gw_dir, sock, self.run_dir / "gateway.log")
            self.gateway.start()
            self._wait_gateway(deadline)
        except BaseException:
            self.stop()
            raise
        base = f"http://127.0.0.1:{self.port}"
        return Endpoint(base + SCORE_PATH, base + SWAGGER_PATH, self.keys[0], self.keys[1])

    def _run_scorer(self, dep_name: str, dep) -> None:
        name = self.container(dep_name)
        self.engine.run("rm", "-f", name, check=False, timeout=60)
        env = [*workers_and_timeouts(dep.workers, dep.request_timeout_ms), *dep.environment]
        args = ["run", "-d", "--name", name, "--label", f"{DEPLOYMENT_LABEL}={dep_name}",
                "--label", f"{SERVICE_LABEL}={self.prefix}", "--security-opt", "no-new-privileges", "--cap-drop", "ALL"]
        image, command = self.images[dep.image], ()
        if dep.image in self.code_dirs:
            cmd = json.loads(self.engine.out("image", "inspect", "--format", "{{json .Config.Cmd}}", image))
            layout = v2_layout(cmd, self.code_dirs[dep.image].resolve())
            env += list(layout.env)
            args += ["--workdir", layout.workdir, "-v", ":".join(layout.mount)]
            command = layout.command
        for key, value in env:
            args += ["--env", f"{key}={value}"]
        self.engine.run(*args, image, *command, timeout=120)
        data = self.engine.inspect(name) or {}
        networks = data.get("NetworkSettings", {}).get("Networks") or {}
        ip = data.get("NetworkSettings", {}).get("IPAddress") or next(
            (n.get("IPAddress") for n in networks.values() if n.get("IPAddress")), "")
        if not ip:
            raise StartError(f"deployment {dep_name!r}: the engine gave container {name} no IP address")
        self.addresses[dep_name] = ip

    def _wait_ready(self, dep_name: str, deadline: float) -> None:
        # The scorer's GET / answers 200 only once init() has loaded the model.
        url = f"http://{self.addresses[dep_name]}:{SCORER_PORT}/"
        while not _ok(url):
            state = (self.engine.inspect(self.container(dep_name)) or {}).get("State", {})
            if state.get("Status") == "exited" or time.monotonic() > deadline:
                logs = self.engine.logs(self.container(dep_name), tail=40)
                why = "exited" if state.get("Status") == "exited" else "did not answer GET / in time"
                # Its most telling line first, as `serve` reports a scorer process (runtime/processes.py _reason).
                lines = [line.strip() for line in logs.splitlines() if line.strip()]
                error = last_error(lines)
                reason = f": {error[-300:]}{start_hint(error, lines)}" if error else ""
                raise StartError(f"the scorer of deployment {dep_name!r} {why}{reason}; its last lines:\n"
                                 + "\n".join(lines[-20:]))
            time.sleep(0.5)

    def _wait_gateway(self, deadline: float) -> None:
        url = f"http://127.0.0.1:{self.port}{LIVENESS_PATH}"
        while not _ok(url):
            if self.gateway.exit_code() is not None or time.monotonic() > deadline:
                raise StartError("the endpoint's gateway did not start: " + " | ".join(self.gateway.log_tail(10)))
            time.sleep(0.2)

    def check(self) -> list[str]:
        """What stopped (a scorer container exited, the gateway died): reported, not restarted."""
        events = []
        for dep_name in sorted(self.addresses):
            try:
                state = (self.engine.inspect(self.container(dep_name)) or {}).get("State", {})
            except (ValueError, EngineError):
                # A Ctrl+C reaches the whole process group, the engine's client too: an empty answer.
                continue
            if state.get("Status") != "running":
                events.append(f"{self.name}: the scorer container of deployment {dep_name!r} is {state.get('Status')}")
        if self.gateway is not None and self.gateway.exit_code() is not None:
            events.append(f"{self.name}: the gateway exited (code {self.gateway.exit_code()})")
        return events

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        names = [self.container(d.name) for d in self.plan.deployments]
        self.engine.run("rm", "-f", "-t", "10", *names, check=False, timeout=120)


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False
