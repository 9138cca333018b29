"""The pod of an AKS scoring service, from its plan (mldeploy/plan/workload.py): its containers
(gateway, scorer, optional model-data collector) and its placement. Pure: deploy-time values
(image digest, Secret names) arrive as opaque arguments and are placed, never inspected.
Objects are in `render/k8s.py`."""
from __future__ import annotations

from typing import Any

from mldeploy.contract import (CONTAINER_CONFIG_DIR, CONTAINER_RUN_DIR, CONTAINER_TLS_DIR, GATEWAY_PORT, LIVENESS_PATH,
                               POD_KEYS_DIR, POD_TRAFFIC_DIR, SCORER_PORT)
from mldeploy.plan.scorer import workers_and_timeouts
from mldeploy.plan.secret_env import is_secret, secret_env_key
from mldeploy.plan.timeouts import probe_failure_threshold
from mldeploy.plan.workload import (COLLECTOR_CPU_CORES, COLLECTOR_MEMORY_MB, GATEWAY_CPU_CORES, GATEWAY_MEMORY_MB,
                                    Variant, WorkloadPlan, traffic_file)
from mldeploy.render.gateway import direct_command, reloading_command

MDC_PORT = 50011  # where azureml-ai-monitoring's Collector sends (AZUREML_MDC_PORT default)
GATEWAY_UID = 10101
SCORER_UID = 10001
COLLECTOR_UID = 10201
COLLECTOR_SECRET_DIR = "/etc/mldeploy/model-data"
PRESTOP_SECONDS = 5  # lets the load balancer and kube-proxy stop sending before shutdown
LABEL = "mldeploy.io"
SECRET_KEYS_ANNOTATION = f"{LABEL}/secret-keys"
# On a canary service's traffic ConfigMap: {"<Deployment>": weight, ...} as JSON.
TRAFFIC_WEIGHTS_ANNOTATION = f"{LABEL}/traffic-weights"


def labels(plan: WorkloadPlan, variant: Variant | None = None) -> dict[str, str]:
    out = {"app.kubernetes.io/name": plan.service, "app.kubernetes.io/managed-by": "mldeploy",
           f"{LABEL}/service": plan.service}
    if variant is not None:
        out[f"{LABEL}/variant"] = variant.name
    return out


def selector(plan: WorkloadPlan, variant: Variant | None = None) -> dict[str, str]:
    out = {f"{LABEL}/service": plan.service}
    if variant is not None:
        out[f"{LABEL}/variant"] = variant.name
    return out


def _meta(plan: WorkloadPlan, name: str | None, variant: Variant | None = None, **extra) -> dict:
    meta: dict[str, Any] = {"namespace": plan.namespace, "labels": labels(plan, variant)}
    if name is not None:
        meta["name"] = name
    meta.update(extra)
    return meta


def namespace(plan: WorkloadPlan) -> dict:
    """The service's namespace, with the `restricted` Pod Security Standard enforced."""
    pss = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": plan.namespace, "labels": {**labels(plan), **pss}}}


def placement(plan: WorkloadPlan) -> dict[str, Any]:
    """The pod spec's `nodeSelector` and `tolerations`, only those the plan sets."""
    out: dict[str, Any] = {}
    if plan.placement.node_selector:
        out["nodeSelector"] = dict(plan.placement.node_selector)
    if plan.placement.tolerations:
        out["tolerations"] = [{"key": t.key, "operator": t.operator, "value": t.value, "effect": t.effect}
                              for t in plan.placement.tolerations]
    return out


def _security(uid: int) -> dict:
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid, "allowPrivilegeEscalation": False,
            "privileged": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}


def _http_probe(path: str, port: int | str, scheme: str = "HTTP", **timing) -> dict:
    return {"httpGet": {"path": path, "port": port, "scheme": scheme}, **timing}


def _resources(cpu: float, memory_mb: int) -> dict:
    # requests == limits: the Guaranteed QoS class, so a scorer is never squeezed by neighbours.
    amount = {"cpu": f"{round(cpu * 1000)}m", "memory": f"{memory_mb}Mi"}
    return {"requests": dict(amount), "limits": dict(amount)}


def _prestop(seconds: int = PRESTOP_SECONDS) -> dict:
    return {"preStop": {"exec": {"command": ["sleep", str(seconds)]}}}


def scorer_prestop_seconds(plan: WorkloadPlan) -> int:
    """The scorer's pause before its SIGTERM: the gateway's pause, then the gateway's drain (its
    stop signal is SIGQUIT - the official nginx image's STOPSIGNAL, which containerd, AKS's
    runtime, sends instead of SIGTERM (containerd's CRI container_stop.go reads the image
    config's StopSignal; kubernetes.io "Termination of Pods": many runtimes respect it) - and
    nginx finishes what is in flight, at most the scoring timeout), and a second more. The scorer serves on meanwhile: a scorer stopping
    with the gateway closed its socket under requests queued there (the gateway's 502)."""
    return PRESTOP_SECONDS + plan.timeout_seconds + 1


# From the scorer's SIGTERM to the pod's SIGKILL: gunicorn's (or granian's) stop, azmlinfsrv
# workers' App Insights flush at exit (bounded to scorer_host.EXIT_FLUSH_S = 5 s) and the
# interpreter's exit - then the native sidecars (model data), stopped after the main containers
# with what is left of the grace period (kubernetes.io "Sidecar containers": "sidecar containers
# ... are terminated after the main containers", within terminationGracePeriodSeconds). With 9 s
# the azmlinfsrv scorer exited at 5-6 s on a quiet machine but at 12.3 s on a loaded one (a CI run
# beside five test suites, 2026-12-05), and the model-data sidecar, left 0.5 s, was SIGKILLed (137)
# with whatever it had not yet written. 20 s leaves the scorer twice its worst measured stop and
# the sidecar its own time; a pod that stops sooner is gone sooner (the grace is a bound, not a wait).
SCORER_STOP_SECONDS = 20


def grace_seconds(plan: WorkloadPlan) -> int:
    """terminationGracePeriodSeconds: the scorer's preStop pause, then its stop."""
    return scorer_prestop_seconds(plan) + SCORER_STOP_SECONDS


def scorer_container(plan: WorkloadPlan, variant: Variant, secrets: dict[str, Any]) -> dict:
    """The scorer as the image runs it, told its concurrency, timeout and telemetry by env."""
    env = [
        *({"name": k, "value": v} for k, v in workers_and_timeouts(plan.scorer_workers, plan.scoring_timeout_ms)),
        {"name": "SERVICE_NAME", "value": plan.service},
        {"name": "SERVICE_VERSION", "value": variant.image_tag},
        {"name": "WORKSPACE_NAME", "value": plan.workspace_name},
        {"name": "HOME", "value": "/tmp"},
    ]
    if plan.app_insights or plan.collect_model_data:
        env += [
            {"name": "AML_APP_INSIGHTS_ENABLED", "value": "true"},
            # azmlinfsrv 1.5 takes the instrumentation key (it builds the connection string);
            # the connection string is there too, for score.py code using azure-monitor-opentelemetry.
            {"name": "AML_APP_INSIGHTS_KEY", "valueFrom": {"secretKeyRef": {
                "name": secrets["insights"], "key": "instrumentation-key"}}},
            {"name": "APPLICATIONINSIGHTS_CONNECTION_STRING", "valueFrom": {"secretKeyRef": {
                "name": secrets["insights"], "key": "connection-string"}}},
        ]
    if plan.collect_model_data:
        env += [
            # The inference server's own collector: each input + prediction to App Insights.
            {"name": "AML_MDC_STORAGE_ENABLED", "value": "true"},
            # azureml-ai-monitoring's Collector(name=...) in score.py: to the sidecar -> blob storage.
            {"name": "AZUREML_MDC_ENABLED", "value": "true"},
            {"name": "AZUREML_MDC_HOST", "value": "127.0.0.1"},
            {"name": "AZUREML_MDC_PORT", "value": str(MDC_PORT)},
        ]
    # The stack's environmentVariables (image, then service), last: config refuses every name above,
    # and a new one appends to the list (a diff shows it alone).
    # A `secure:` one is read from the service's Secret of them (components/aks_service.py), a key per
    # variant and name: a pod spec holds no secret value ("Using Secrets as environment variables",
    # kubernetes.io/docs/concepts/configuration/secret).
    env += [{"name": k, "valueFrom": {"secretKeyRef": {"name": secrets["env"], "key": secret_env_key(variant.name, k)}}}
            if is_secret(v) else {"name": k, "value": v} for k, v in variant.env]
    # Busy sync workers answer GET / only when a request ends: both probes' windows outlast the
    # scorer's limit, so a long request neither restarts the container nor unreadies the pod.
    def failures(period_s: int) -> int:
        return probe_failure_threshold(plan.scoring_timeout_ms, period_s, wait_ms=plan.scorer_load.wait_ms)
    return {
        "name": "scorer",
        "image": variant.image,
        "imagePullPolicy": "Always",
        "ports": [{"name": "scorer", "containerPort": SCORER_PORT, "protocol": "TCP"}],
        "env": env,
        "resources": _resources(plan.cpu_cores, round(plan.memory_gb * 1024)),
        # GET / answers 200 only once init() has loaded the model (the port opens earlier).
        "startupProbe": _http_probe("/", "scorer", periodSeconds=2, timeoutSeconds=2, failureThreshold=150),
        "readinessProbe": _http_probe("/", "scorer", periodSeconds=5, timeoutSeconds=3, failureThreshold=failures(5)),
        "livenessProbe": _http_probe("/", "scorer", periodSeconds=10, timeoutSeconds=5, failureThreshold=failures(10)),
        "lifecycle": _prestop(scorer_prestop_seconds(plan)),
        "securityContext": _security(SCORER_UID),
        "volumeMounts": [{"name": "scorer-tmp", "mountPath": "/tmp"}],
    }


def gateway_container(plan: WorkloadPlan, variant: Variant) -> dict:
    """nginx in front of the scorer. With a canary its upstream weights come from the mounted
    traffic ConfigMap, and it reloads when the kubelet updates that file (no pod restart)."""
    scheme = "HTTPS" if plan.tls else "HTTP"
    conf = f"{CONTAINER_CONFIG_DIR}/nginx.conf"
    mounts = [
        {"name": "gateway-conf", "mountPath": CONTAINER_CONFIG_DIR, "readOnly": True},
        {"name": "gateway-run", "mountPath": CONTAINER_RUN_DIR},
        {"name": "gateway-temp", "mountPath": f"{CONTAINER_RUN_DIR}/tmp"},
    ]
    if plan.auth:
        mounts.append({"name": "gateway-keys", "mountPath": POD_KEYS_DIR, "readOnly": True})
    if plan.tls:
        mounts.append({"name": "gateway-tls", "mountPath": CONTAINER_TLS_DIR, "readOnly": True})
    # nginx directly (not the image's entrypoint, which edits files on the read-only root).
    command = direct_command(conf, CONTAINER_RUN_DIR)
    if plan.canary:
        mounts.append({"name": "gateway-traffic", "mountPath": POD_TRAFFIC_DIR, "readOnly": True})
        command = reloading_command(conf, traffic_file(variant), CONTAINER_RUN_DIR)
    return {
        "name": "gateway",
        "image": plan.gateway_image,
        "imagePullPolicy": "Always",
        "command": command,
        "ports": [{"name": "gateway", "containerPort": GATEWAY_PORT, "protocol": "TCP"}],
        "resources": _resources(GATEWAY_CPU_CORES, GATEWAY_MEMORY_MB),
        "readinessProbe": _http_probe(LIVENESS_PATH, "gateway", scheme, periodSeconds=5, timeoutSeconds=2),
        "livenessProbe": _http_probe(LIVENESS_PATH, "gateway", scheme, periodSeconds=10, timeoutSeconds=3,
                                     failureThreshold=3),
        "lifecycle": _prestop(),
        "securityContext": _security(GATEWAY_UID),
        "volumeMounts": mounts,
    }


def collector_container(plan: WorkloadPlan, variant: Variant, secrets: dict[str, Any]) -> dict:
    """The receiver for azureml-ai-monitoring's Collector (an HTTP sink -> blob), as a native
    sidecar: an init container with restartPolicy Always starts before the scorer and is
    stopped only after the scorer has exited, so the records of the last requests a draining
    scorer serves still reach the sink (a regular container gets SIGTERM at the same moment
    as the scorer). kubernetes.io "Sidecar containers": on by default since 1.29, GA in 1.33."""
    return {
        "name": "model-data",
        "image": plan.collector_image,
        "imagePullPolicy": "Always",
        "restartPolicy": "Always",
        "args": ["--config", "/etc/vector/vector.yaml"],
        "env": [{"name": "MDC_VARIANT", "value": variant.name}],
        "resources": _resources(COLLECTOR_CPU_CORES, COLLECTOR_MEMORY_MB),
        "readinessProbe": {"tcpSocket": {"port": MDC_PORT}, "periodSeconds": 10},
        "livenessProbe": {"tcpSocket": {"port": MDC_PORT}, "periodSeconds": 20, "failureThreshold": 3},
        "securityContext": _security(COLLECTOR_UID),
        "volumeMounts": [{"name": "collector-conf", "mountPath": "/etc/vector", "readOnly": True},
                         {"name": "collector-secret", "mountPath": COLLECTOR_SECRET_DIR, "readOnly": True},
                         {"name": "collector-data", "mountPath": "/var/lib/vector"}],
    }
