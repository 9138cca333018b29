"""Run one Kubernetes pod spec on this machine's container engine, the way the kubelet runs it.

What is translated (pod spec -> engine): one network namespace for all containers (a podman
pod, or a docker "infra" container the others join), ConfigMap/Secret volumes as files (only
the listed `items`, `defaultMode`, owned by root:fsGroup as the kubelet does) and emptyDirs as
world-writable folders, `securityContext` (runAsUser/Group, fsGroup and supplementalGroups as
extra groups, readOnlyRootFilesystem without any extra tmpfs, dropped/added capabilities,
no-new-privileges), env (values, secretKeyRef, configMapKeyRef, fieldRef), command/args
(command replaces the image's ENTRYPOINT and drops its CMD), CPU/memory limits; the image's
HEALTHCHECK is ignored, as the kubelet ignores it.

What is evaluated like the kubelet (docs "Configure Liveness, Readiness and Startup Probes" and
"Pod Lifecycle", kubernetes.io): probes run from this machine against the pod IP (the default
probe host) with the spec's port, path, scheme, initialDelaySeconds/periodSeconds/
timeoutSeconds/successThreshold/failureThreshold (defaults 0/10/1/1/3); readiness and liveness
wait for a startupProbe's success; a liveness/startup failure or an exit restarts the container
(backoff 10 s, doubling, at most 300 s); the pod is Ready when every container is. Termination:
the pod leaves the endpoints at once, every main container's preStop runs, then its image's stop
signal, SIGKILL at the end of terminationGracePeriodSeconds; sidecars (initContainers with
restartPolicy Always, "Sidecar containers") are stopped only after every main container exited.

Not reproduced: sizeLimit/medium of emptyDirs, the projected-volume refresh of a changed Secret,
cgroup-level QoS classes, image pulls (images are local references), DNS (hosts are given).
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mldeploy.runtime.containers import Engine, EngineError

# The label on every container `serve --containers` runs for one deployment of a service (an
# online endpoint's deployment, an AKS canary's variant, a container app's revision label): what
# `mldeploy logs --local --deployment` filters by (runtime/logs.py pod_sources).
DEPLOYMENT_LABEL = "mldeploy.io/deployment"
# The label on every container `serve --containers` runs for a service (its pod, its canary's and
# revisions' pods, an endpoint's deployments), its value the service's pod_name: what `mldeploy logs
# --local` lists a service's containers by. Their names share the prefix `<pod_name>-`, but so do
# those of a service named like this one plus `-x`.
SERVICE_LABEL = "mldeploy.io/service"
PROBE_DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1,
                  "successThreshold": 1, "failureThreshold": 3}
BACKOFF_START_S, BACKOFF_MAX_S = 10.0, 300.0


@dataclass
class PodInputs:
    """A pod template's spec and what it refers to, resolved: object data and local images."""

    spec: dict
    config_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)  # spec image -> local reference
    # Extra `-v host:path` mounts per container, for stand-ins of cloud services (blob storage).
    extra_mounts: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)
    namespace: str = "default"
    labels: dict[str, str] = field(default_factory=dict)  # put on every container (DEPLOYMENT_LABEL)


def from_serve_env(name: str, value: str) -> bool:
    """Whether a container's variable holds what serve's own environment holds: a stack's `secure:` variable
    (runtime/synthesized_pod.py user_secret_value), which serve never writes to a file."""
    return bool(value) and os.environ.get(name) == value


def env_file_text(env: dict[str, str]) -> str:
    """A container's `--env-file`. A value serve's own environment holds (from_serve_env) is written as its
    name only: the engine takes it from its environment (a line without `=`: `podman create --env-file` with
    `NAME` took the host's value, checked with podman inspect; docker's --env-file reads it so too), and no
    secret is written to the file. With podman such a value goes as a podman secret instead (LocalPod)."""
    return "".join(f"{k}\n" if from_serve_env(k, v) else f"{k}={v}\n" for k, v in env.items())


def secret_name(container: str, variable: str) -> str:
    """The podman secret holding variable `variable` of container `container` while it runs."""
    return f"{container}-env-{variable}"


@dataclass
class _State:
    spec: dict
    sidecar: bool = False
    started: bool = False  # startupProbe passed (or none)
    ready: bool = False
    running: bool = False
    restarts: int = 0
    last_start: float = 0.0
    backoff: float = BACKOFF_START_S
    events: list[str] = field(default_factory=list)
    generation: int = 0  # bumped on every (re)start: probers of an old start stop


class PodError(Exception):
    """The pod could not be created or did not become Ready; the message says which container."""


def pod_name(stack: str, service: str) -> str:
    """The pod `mldeploy serve --containers` runs for a service (its containers: `<pod>-<name>`)."""
    return f"mldeploy-{stack}-{service}"


class LocalPod:
    """One pod: create with `start()`, watch `ready`, stop with `terminate()`, clean `remove()`."""

    def __init__(self, engine: Engine, name: str, inputs: PodInputs, workdir: Path,
                 add_hosts: dict[str, str] | None = None, publish: tuple[str, ...] = ()):
        self.engine, self.name, self.inputs, self.workdir = engine, name, inputs, workdir
        self.add_hosts = dict(add_hosts or {})
        self.publish = publish
        spec = inputs.spec
        self.states: dict[str, _State] = {}
        for c in spec.get("initContainers", []):
            if c.get("restartPolicy") != "Always":
                raise PodError(f"init container {c['name']!r}: only sidecars (restartPolicy Always) are run")
            self.states[c["name"]] = _State(c, sidecar=True)
        for c in spec["containers"]:
            self.states[c["name"]] = _State(c)
        self.ip: str = ""
        self.terminating = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._secrets: list[str] = []  # podman secrets of its containers' `secure:` variables

    # -- names -------------------------------------------------------------------------------
    def cname(self, container: str) -> str:
        return f"{self.name}-{container}"

    @property
    def infra(self) -> str:
        return f"{self.name}-infra"

    # -- creation ----------------------------------------------------------------------------
    def create_sandbox(self) -> str:
        """The pod's network namespace (and IP) and volumes, no container yet; returns the IP."""
        self.remove()  # leftovers of an earlier run of this pod
        self._stop.clear()
        self.terminating = False
        self._threads = []
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._volumes = self._make_volumes()
        self._sandbox()
        return self.ip

    def append_hosts(self, hosts: dict[str, str]) -> None:
        """Names -> IPs in the pod's /etc/hosts (as cluster DNS answers a Service name), for
        containers created after this; lets two pods know each other's IP."""
        infra = self.engine.out("pod", "inspect", self.name, "--format", "{{.InfraContainerID}}") \
            if self.engine.name == "podman" else self.infra
        hosts_file = Path((self.engine.inspect(infra) or {})["HostsPath"])
        with hosts_file.open("a") as f:
            f.writelines(f"{ip}\t{name}\n" for name, ip in sorted(hosts.items()))

    def start(self) -> "LocalPod":
        if not self.ip:
            self.create_sandbox()
        for name, state in self.states.items():
            self._create(state)
        for name, state in self.states.items():  # sidecars first: they are initContainers
            self._run(state)
        watcher = threading.Thread(target=self._watch, daemon=True, name=f"{self.name}-kubelet")
        watcher.start()
        self._threads.append(watcher)
        return self

    def _sandbox(self) -> None:
        hosts = [f"--add-host={h}:{ip}" for h, ip in sorted(self.add_hosts.items())]
        ports = [f"--publish={p}" for p in self.publish]
        if self.engine.name == "podman":
            self.engine.run("pod", "create", "--name", self.name, *hosts, *ports)
            self.engine.run("pod", "start", self.name)
            infra = self.engine.out("pod", "inspect", self.name, "--format", "{{.InfraContainerID}}")
        else:
            # docker has no pods: an infra container holds the network namespace the others join.
            image = next(iter(self.inputs.images.values()))
            self.engine.run("run", "-d", "--name", self.infra, *hosts, *ports, "--entrypoint", "sleep",
                            image, "infinity")
            infra = self.infra
        data = self.engine.inspect(infra) or {}
        networks = data.get("NetworkSettings", {}).get("Networks") or {}
        self.ip = data.get("NetworkSettings", {}).get("IPAddress") or next(
            (n.get("IPAddress") for n in networks.values() if n.get("IPAddress")), "")
        if not self.ip:
            raise PodError(f"pod {self.name}: the engine gave its sandbox no IP address")

    def _make_volumes(self) -> dict[str, Path]:
        sec = self.inputs.spec.get("securityContext") or {}
        fs_group = sec.get("fsGroup")
        out: dict[str, Path] = {}
        for vol in self.inputs.spec.get("volumes", []):
            path = self.workdir / "volumes" / vol["name"]
            path.mkdir(parents=True, exist_ok=True)
            if "emptyDir" in vol:
                # The kubelet creates emptyDirs 0777 (group fsGroup, setgid, with fsGroup).
                _own(path, 0, fs_group)
                os.chmod(path, 0o2777 if fs_group is not None else 0o777)
            elif "configMap" in vol or "secret" in vol:
                kind = "configMap" if "configMap" in vol else "secret"
                src = vol[kind]
                ref = src.get("name") if kind == "configMap" else src.get("secretName")
                store = self.inputs.config_maps if kind == "configMap" else self.inputs.secrets
                if ref not in store:
                    raise PodError(f"volume {vol['name']!r}: {kind} {ref!r} does not exist")
                data = store[ref]
                mode = src.get("defaultMode", 0o644)
                items = src.get("items") or [{"key": k, "path": k} for k in sorted(data)]
                for item in items:
                    if item["key"] not in data:
                        raise PodError(f"volume {vol['name']!r}: {kind} {ref!r} has no key {item['key']!r}")
                    target = path / item["path"]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(data[item["key"]], encoding="utf-8")
                    _own(target, 0, fs_group)
                    os.chmod(target, item.get("mode", mode))
                _own(path, 0, fs_group)
                os.chmod(path, 0o755)
            else:
                raise PodError(f"volume {vol['name']!r}: only configMap, secret and emptyDir volumes are run")
            out[vol["name"]] = path
        return out

    def _env(self, c: dict) -> dict[str, str]:
        env: dict[str, str] = {}
        for item in c.get("env", []):
            if "value" in item:
                env[item["name"]] = str(item["value"])
                continue
            source = item.get("valueFrom", {})
            if "secretKeyRef" in source or "configMapKeyRef" in source:
                kind = "secretKeyRef" if "secretKeyRef" in source else "configMapKeyRef"
                ref = source[kind]
                store = self.inputs.secrets if kind == "secretKeyRef" else self.inputs.config_maps
                if ref["key"] not in store.get(ref["name"], {}):
                    raise PodError(f"container {c['name']!r}: env {item['name']}: {ref['name']}/{ref['key']} missing")
                env[item["name"]] = store[ref["name"]][ref["key"]]
            elif "fieldRef" in source:
                path = source["fieldRef"]["fieldPath"]
                env[item["name"]] = {"metadata.name": self.name, "metadata.namespace": self.inputs.namespace,
                                     "status.podIP": self.ip}.get(path, "")
        env.update(self.inputs.extra_env.get(c["name"], {}))
        return env

    def _create(self, state: _State) -> None:
        c = state.spec
        pod_sec = self.inputs.spec.get("securityContext") or {}
        sec = {**{k: v for k, v in pod_sec.items() if k in ("runAsUser", "runAsGroup", "runAsNonRoot")},
               **(c.get("securityContext") or {})}
        args = ["create", "--name", self.cname(c["name"]), "--no-healthcheck", "--restart", "no"]
        args += [f"--label={key}={value}" for key, value in sorted(self.inputs.labels.items())]
        if self.engine.name == "podman":
            args += ["--pod", self.name]
        else:
            args += ["--network", f"container:{self.infra}", "--ipc", f"container:{self.infra}"]
        uid = sec.get("runAsUser")
        if uid is not None:
            args += ["--user", f"{uid}:{sec.get('runAsGroup', 0)}"]
        for group in [pod_sec.get("fsGroup"), *pod_sec.get("supplementalGroups", [])]:
            if group is not None:
                args += ["--group-add", str(group)]
        if sec.get("readOnlyRootFilesystem"):
            args.append("--read-only")
            if self.engine.name == "podman":
                args.append("--read-only-tmpfs=false")  # podman adds writable /tmp, /run otherwise
        caps = sec.get("capabilities") or {}
        args += [f"--cap-drop={cap}" for cap in caps.get("drop", [])]
        args += [f"--cap-add={cap}" for cap in caps.get("add", [])]
        if sec.get("allowPrivilegeEscalation") is False:
            args += ["--security-opt", "no-new-privileges"]
        if sec.get("privileged"):
            args.append("--privileged")
        limits = (c.get("resources") or {}).get("limits") or {}
        if "cpu" in limits:
            args += ["--cpus", str(_cpu(limits["cpu"]))]
        if "memory" in limits:
            args += ["--memory", f"{_mib(limits['memory'])}m"]
        env = self._env(c)
        if self.engine.name == "podman":
            # A `secure:` variable as a podman secret (type env), its value handed on stdin: not in the
            # container's creation settings, and masked by `podman inspect` from podman 5.3 on (podman pull
            # request #23959, "Hide secrets from container inspect command", for issue #23788). podman 4.3, as
            # on Debian 12, still shows it in `podman inspect`'s Config.Env once the container started, read
            # back from the OCI runtime spec every process environment is started from; only root reaches
            # either, and root reads /proc/<pid>/environ too. The secret's store (root-only) keeps it until
            # remove(). docker's secrets need swarm mode: there the env file names it (env_file_text).
            for name, value in sorted(env.items()):
                if from_serve_env(name, value):
                    secret = secret_name(self.cname(c["name"]), name)
                    self.engine.run("secret", "rm", secret, check=False)
                    self.engine.run("secret", "create", secret, "-", input=value.encode())
                    self._secrets.append(secret)
                    args += ["--secret", f"{secret},type=env,target={name}"]
                    del env[name]
        env_file = self.workdir / f"{c['name']}.env"
        env_file.write_text(env_file_text(env))
        os.chmod(env_file, 0o600)
        args += ["--env-file", str(env_file)]
        for mount in c.get("volumeMounts", []):
            host = self._volumes[mount["name"]]
            if mount.get("subPath"):
                host = host / mount["subPath"]
            ro = mount.get("readOnly") or any(
                ("configMap" in v or "secret" in v) and v["name"] == mount["name"]
                for v in self.inputs.spec.get("volumes", []))  # the kubelet mounts these read-only
            args += ["-v", f"{host}:{mount['mountPath']}" + (":ro" if ro else "")]
        for host, path in self.inputs.extra_mounts.get(c["name"], []):
            args += ["-v", f"{host}:{path}"]
        if c.get("workingDir"):
            args += ["--workdir", c["workingDir"]]
        if c.get("command"):
            args += ["--entrypoint", json.dumps(c["command"])]
        image = self.inputs.images.get(c["image"], c["image"])
        args.append(image)
        args += [str(a) for a in c.get("args", [])]
        self.engine.run(*args)

    # -- running, probing, restarting --------------------------------------------------------
    def _run(self, state: _State) -> None:
        name = state.spec["name"]
        self.engine.run("start", self.cname(name))
        with self._lock:
            state.running, state.ready = True, False
            state.started = "startupProbe" not in state.spec
            state.last_start = time.monotonic()
            state.generation += 1
            generation = state.generation
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            if kind in state.spec:
                t = threading.Thread(target=self._probe_loop, args=(state, kind, generation), daemon=True,
                                     name=f"{self.cname(name)}-{kind}")
                t.start()
                self._threads.append(t)
        if "readinessProbe" not in state.spec:
            with self._lock:
                state.ready = state.started

    def _probe_loop(self, state: _State, kind: str, generation: int) -> None:
        probe = {**PROBE_DEFAULTS, **state.spec[kind]}
        if kind != "startupProbe":
            while not state.started:  # readiness/liveness wait for the startup probe
                if self._stop.wait(0.1) or state.generation != generation:
                    return
        if self._stop.wait(probe["initialDelaySeconds"]):
            return
        successes = failures = 0
        while not self._stop.is_set() and state.generation == generation and not self.terminating:
            began = time.monotonic()
            ok, why = self._probe_once(state.spec, probe)
            if state.generation != generation or self.terminating:
                return
            successes, failures = (successes + 1, 0) if ok else (0, failures + 1)
            if kind == "startupProbe":
                if ok:
                    with self._lock:
                        state.started = True
                        if "readinessProbe" not in state.spec:
                            state.ready = True
                    return
                if failures >= probe["failureThreshold"]:
                    self._event(state, f"startup probe failed {failures} times ({why}): restarting")
                    self._restart(state, generation)
                    return
            elif kind == "readinessProbe":
                with self._lock:
                    if ok and successes >= probe["successThreshold"]:
                        state.ready = True
                    elif not ok and failures >= probe["failureThreshold"]:
                        if state.ready:
                            self._event(state, f"readiness probe failed ({why}): not ready")
                        state.ready = False
            elif not ok and failures >= probe["failureThreshold"]:
                self._event(state, f"liveness probe failed {failures} times ({why}): restarting")
                self._restart(state, generation)
                return
            wait = probe["periodSeconds"] - (time.monotonic() - began)
            if self._stop.wait(max(0.0, wait)):
                return

    def _probe_once(self, c: dict, probe: dict) -> tuple[bool, str]:
        timeout = probe["timeoutSeconds"]
        if "httpGet" in probe:
            h = probe["httpGet"]
            port = _port(c, h["port"])
            host = h.get("host") or self.ip
            try:
                if h.get("scheme", "HTTP").upper() == "HTTPS":
                    # The kubelet does not verify the certificate of an HTTPS probe.
                    conn = http.client.HTTPSConnection(host, port, timeout=timeout,
                                                       context=ssl._create_unverified_context())
                else:
                    conn = http.client.HTTPConnection(host, port, timeout=timeout)
                headers = {"User-Agent": "kube-probe/1.33", "Accept": "*/*",
                           **{x["name"]: x["value"] for x in h.get("httpHeaders", [])}}
                conn.request("GET", h.get("path", "/"), headers=headers)
                status = conn.getresponse().status
                conn.close()
                return 200 <= status < 400, f"HTTP {status}"
            except (OSError, http.client.HTTPException) as err:
                return False, f"{type(err).__name__}: {err}"
        if "tcpSocket" in probe:
            port = _port(c, probe["tcpSocket"]["port"])
            try:
                with socket.create_connection((probe["tcpSocket"].get("host") or self.ip, port), timeout=timeout):
                    return True, "connected"
            except OSError as err:
                return False, f"tcp {self.ip}:{port}: {err}"
        if "exec" in probe:
            done = self.engine.run("exec", self.cname(c["name"]), *probe["exec"]["command"], check=False,
                                   timeout=timeout + 5)
            return done.returncode == 0, f"exit {done.returncode}"
        return False, "unsupported probe"

    def _restart(self, state: _State, generation: int) -> None:
        with self._lock:
            if state.generation != generation or self.terminating:
                return
            state.generation += 1  # stops this start's probers
            state.ready = False
        self._stop_container(state, self._grace())
        with self._lock:
            state.running = False

    def _watch(self) -> None:
        """Restart exited containers with the kubelet's backoff."""
        while not self._stop.wait(0.5):
            if self.terminating:
                return
            for state in self.states.values():
                name = self.cname(state.spec["name"])
                data = self.engine.inspect(name)
                running = bool(data and data["State"].get("Running"))
                if running or self.terminating:
                    continue
                with self._lock:
                    if state.running:
                        code = data["State"].get("ExitCode") if data else "?"
                        state.events.append(f"exited with code {code}")
                        state.running, state.ready = False, False
                        state.generation += 1
                        state.exited_at = time.monotonic()
                    due = getattr(state, "exited_at", 0.0) + state.backoff
                if time.monotonic() >= due and not self.terminating:
                    if time.monotonic() - state.last_start > 600:
                        state.backoff = BACKOFF_START_S  # ran 10 min: the backoff resets
                    else:
                        state.backoff = min(state.backoff * 2, BACKOFF_MAX_S)
                    state.restarts += 1
                    self._event(state, f"restart #{state.restarts}")
                    try:
                        self._run(state)
                    except EngineError as err:
                        self._event(state, f"restart failed: {err}")
                        state.exited_at = time.monotonic()

    def _event(self, state: _State, message: str) -> None:
        state.events.append(message)

    # -- status ------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        with self._lock:
            return not self.terminating and all(s.ready for s in self.states.values())

    def readiness(self) -> dict[str, bool]:
        with self._lock:
            return {n: s.ready for n, s in self.states.items()}

    def restarts(self) -> dict[str, int]:
        return {n: s.restarts for n, s in self.states.items()}

    def wait_ready(self, timeout: float) -> None:
        """Until every container is Ready; PodError naming the containers that are not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready:
                return
            time.sleep(0.2)
        raise PodError(f"pod {self.name} not Ready within {timeout:g} s: {self.describe()}")

    def describe(self) -> str:
        parts = []
        for n, s in self.states.items():
            status = "ready" if s.ready else ("started" if s.started else "not started")
            last = "; ".join(s.events[-3:])
            logs = self.engine.logs(self.cname(n), tail=5).strip().replace("\n", " | ")
            parts.append(f"{n}: {status}, restarts {s.restarts}" + (f", events: {last}" if last else "")
                         + (f", log: {logs[-400:]}" if not s.ready and logs else ""))
        return "; ".join(parts)

    # -- termination -------------------------------------------------------------------------
    def _grace(self) -> float:
        return float(self.inputs.spec.get("terminationGracePeriodSeconds", 30))

    def _stop_container(self, state: _State, budget: float, stop_signal: str | None = None) -> None:
        """preStop hook, then the image's stop signal (or `stop_signal`); SIGKILL when `budget`
        seconds are spent."""
        deadline = time.monotonic() + budget
        name = self.cname(state.spec["name"])
        hook = (state.spec.get("lifecycle") or {}).get("preStop") or {}
        if "exec" in hook:
            self.engine.run("exec", name, *hook["exec"]["command"], check=False, timeout=max(1.0, budget))
        elif "sleep" in hook:
            time.sleep(min(hook["sleep"]["seconds"], budget))
        left = max(0, int(deadline - time.monotonic()))
        if stop_signal:
            # `podman stop` 4.3 has no --signal: the signal, the wait, then stop's SIGKILL.
            self.engine.run("kill", "--signal", stop_signal, name, check=False, timeout=30)
            try:
                self.engine.run("wait", "--interval", "200ms", name, check=False, timeout=max(1, left))
            except EngineError:
                pass  # still running at the end of the grace period: SIGKILL below
            left = 0
        self.engine.run("stop", "-t", str(left), name, check=False, timeout=left + 30)

    def terminate(self, stop_signal: str | None = None) -> dict[str, Any]:
        """Delete the pod as the kubelet does; returns each container's exit code and when it
        stopped (seconds after the start of termination). `stop_signal` (e.g. "TERM") replaces
        every image's STOPSIGNAL: a platform that sends its own (Container Apps: SIGTERM; ACI:
        undocumented)."""
        began = time.monotonic()
        with self._lock:
            self.terminating = True
            for s in self.states.values():
                s.ready = False
        grace = self._grace()
        stopped: dict[str, Any] = {}

        def stop(state: _State) -> None:
            self._stop_container(state, max(0.0, grace - (time.monotonic() - began)), stop_signal)
            data = self.engine.inspect(self.cname(state.spec["name"])) or {}
            stopped[state.spec["name"]] = {"exitCode": data.get("State", {}).get("ExitCode"),
                                           "after": round(time.monotonic() - began, 1)}

        for group in ([s for s in self.states.values() if not s.sidecar],
                      list(reversed([s for s in self.states.values() if s.sidecar]))):
            threads = [threading.Thread(target=stop, args=(s,)) for s in group]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        self._stop.set()
        return stopped

    def remove(self) -> None:
        self._stop.set()
        with self._lock:
            self.terminating = True  # no restart may race the removal
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=15)
        names = [self.cname(n) for n in self.states]
        self.engine.remove(*names)
        if self.engine.name == "podman":
            self.engine.run("pod", "rm", "-f", self.name, check=False, timeout=60)
            # Its containers' secrets (named after them: an earlier run's too, were it killed before this).
            left = self.engine.out("secret", "ls", "--format", "{{.Name}}", check=False).split()
            mine = sorted({*self._secrets, *(n for n in left if any(n.startswith(f"{self.cname(c)}-env-")
                                                                     for c in self.states))})
            if mine:
                self.engine.run("secret", "rm", *mine, check=False, timeout=60)
            self._secrets = []
        else:
            self.engine.remove(self.infra)


def _own(path: Path, uid: int, gid: int | None) -> None:
    try:
        os.chown(path, uid, gid if gid is not None else 0)
    except PermissionError:
        pass  # not root: the engine maps ownership itself (rootless)


def _port(c: dict, port: int | str) -> int:
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for p in c.get("ports", []):
        if p.get("name") == port:
            return int(p["containerPort"])
    raise PodError(f"container {c['name']!r}: no port named {port!r}")


def _cpu(value: str | float) -> float:
    s = str(value)
    return int(s[:-1]) / 1000 if s.endswith("m") else float(s)


def _mib(value: str | int) -> int:
    s = str(value)
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "K": 1 / 1048.576, "M": 1 / 1.048576, "G": 953.67}
    for unit in sorted(units, key=len, reverse=True):
        if s.endswith(unit):
            return max(4, int(float(s[: -len(unit)]) * units[unit]))
    return max(4, int(int(s) / 1048576))
